"""The Telegram channel (aiogram 3): `inbound` maps updates to `Incoming`, `render` and
`outbound` send `Outgoing`, `files` fetches what people send, `listener` (long polling) and
`webhook` bring updates in. `runtime/bootstrap.py` builds the bot with `make_bot`."""

from bots.telegram.bot import make_bot
from bots.telegram.files import FileTooLargeForChannel, fetch_file, original_name, start_download
from bots.telegram.inbound import ALLOWED_UPDATES, CHANNEL, blocked_by, to_incoming
from bots.telegram.listener import Backoff, TelegramPolling
from bots.telegram.outbound import TelegramChannel, classify
from bots.telegram.webhook import set_webhook, telegram_webhook_handler

__all__ = [
    "ALLOWED_UPDATES",
    "CHANNEL",
    "Backoff",
    "FileTooLargeForChannel",
    "TelegramChannel",
    "TelegramPolling",
    "blocked_by",
    "classify",
    "fetch_file",
    "make_bot",
    "original_name",
    "set_webhook",
    "start_download",
    "telegram_webhook_handler",
    "to_incoming",
]
