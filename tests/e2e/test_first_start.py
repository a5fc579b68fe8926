"""First start as an operator sees it: the real `pult` process on an empty data directory,
no other services, talking to it over HTTP and reading what it prints."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa

from core.models import StaffSession, User
from core.staff import verify_password
from runtime.database import create_engine, session_factory
from runtime.migrate import head_revision
from webapp.access.sessions import start_session

PULT = [sys.executable, "-m", "runtime.cli"]
ONE_TIME_PASSWORD = re.compile(r"[A-Za-z0-9]{5}-[A-Za-z0-9]{5}-[A-Za-z0-9]{5}")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@dataclass
class Installation:
    directory: Path
    env: dict[str, str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@pytest.fixture
def installation(tmp_path: Path) -> Installation:
    # Nothing from the developer's own PULT_* settings leaks into the process under test.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULT_")}
    port = _free_port()
    env.update(PULT_DATA_DIR=str(tmp_path / "var"), PULT_HTTP_PORT=str(port))
    return Installation(tmp_path, env, port)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Started:
    process: asyncio.subprocess.Process
    banner: str


@asynccontextmanager
async def pult_run(installation: Installation) -> AsyncIterator[Started]:
    """`pult run` until it prints its URL; on leaving, it must stop cleanly on SIGTERM."""
    log = (installation.directory / "stderr.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        *PULT, "run", cwd=installation.directory, env=installation.env,
        stdout=asyncio.subprocess.PIPE, stderr=log,
    )  # fmt: skip
    try:
        banner = await _read_until(process, installation.url)
        yield Started(process, banner)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(STOP_TIMEOUT):
            code = await process.wait()
        assert code == 0, _stderr(installation)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        log.close()


async def _read_until(process: asyncio.subprocess.Process, marker: str) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    async with asyncio.timeout(START_TIMEOUT):
        while marker not in "".join(seen):
            line = await process.stdout.readline()
            if not line:
                raise AssertionError(f"pult exited before printing {marker}: {seen}")
            seen.append(line.decode())
    return "".join(seen)


def _stderr(installation: Installation) -> str:
    return (installation.directory / "stderr.log").read_text(errors="replace")


def pult(installation: Installation, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PULT, *args], cwd=installation.directory, env=installation.env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_first_start_creates_the_owner_once_and_serves(installation: Installation) -> None:
    async with pult_run(installation) as first:
        assert "owner@pult.local" in first.banner
        assert ONE_TIME_PASSWORD.search(first.banner)
        async with aiohttp.ClientSession() as http:
            response = await http.get(installation.url + "healthz")
            body = await response.json()
            page = await (await http.get(installation.url)).text()
        assert response.status == 200
        assert body["database"] == "ok"
        assert body["redis"] == "not configured"
        assert "Войти" in page  # the sign-in page, in Russian

    async with pult_run(installation) as second:
        assert not ONE_TIME_PASSWORD.search(second.banner)
        assert "owner@pult.local" not in second.banner

    assert (installation.directory / "var" / "pult.db").is_file()


def test_user_add_and_check(installation: Installation) -> None:
    before = pult(installation, "check")
    assert before.returncode == 1
    assert re.search(r"\[FAIL\] database: .*pult migrate", before.stdout)

    migrated = pult(installation, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert head_revision() in migrated.stdout

    after = pult(installation, "check")
    assert after.returncode == 0, after.stdout
    assert "[FAIL]" not in after.stdout
    assert "PULT_SECRET_KEY" in after.stdout
    secret = (installation.directory / "var" / "secret_key").read_text().strip()
    assert secret not in after.stdout

    added = pult(installation, "user", "add", "--role", "manager",
                 "--email", "Maria@Example.com", "--name", "Maria")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "maria@example.com" in added.stdout
    assert ONE_TIME_PASSWORD.search(added.stdout)

    again = pult(installation, "user", "add", "--role", "operator",
                 "--email", "maria@example.com", "--name", "Other")  # fmt: skip
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0
    assert "maria@example.com" in again.stderr
    assert "Traceback" not in again.stderr


def test_user_add_with_a_password_prints_none(installation: Installation) -> None:
    assert pult(installation, "migrate").returncode == 0

    added = pult(installation, "user", "add", "--role", "owner", "--email", "o@example.com",
                 "--name", "Olga", "--password", "a long passphrase")  # fmt: skip

    assert added.returncode == 0, added.stderr
    assert not ONE_TIME_PASSWORD.search(added.stdout)
    assert "a long passphrase" not in added.stdout


def test_user_reset_password_prints_a_one_time_password_and_ends_the_sessions(
    installation: Installation,
) -> None:
    assert pult(installation, "migrate").returncode == 0
    added = pult(installation, "user", "add", "--role", "manager", "--email", "m@example.com",
                 "--name", "Maria", "--password", "a long passphrase")  # fmt: skip
    assert added.returncode == 0, added.stderr
    url = f"sqlite+aiosqlite:///{installation.directory / 'var' / 'pult.db'}"
    asyncio.run(_sign_in_twice(url, "m@example.com"))

    reset = pult(installation, "user", "reset-password", "M@example.com")
    unknown = pult(installation, "user", "reset-password", "nobody@example.com")

    assert reset.returncode == 0, reset.stderr
    found = ONE_TIME_PASSWORD.search(reset.stdout)
    assert found is not None
    user, sessions = asyncio.run(_account(url, "m@example.com"))
    assert user.must_change_password is True
    assert verify_password(user.password_hash, found[0])
    assert not verify_password(user.password_hash, "a long passphrase")
    assert sessions == 0
    assert unknown.returncode == 1 and "nobody@example.com" in unknown.stderr
    assert "Traceback" not in unknown.stderr


async def _sign_in_twice(url: str, email: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine).begin() as session:
            user = await session.scalar(sa.select(User).where(User.email == email))
            assert user is not None
            for _browser in range(2):
                await start_session(session, user, address="127.0.0.1", user_agent="test")
    finally:
        await engine.dispose()


async def _account(url: str, email: str) -> tuple[User, int]:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            user = await session.scalar(sa.select(User).where(User.email == email))
            assert user is not None
            count = await session.scalar(sa.select(sa.func.count()).select_from(StaffSession))
            return user, int(count or 0)
    finally:
        await engine.dispose()


def test_user_add_refuses_an_unmigrated_database(installation: Installation) -> None:
    added = pult(installation, "user", "add", "--role", "manager",
                 "--email", "m@example.com", "--name", "M")  # fmt: skip

    assert added.returncode == 1
    assert "pult migrate" in added.stderr
    assert "Traceback" not in added.stderr


def test_a_bad_port_stops_run_with_one_line(installation: Installation) -> None:
    installation.env["PULT_HTTP_PORT"] = "abc"

    result = pult(installation, "run")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pult: PULT_HTTP_PORT: expected a port number 1-65535, got 'abc'"
    ]
    assert result.stdout == ""
    assert not (installation.directory / "var").exists()


async def test_a_busy_port_is_a_clear_error(installation: Installation) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", installation.port))
        squatter.listen()
        result = await asyncio.to_thread(pult, installation, "run")

    assert result.returncode == 1
    assert f"127.0.0.1:{installation.port}" in result.stderr.splitlines()[-1]
    assert "Traceback" not in result.stderr


def test_demo_fills_an_empty_database_once(installation: Installation) -> None:
    assert pult(installation, "migrate").returncode == 0

    filled = pult(installation, "demo")
    assert filled.returncode == 0, filled.stderr
    assert "Демо-данные созданы" in filled.stdout
    assert "manager@pult.local" in filled.stdout

    again = pult(installation, "demo")
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0
    assert "пуст" in again.stderr
    assert "Traceback" not in again.stderr
