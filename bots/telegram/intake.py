"""One update into the inbound pipeline, the same in polling and webhook mode: map it, hand
it to `receive`, then answer a button press (so the client stops its spinner) or report
that the person blocked the bot."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.types import Update

from bots.telegram.inbound import blocked_by, to_incoming
from inbox.channel import Incoming

log = logging.getLogger(__name__)

Receive = Callable[[Incoming], Awaitable[object]]
OnBlocked = Callable[[str], Awaitable[object]]


class UpdateIntake:
    def __init__(
        self,
        bot: Bot,
        receive: Receive,
        *,
        on_blocked: OnBlocked | None = None,
        answer_callbacks: bool = True,
    ) -> None:
        self._bot = bot
        self._receive = receive
        self._on_blocked = on_blocked
        self._answer_callbacks = answer_callbacks

    async def take(self, update: Update) -> None:
        """Raises what `receive` raised: the update is then not done with, and the caller
        does not confirm it to Telegram. Answering and reporting never raise."""
        incoming = to_incoming(update)
        if incoming is not None:
            await self._receive(incoming)
            if update.callback_query is not None and self._answer_callbacks:
                await self._answer(update.callback_query.id)
            return
        chat_id = blocked_by(update)
        if chat_id is not None and self._on_blocked is not None:
            try:
                await self._on_blocked(chat_id)
            except Exception:
                log.exception("telegram: reporting that chat %s blocked the bot failed", chat_id)

    async def _answer(self, query_id: str) -> None:
        try:
            await self._bot.answer_callback_query(query_id)
        except Exception as error:
            # The press is recorded; an unanswered one only spins a while in the client.
            log.warning("telegram: answering callback %s failed: %s", query_id, error)
