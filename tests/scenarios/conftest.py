"""The running application for the scenario stories: a container built from settings by
`bootstrap`, its bot pointed at the fake Bot API server, the fake payment gateway, and the
worker (long polling, the outbox, inbound recovery) running for the whole story, on SQLite
and on PostgreSQL. People act through the fake (tests/scenarios/people.py); managers act
at a `Desk` (tests/scenarios/desk.py)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.models import ChannelIdentity, Executor, ExecutorStatus, Skill
from inbox.ratelimit import MemoryRateLimiter
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from runtime.worker import run_worker
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.telegram_updates import TelegramUser
from tests.scenarios.desk import Desk
from tests.scenarios.people import MakeExecutor, MakePerson, TelegramPerson
from tests.telegram_helpers import WAIT, telegram_env

# The outbox paces sends as Telegram asks (one message a second per chat, 30 a second per
# bot), and a story sends a person dozens of messages, each waited for. So the stories run
# the outbox's rate limiter on a clock SPEEDUP times faster, and the fake enforces no flood
# limits of its own (it would answer 429 to sends the faster clock lets through). The pacing
# itself is tested at its real speed in tests/integration/test_dispatcher.py and
# tests/integration/test_fake_telegram_api.py.
SPEEDUP = 50


def fast_limiter() -> MemoryRateLimiter:
    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / SPEEDUP)

    return MemoryRateLimiter(clock=lambda: time.monotonic() * SPEEDUP, sleep=sleep)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(per_chat_per_second=None, per_bot_per_second=None) as fake:
        yield fake


@pytest.fixture
async def container(
    database_url: str, tmp_path: Path, fake: FakeTelegramAPI
) -> AsyncIterator[Container]:
    env = telegram_env(database_url, tmp_path, fake, PULT_PAYMENTS="fake")
    container = await bootstrap(load_settings(env, env_file=None))
    container.rate_limiter = fast_limiter()  # read by the outbox job when the worker starts
    yield container
    await container.close()


@pytest.fixture
async def worker(container: Container) -> AsyncIterator[asyncio.Task[None]]:
    """The worker with every job the settings call for (telegram_polling among them),
    stopped at the end of the story; a job that crashed fails the test here."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(container, stop))
    yield task
    stop.set()
    async with asyncio.timeout(WAIT):
        await task


@pytest.fixture
async def desk(container: Container) -> Desk:
    """Мария, a manager."""
    return await Desk.open(container, "Мария", "maria@example.com")


_user_ids = itertools.count(5_100_000_001)


@pytest.fixture
def person(fake: FakeTelegramAPI) -> MakePerson:
    """`person("Анна")`: someone new to the bot, with a Telegram account of their own."""
    phones = itertools.count(1)

    def make(first_name: str) -> TelegramPerson:
        user = TelegramUser(
            id=next(_user_ids), first_name=first_name, last_name=None, username=None
        )
        return TelegramPerson(fake, user, phone=f"+7916{next(phones):07d}")

    return make


@pytest.fixture
def executor(container: Container, person: MakePerson) -> MakeExecutor:
    """`await executor("Пётр", skills=["Экономика"])`: an executor a manager approved
    earlier, who talks to the bot in Telegram (made in the database, as the panel will)."""

    async def make(name: str, *, skills: tuple[str, ...] = ()) -> TelegramPerson:
        someone = person(name)
        async with container.uow() as uow:
            session = uow.session
            found = list(await session.scalars(select(Skill).where(Skill.name.in_(skills))))
            assert len(found) == len(skills), f"unknown skills among {skills}"
            row = Executor(name=name, status=ExecutorStatus.ACTIVE, capacity=3, skills=found)
            session.add(row)
            await session.flush()
            chat = str(someone.chat_id)
            session.add(
                ChannelIdentity(
                    channel="telegram", external_id=chat, chat_id=chat, locale="ru",
                    executor_id=row.id, display_name=name,
                )
            )  # fmt: skip
            await uow.commit()
        return someone

    return make
