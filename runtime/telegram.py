"""Telegram wired into the processes: the bot and its channel, long polling for the worker,
the webhook route for the web app and registering it with Telegram, and what a block does.

`runtime/bootstrap.py` imports this module only when PULT_TELEGRAM_TOKEN is set: aiogram
takes seconds to import, and an installation without a bot should not wait for it at
every `pult` command."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiogram import Bot
from aiohttp import web

from bots.telegram import CHANNEL, TelegramChannel, TelegramPolling, make_bot, set_webhook
from bots.telegram.intake import Receive
from core.uow import UnitOfWork
from inbox.channel import BLOCKED_BY_USER
from inbox.files import FileStore
from inbox.people import mark_unreachable
from runtime.settings import Settings
from webapp.telegram import WEBHOOK_PATH, telegram_webhook_route

# Registering the webhook must not hold up the start for long when Telegram is away.
SET_WEBHOOK_TIMEOUT = 15.0

log = logging.getLogger(__name__)


class TelegramRuntime:
    """The installation's one bot and what each process does with it."""

    def __init__(
        self,
        settings: Settings,
        files: FileStore,
        receive: Receive,
        uow: Callable[[], UnitOfWork],
    ) -> None:
        assert settings.telegram_token is not None
        self.settings = settings
        self.bot: Bot = make_bot(settings.telegram_token, settings.telegram_api_base)
        self.channel = TelegramChannel(self.bot, files)
        self._receive = receive
        self._uow = uow

    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling until `stop` (the worker's `telegram_polling` job)."""
        polling = TelegramPolling(self.bot, self._receive, on_blocked=self.blocked)
        await polling.run(stop)

    def webhook_route(self) -> web.RouteDef:
        """The route Telegram POSTs updates to (the web app, in webhook mode)."""
        return telegram_webhook_route(
            self.bot, self._receive, self.settings.webhook_secret, on_blocked=self.blocked
        )

    @property
    def webhook_url(self) -> str:
        assert self.settings.public_url is not None
        return self.settings.public_url + WEBHOOK_PATH

    async def register_webhook(self) -> bool:
        """Tell Telegram where to deliver updates. Every web process does it at start (the
        same URL and secret, so it is idempotent). A failure is logged, not fatal: the web
        app still serves, and Telegram keeps updates for a day until a start succeeds."""
        url = self.webhook_url
        try:
            async with asyncio.timeout(SET_WEBHOOK_TIMEOUT):
                await set_webhook(self.bot, url, self.settings.webhook_secret)
        except Exception as error:  # Telegram away, token refused: the operator reads the log
            log.error("Telegram: setting the webhook to %s failed: %s", url, error)
            return False
        log.info("Telegram: webhook set to %s", url)
        return True

    async def username(self) -> str | None:
        """The bot's @name, asked of Telegram (getMe); raises what the call raises."""
        me = await self.bot.get_me()
        return me.username

    async def blocked(self, chat_id: str) -> None:
        """Telegram said the person in `chat_id` blocked the bot: stop writing to them now
        (the dispatcher would find out at the next send, with a failed message)."""
        async with self._uow() as uow:
            changed = await mark_unreachable(uow.session, CHANNEL, chat_id, BLOCKED_BY_USER)
            await uow.commit()
        log.info(
            "telegram chat %s blocked the bot: %d identities unreachable", chat_id, len(changed)
        )

    async def close(self) -> None:
        await self.bot.session.close()
