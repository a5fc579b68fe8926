"""The README's commands work as written on a fresh checkout: `make run` installs `pult`
into .venv/bin only (no bare `pult` on the PATH), and the quick start says how to use
another port."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _quick_start(text: str) -> str:
    return text.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def test_the_readme_never_tells_to_run_a_bare_pult_that_is_not_on_the_path() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    typed = [line.strip() for block in blocks for line in block.splitlines()]
    inline = re.findall(r"(?<![/\w|])`(pult [^`]*)`", text.split("## The `pult` command")[0])
    assert [line for line in typed if line.startswith("pult ")] == []
    assert inline == []  # outside the command table, which says where pult lives
    assert ".venv/bin/pult" in text.split("## The `pult` command")[1].split("|")[0]


def test_the_quick_start_says_how_to_change_the_port() -> None:
    quick = _quick_start(README.read_text(encoding="utf-8"))
    assert "PULT_HTTP_PORT=" in quick
