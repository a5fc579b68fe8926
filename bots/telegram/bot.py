"""Making the aiogram `Bot` the adapter talks through, pointed at Telegram or at another Bot
API server (a local `telegram-bot-api`, or the fake one the tests run)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer


def make_bot(token: str, api_base: str | None = None) -> Bot:
    """A Bot for `token`; `api_base` (e.g. `http://127.0.0.1:8081`) replaces
    https://api.telegram.org for both method calls and file downloads. The caller closes
    it: `await bot.session.close()` (or `async with bot:`)."""
    if api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_base))
    else:
        session = AiohttpSession()
    # No default parse mode: every message we render says HTML itself, so nothing depends
    # on how the bot was built.
    return Bot(token, session=session)
