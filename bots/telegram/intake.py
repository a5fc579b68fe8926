"""One update into the inbound pipeline, the same in polling and webhook mode: map it, hand
it to `receive`, then answer a button press (so the client stops its spinner) or report
that the person blocked the bot. A press whose `receive` failed is answered too, with a
short apology, before the failure goes back to the caller (which has the update retried)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.types import Update

from bots.telegram.inbound import blocked_by, to_incoming
from core.i18n import N_, gettext
from inbox.channel import Incoming

log = logging.getLogger(__name__)

PRESS_FAILED = N_("Sorry, this button did not work just now. Please try again in a minute.")
# The presses answered lately, so a retried update is not answered twice (Telegram refuses a
# second answer); a press is answerable for seconds only, a few hundred ids are plenty.
ANSWERED_KEPT = 1000

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
        self._answered: OrderedDict[str, None] = OrderedDict()

    async def take(self, update: Update) -> None:
        """Raises what `receive` raised: the update is then not done with, and the caller
        does not confirm it to Telegram. Answering and reporting never raise."""
        incoming = to_incoming(update)
        if incoming is not None:
            press = update.callback_query if self._answer_callbacks else None
            try:
                await self._receive(incoming)
            except Exception:
                if press is not None:
                    # The press is kept and tried again, but the person is told now rather
                    # than left with a spinner (Telegram gives up on it after seconds).
                    locale = press.from_user.language_code
                    await self._answer(press.id, gettext(PRESS_FAILED, locale))
                raise
            if press is not None:
                await self._answer(press.id)
            return
        chat_id = blocked_by(update)
        if chat_id is not None and self._on_blocked is not None:
            try:
                await self._on_blocked(chat_id)
            except Exception:
                log.exception("telegram: reporting that chat %s blocked the bot failed", chat_id)

    async def _answer(self, query_id: str, text: str | None = None) -> None:
        if query_id in self._answered:
            return  # a retry of a press answered already (a press is answered once)
        self._answered[query_id] = None
        while len(self._answered) > ANSWERED_KEPT:
            self._answered.popitem(last=False)
        try:
            await self._bot.answer_callback_query(query_id, text=text)
        except Exception as error:
            # The press is recorded; an unanswered one only spins a while in the client.
            log.warning("telegram: answering callback %s failed: %s", query_id, error)
