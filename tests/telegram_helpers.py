"""What tests that run the application against the fake Bot API server share: the settings
that point the bot at the fake, waiting for something the database or the fake will show,
the update Telegram sends when a person blocks the bot, and a person's channel identity.

Used by tests/integration/test_telegram_runtime.py and the stories in tests/scenarios."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select

from core.models import ChannelIdentity
from runtime.bootstrap import Container
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.telegram_updates import TelegramUser

T = TypeVar("T")

KICKED = Path(__file__).resolve().parent / "fixtures" / "telegram" / "my_chat_member_kicked.json"
WAIT = 10.0  # seconds; generous, each step is quick
POLL_INTERVAL = 0.02  # seconds between two looks at the database or the fake


def telegram_env(
    database_url: str, tmp_path: Path, fake: FakeTelegramAPI, **more: str
) -> dict[str, str]:
    """Settings of an installation whose bot talks to `fake` (files over 1 MB refused)."""
    return {
        "PULT_DATA_DIR": str(tmp_path / "var"),
        "PULT_DATABASE_URL": database_url,
        "PULT_TELEGRAM_TOKEN": fake.token,
        "PULT_TELEGRAM_API_BASE": fake.base_url,
        "PULT_MAX_FILE_MB": "1",
        **more,
    }


async def eventually(
    check: Callable[[], Awaitable[T]], what: str | Callable[[], str], seconds: float = WAIT
) -> T:
    """The first truthy result of `check()`, polled: the database and the fake have no
    signal to wait on. Fails with `what` (called then, when it is a function, so that it
    can describe the state at the timeout) if nothing came within `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                result = await check()
                if result:
                    return result
                await asyncio.sleep(POLL_INTERVAL)
    except TimeoutError:
        described = what() if callable(what) else what
        raise AssertionError(f"waited {seconds:g} s in vain for {described}") from None


async def progressing(
    count: Callable[[], Awaitable[int | None]],
    target: int,
    what: str,
    *,
    stall: float = WAIT,
) -> None:
    """Wait until `count()` reaches `target`, for as long as it keeps growing: fail only
    when it has not moved for `stall` seconds. A batch of work on a loaded machine (the
    e-mail corpus through a real IMAP server) takes what it takes; a fixed deadline for the
    whole batch failed there although every mail was on its way."""
    seen, moved_at = -1, asyncio.get_running_loop().time()
    while True:
        now, done = asyncio.get_running_loop().time(), await count() or 0
        if done >= target:
            return
        if done > seen:
            seen, moved_at = done, now
        elif now - moved_at > stall:
            raise AssertionError(f"{what}: stuck at {done} of {target} for {stall:g} s")
        await asyncio.sleep(POLL_INTERVAL)


def kicked(fake: FakeTelegramAPI, user: TelegramUser) -> dict[str, Any]:
    """The my_chat_member update Telegram sends when `user` blocks the bot."""
    update = json.loads(KICKED.read_text(encoding="utf-8"))
    update["update_id"] = fake.next_update_id()
    member = update["my_chat_member"]
    member["chat"] = user.as_private_chat()
    member["from"] = user.as_user()
    return dict(update)


async def identity_of(container: Container, user: TelegramUser) -> ChannelIdentity | None:
    async with container.sessions() as session:
        found: ChannelIdentity | None = await session.scalar(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "telegram", ChannelIdentity.external_id == str(user.id)
            )
        )
        return found
