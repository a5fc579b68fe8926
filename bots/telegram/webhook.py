"""Webhook mode: the aiohttp handler Telegram POSTs updates to, and registering its URL.
The answer is 200 only after `receive` returned; anything else makes Telegram send the
update again, which the inbound log turns into a no-op once it is recorded."""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bots.telegram.inbound import ALLOWED_UPDATES
from bots.telegram.intake import OnBlocked, Receive, UpdateIntake

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# What Telegram accepts as a secret token.
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# An update is a few kilobytes (a text is at most 4,096 characters, files come by file_id):
# 1 MB is room to spare. The application's own limit is the file store's (panel uploads),
# far more than a webhook should ever read into memory.
MAX_UPDATE_BYTES = 1024 * 1024
# Real updates nest about ten levels deep; deeper is no update (and a 100,000-deep one
# exhausts the parser's recursion).
MAX_UPDATE_DEPTH = 64


def telegram_webhook_handler(
    receive: Receive,
    secret: str,
    *,
    bot: Bot,
    on_blocked: OnBlocked | None = None,
    answer_callbacks: bool = True,
) -> Handler:
    """A handler for `app.router.add_post(path, handler)`: 401 without the right secret
    header, 413 for a body larger than an update (MAX_UPDATE_BYTES), 400 for a body that is
    no update (malformed, nested deeper than MAX_UPDATE_DEPTH, not the shape of one), 500
    when `receive` failed (Telegram retries), else 200 `{}`."""
    _check_secret(secret)
    expected = secret.encode()
    intake = UpdateIntake(bot, receive, on_blocked=on_blocked, answer_callbacks=answer_callbacks)

    async def handle(request: web.Request) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("telegram webhook: wrong or missing secret from %s", request.remote)
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await _body(request)
        if body is None:
            log.warning("telegram webhook: a body over %s bytes refused", MAX_UPDATE_BYTES)
            return web.json_response({"error": "too large"}, status=413)
        try:
            update = Update.model_validate(_parse(body), context={"bot": bot})
        except (ValueError, ValidationError, RecursionError) as error:
            # JSONDecodeError is a ValueError; RecursionError: nesting too deep to parse.
            log.warning("telegram webhook: not an update (%s)", _reason(error))
            return web.json_response({"error": "bad request"}, status=400)
        try:
            await intake.take(update)
        except Exception:
            log.exception("telegram webhook: update %s failed", update.update_id)
            return web.json_response({"error": "not processed"}, status=500)
        return web.json_response({})

    return handle


async def _body(request: web.Request) -> bytes | None:
    """The request body, or None when it is larger than an update can be."""
    if request.content_length is not None and request.content_length > MAX_UPDATE_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(64 * 1024):
        size += len(chunk)
        if size > MAX_UPDATE_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> Any:
    """The JSON in `body`; ValueError when it nests deeper than any update does."""
    data = json.loads(body)
    # Depth first, without recursion: a bounded body still holds ~500,000 brackets.
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_UPDATE_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_UPDATE_DEPTH} levels")
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
    return data


async def set_webhook(bot: Bot, url: str, secret: str) -> None:
    """Point Telegram at `url`, with the secret it will send in SECRET_HEADER. Updates that
    are waiting are kept: they are delivered to the webhook."""
    _check_secret(secret)
    await bot.set_webhook(
        url=url,
        secret_token=secret,
        allowed_updates=ALLOWED_UPDATES,
        drop_pending_updates=False,
    )


def _check_secret(secret: str) -> None:
    # Without a secret anyone who finds the URL could post made-up updates.
    if not _SECRET.fullmatch(secret):
        raise ValueError("the webhook secret must be 1-256 characters A-Z a-z 0-9 _ -")


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{error.error_count()} errors, first at {where or 'top'}: {first['msg']}"
    if isinstance(error, json.JSONDecodeError):
        return f"malformed JSON: {error.msg} at {error.pos}"
    if isinstance(error, RecursionError):
        return "JSON nested too deep to parse"
    return str(error)
