"""Imports go one way only: runtime -> webapp -> bots -> handlers -> inbox -> core.
core/ stays free of I/O libraries so the domain can be tested without any of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["core", "inbox", "handlers", "bots", "webapp", "runtime"]
CORE_FORBIDDEN = {
    "aiohttp", "aiogram", "redis", "aiosmtplib", "aioimaplib", "vkbottle", "asyncpg",
    "aiosqlite", "jinja2", "yookassa", "smtplib", "imaplib", "socket", "http", "urllib",
    "requests", "httpx",
}  # fmt: skip


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_no_layer_imports_a_layer_above_it(layer: str) -> None:
    above = set(LAYERS[LAYERS.index(layer) + 1 :])
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & above)
        for path in modules(layer)
        if imported_roots(path) & above
    }
    assert offenders == {}


def test_core_imports_no_io_library() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & CORE_FORBIDDEN)
        for path in modules("core")
        if imported_roots(path) & CORE_FORBIDDEN
    }
    assert offenders == {}


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import aiohttp.web\nfrom runtime.cli import main\nfrom . import x\n")
    assert imported_roots(sample) == {"aiohttp", "runtime"}
