"""`pult check`: the settings in force and whether every dependency answers, as a report an
operator can read top to bottom. Nothing secret is printed."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass

from core.i18n import gettext
from runtime.bootstrap import Container, bootstrap
from runtime.migrate import current_revision, head_revision
from runtime.settings import Settings

CHECK_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    ok: bool
    detail: str


async def check(settings: Settings) -> tuple[list[Finding], bool]:
    """Every finding, and whether all of them are fine."""
    container = await bootstrap(settings)
    try:
        findings = [
            await _bounded("database", _database(container), settings.locale),
            await _bounded("redis", _redis(container), settings.locale),
            _data_dir(settings),
            await _bounded("telegram", _telegram(container), settings.locale),
        ]
    finally:
        await container.close()
    return findings, all(finding.ok for finding in findings)


def report(settings: Settings, findings: list[Finding]) -> str:
    locale = settings.locale
    described = settings.describe()
    width = max(len(name) for name, _ in described)
    lines = [gettext("Settings:", locale)]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in described]
    lines.append(gettext("Checks:", locale))
    for finding in findings:
        mark = "ok  " if finding.ok else "FAIL"
        lines.append(f"  [{mark}] {finding.name}: {finding.detail}")
    return "\n".join(lines)


async def _bounded(name: str, probe: Awaitable[Finding], locale: str) -> Finding:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            return await probe
    except TimeoutError:
        detail = gettext("no answer within {seconds} s", locale).format(seconds=CHECK_TIMEOUT)
    except Exception as exc:  # any failure to reach a dependency is a finding, not a crash
        detail = gettext("unreachable: {reason}", locale).format(reason=_first_line(exc))
    return Finding(name, False, detail)


async def _database(container: Container) -> Finding:
    locale = container.settings.locale
    current, head = await current_revision(container.engine), head_revision()
    if current == head:
        detail = gettext("reachable, schema at revision {revision}", locale)
        return Finding("database", True, detail.format(revision=current))
    detail = gettext(
        "reachable, schema at revision {current} but the code expects {head}: run `pult migrate`",
        locale,
    )
    return Finding("database", False, detail.format(current=current or "-", head=head))


async def _redis(container: Container) -> Finding:
    status = await container.health_checks["redis"]()
    if status == "not configured":
        return Finding("redis", True, gettext("not configured", container.settings.locale))
    return Finding("redis", True, gettext("reachable", container.settings.locale))


async def _telegram(container: Container) -> Finding:
    """The bot answers to its token (getMe); says how updates come in."""
    locale = container.settings.locale
    if container.telegram is None:
        return Finding("telegram", True, gettext("not configured", locale))
    username = await container.telegram.username()
    if container.settings.telegram_mode == "webhook":
        detail = gettext("@{bot}, updates by webhook", locale)
    else:
        detail = gettext("@{bot}, updates by long polling", locale)
    return Finding("telegram", True, detail.format(bot=username))


def _data_dir(settings: Settings) -> Finding:
    locale = settings.locale
    try:
        with tempfile.NamedTemporaryFile(dir=settings.data_dir, prefix=".check-"):
            pass
    except OSError as exc:
        detail = gettext("{path} is not writable: {reason}", locale)
        return Finding("data dir", False, detail.format(path=settings.data_dir, reason=exc))
    detail = gettext("{path} is writable", locale).format(path=settings.data_dir)
    return Finding("data dir", True, detail)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
