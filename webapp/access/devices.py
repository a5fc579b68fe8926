"""Device cookies (OWASP's lock-out-resistant sign-in): a browser where someone signed in
gets a signed cookie naming that account. A sign-in of that account from that browser is
then throttled by the failures made from it alone, so no stranger's guessing (on the
account or from the same proxy address) locks its owner out; a browser without one goes
through the per-account and per-address throttle as before.

    pult_device_<user id> = <issued unix time>.<nonce>.<HMAC-SHA256 of "user.issued.nonce">

The key comes from PULT_SECRET_KEY (`Settings.device_cookie_key`); the cookie is sent only
to /login."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from aiohttp import web

from webapp.keys import SERVICES

COOKIE_PREFIX = "pult_device_"
LIFETIME = timedelta(days=180)
COOKIE_PATH = "/login"


def device_of(request: web.Request, user_id: int, now: float | None = None) -> str | None:
    """The nonce of a valid, unexpired device cookie of `user_id` on this request, or None."""
    value = request.cookies.get(f"{COOKIE_PREFIX}{user_id}", "")
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or len(parts[0]) > 12:
        return None
    issued, nonce, signature = parts
    expected = _sign(request, f"{user_id}.{issued}.{nonce}")
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    if (now or time.time()) - int(issued) > LIFETIME.total_seconds():
        return None
    return nonce


def give_device_cookie(
    request: web.Request, response: web.StreamResponse, user_id: int, *, secure: bool
) -> None:
    """After a correct sign-in: a fresh cookie (a new nonce, so old failures stay behind)."""
    issued = str(int(time.time()))
    nonce = secrets.token_urlsafe(12)
    signature = _sign(request, f"{user_id}.{issued}.{nonce}")
    response.set_cookie(
        f"{COOKIE_PREFIX}{user_id}",
        f"{issued}.{nonce}.{signature}",
        max_age=int(LIFETIME.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="Lax",
        secure=secure,
    )


def _sign(request: web.Request, payload: str) -> str:
    key = request.app[SERVICES].device_cookie_key
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
