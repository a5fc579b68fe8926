"""The Telegram webhook route (webhook mode: PULT_PUBLIC_URL is set). Telegram POSTs each
update here with the secret header; the answer is 200 only once the update is recorded.
The runtime hands the route to `create_app` only when the bot runs in webhook mode."""

from __future__ import annotations

from aiogram import Bot
from aiohttp import web

from bots.telegram import telegram_webhook_handler
from bots.telegram.intake import OnBlocked, Receive

WEBHOOK_PATH = "/telegram/webhook"


def telegram_webhook_route(
    bot: Bot, receive: Receive, secret: str, *, on_blocked: OnBlocked | None = None
) -> web.RouteDef:
    handler = telegram_webhook_handler(receive, secret, bot=bot, on_blocked=on_blocked)
    return web.post(WEBHOOK_PATH, handler, name="telegram_webhook")
