"""Telegram as an operator turns it on: the real `pult` process with PULT_TELEGRAM_TOKEN and
PULT_TELEGRAM_API_BASE pointing at the fake Bot API server this test runs, and the staff
linking command."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.models import ChannelIdentity, Client
from inbox.channel import Incoming
from inbox.models import Message
from inbox.people import identify
from inbox.staff_link import redeem_link_code
from runtime.database import create_engine, session_factory
from tests.e2e.test_first_start import Installation, pult, pult_run
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.telegram_updates import TelegramUser

ANNA = TelegramUser(id=5123456789, first_name="Анна", last_name="Петрова")
CODE = re.compile(r": ([A-Z0-9]{8})$", re.MULTILINE)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(per_chat_per_second=None) as fake:
        yield fake


@pytest.fixture
def installation(tmp_path: Path, fake: FakeTelegramAPI) -> Installation:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULT_")}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    env.update(
        PULT_DATA_DIR=str(tmp_path / "var"),
        PULT_HTTP_PORT=str(port),
        PULT_TELEGRAM_TOKEN=fake.token,
        PULT_TELEGRAM_API_BASE=fake.base_url,
    )
    return Installation(tmp_path, env, port)


def database_url(installation: Installation) -> str:
    return f"sqlite+aiosqlite:///{installation.directory / 'var' / 'pult.db'}"


async def messages(installation: Installation) -> list[str]:
    engine = create_engine(database_url(installation))
    try:
        async with session_factory(engine)() as session:
            return list(await session.scalars(select(Message.text).order_by(Message.id)))
    finally:
        await engine.dispose()


async def test_pult_run_polls_the_bot_and_files_what_people_write(
    installation: Installation, fake: FakeTelegramAPI
) -> None:
    async with pult_run(installation):
        fake.enqueue(fake.updates.text(ANNA, "Здравствуйте!"))
        async with asyncio.timeout(15):
            while not await messages(installation):  # noqa: ASYNC110  (a database, no signal)
                await asyncio.sleep(0.1)
        log = (installation.directory / "stderr.log").read_text(errors="replace")

    assert await messages(installation) == ["Здравствуйте!"]
    assert "Telegram: long polling as @pult_test_bot" in log
    assert fake.calls_of("deleteWebhook")  # polling makes sure no webhook is in the way


async def test_link_telegram_prints_a_code_that_links_the_account(
    installation: Installation, fake: FakeTelegramAPI
) -> None:
    assert (await asyncio.to_thread(pult, installation, "migrate")).returncode == 0
    added = await asyncio.to_thread(
        pult, installation, "user", "add", "--role", "manager",
        "--email", "maria@example.com", "--name", "Maria",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr

    linked = await asyncio.to_thread(
        pult, installation, "user", "link-telegram", "Maria@Example.com"
    )

    assert linked.returncode == 0, linked.stderr
    match = CODE.search(linked.stdout)
    assert match is not None, linked.stdout
    code = match.group(1)
    assert f"/start {code}" in linked.stdout
    assert "@pult_test_bot" in linked.stdout
    stored = b"".join(
        path.read_bytes() for path in (installation.directory / "var").glob("pult.db*")
    )  # with WAL, if any
    assert code.encode() not in stored
    assert hashlib.sha256(code.encode()).hexdigest().encode() in stored  # staff_link_codes

    engine = create_engine(database_url(installation))
    try:
        async with session_factory(engine)() as session:
            incoming = Incoming(channel="telegram", sender_id=str(ANNA.id), message_id="1")
            identity = await identify(session, incoming)
            user = await redeem_link_code(session, identity, code)
            await session.commit()
            again = await redeem_link_code(session, identity, code)
            found = await session.scalar(select(ChannelIdentity))
            clients = list(await session.scalars(select(Client)))
    finally:
        await engine.dispose()
    assert user is not None and user.email == "maria@example.com"
    assert again is None
    assert found is not None and (found.user_id, found.client_id) == (user.id, None)
    assert len(clients) == 1  # the lead made at first contact stays, unlinked


def test_link_telegram_without_a_token_says_what_to_set(installation: Installation) -> None:
    del installation.env["PULT_TELEGRAM_TOKEN"]

    result = pult(installation, "user", "link-telegram", "maria@example.com")

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pult: Telegram не настроен: задайте PULT_TELEGRAM_TOKEN"
    ]


async def test_link_telegram_for_an_unknown_account_is_one_line(
    installation: Installation,
) -> None:
    assert (await asyncio.to_thread(pult, installation, "migrate")).returncode == 0

    result = await asyncio.to_thread(pult, installation, "user", "link-telegram", "who@example.com")

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "who@example.com" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_a_token_no_command_pays_for_importing_aiogram(tmp_path: Path) -> None:
    """aiogram takes seconds to import; `pult migrate`, `pult user add` and the rest must not
    wait for it on an installation without a bot."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PULT_")}
    script = (
        "import asyncio, sys\n"
        "from runtime.cli import main\n"
        "from runtime.bootstrap import bootstrap\n"
        "from runtime.settings import load_settings\n"
        "async def build():\n"
        "    container = await bootstrap(load_settings(env_file=None))\n"
        "    await container.close()\n"
        "asyncio.run(build())\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'aiogram'))\n"
    )
    env["PULT_DATA_DIR"] = str(tmp_path / "var")

    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False,
        timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
