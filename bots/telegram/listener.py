"""Long polling: fetch updates with getUpdates and feed them to the inbound pipeline one by
one, confirming an update to Telegram (the next call's offset) only after `receive` has
returned for it, so a crash never loses one: Telegram sends unconfirmed updates again and
the inbound log makes the repeat a no-op."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
from aiogram.types import Update

from bots.telegram.inbound import ALLOWED_UPDATES, raw_update
from bots.telegram.intake import OnBlocked, Receive, UpdateIntake

log = logging.getLogger(__name__)

T = TypeVar("T")
POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates call open when there is nothing
# Errors worth waiting out: the network, Telegram's 5xx and 429, a second poller (409).
_TRANSIENT = (TelegramAPIError, ClientDecodeError, TimeoutError, aiohttp.ClientError)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Doubling delays from `first` up to `cap`, each cut by a random share (jitter) so
    that several processes do not retry in step."""

    first: float = 1.0
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.first * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)


class TelegramPolling:
    """`await TelegramPolling(bot, receiver.receive).run(stop)` until `stop` is set.

    An update whose `receive` raises is tried again (with backoff) before any later one:
    `Receiver.receive` records a failed event before re-raising, so the retry is a no-op
    duplicate once it is recorded, and a real retry while the database is away. After
    `max_attempts` the update is logged in full and skipped, so one poisonous update
    cannot stop the bot for good."""

    def __init__(
        self,
        bot: Bot,
        receive: Receive,
        *,
        on_blocked: OnBlocked | None = None,
        answer_callbacks: bool = True,
        poll_timeout: int = POLL_TIMEOUT,
        backoff: Backoff | None = None,
        max_attempts: int = 20,
    ) -> None:
        self._bot = bot
        self._intake = UpdateIntake(
            bot, receive, on_blocked=on_blocked, answer_callbacks=answer_callbacks
        )
        self._poll_timeout = poll_timeout
        self._backoff = backoff or Backoff()
        self._max_attempts = max_attempts

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set. Raises only for a token Telegram refuses."""
        me = await self._retrying(self._bot.get_me, stop)
        if me is None or await self._retrying(self._delete_webhook, stop) is None:
            return
        log.info("Telegram: long polling as @%s", me.username)
        offset: int | None = None
        while not stop.is_set():
            updates = await self._retrying(functools.partial(self._get_updates, offset), stop)
            for update in updates or ():
                if stop.is_set() or not await self._take(update, stop):
                    break
                offset = update.update_id + 1
        await self._confirm(offset)

    async def _get_updates(self, offset: int | None) -> list[Update]:
        call = GetUpdates(
            offset=offset, timeout=self._poll_timeout, allowed_updates=ALLOWED_UPDATES
        )
        # The HTTP timeout must outlast the time Telegram may hold the call open.
        return await self._bot(call, request_timeout=self._poll_timeout + 10)

    async def _delete_webhook(self) -> bool:
        # Telegram refuses getUpdates while a webhook is set; pending updates are kept.
        return await self._bot.delete_webhook(drop_pending_updates=False)

    async def _take(self, update: Update, stop: asyncio.Event) -> bool:
        """True when the update is done with; False when stopped before it was."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._intake.take(update)
                return True
            except Exception:
                log.exception(
                    "telegram: update %s failed (attempt %s of %s)",
                    update.update_id,
                    attempt,
                    self._max_attempts,
                )
            if attempt < self._max_attempts and await _sleep(self._backoff.delay(attempt), stop):
                return False
        log.error(
            "telegram: update %s skipped after %s attempts: %s",
            update.update_id,
            self._max_attempts,
            json.dumps(raw_update(update), ensure_ascii=False),
        )
        return True

    async def _retrying(self, call: Callable[[], Awaitable[T]], stop: asyncio.Event) -> T | None:
        """`call()`'s result, waiting out transient errors; None once `stop` is set."""
        failures = 0
        while not stop.is_set():
            try:
                return await _until_stopped(call(), stop)
            except TelegramUnauthorizedError:
                raise  # a wrong or revoked token: waiting will not fix it
            except TelegramRetryAfter as error:
                delay: float = error.retry_after
            except _TRANSIENT as error:
                failures += 1
                delay = self._backoff.delay(failures)
                log.warning("telegram: %s; retrying in %.1f s", error, delay)
            if await _sleep(delay, stop):
                return None
        return None

    async def _confirm(self, offset: int | None) -> None:
        """On the way out, tell Telegram what was handled, so a restart does not fetch it
        again (harmless if it did: the repeats are duplicates)."""
        if offset is None:
            return
        try:
            await self._bot(GetUpdates(offset=offset, limit=1, timeout=0))
        except Exception as error:
            log.warning("telegram: confirming updates before %s failed: %s", offset, error)


async def _until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """`work`'s result, or None if `stop` is set first (the work is cancelled: a getUpdates
    held open for 25 s must not delay shutting down)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stopped):
            pending.cancel()
        await asyncio.gather(task, stopped, return_exceptions=True)
    if task.cancelled():
        return None
    return task.result()


async def _sleep(delay: float, stop: asyncio.Event) -> bool:
    """Wait `delay` seconds; True if `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=delay)
    except TimeoutError:
        return False
    return True
