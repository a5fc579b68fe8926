"""Sign-in throttling: failed attempts are recorded in the database (so every web process
and restart sees them) and counted per account and per network address over a window.

A browser holding a device cookie of the account (webapp/access/devices.py) is counted on
its own instead: its failures are stored under `device:<nonce>` in place of an address, and
neither the account's nor the address's count of other people's failures stops it."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.models import LoginFailure

WINDOW = timedelta(minutes=15)
# Enough for typos; a password guesser gets 5 tries per account per quarter hour.
MAX_PER_ACCOUNT = 5
# One office behind one address may hold several people mistyping at once.
MAX_PER_ADDRESS = 20
# The same 5 tries for a browser that signed in to the account before.
MAX_PER_DEVICE = MAX_PER_ACCOUNT
DEVICE_PREFIX = "device:"
# The columns' sizes: what an attacker types is cut to fit, never a database error.
_EMAIL_LENGTH = 254
_ADDRESS_LENGTH = 64


async def is_throttled(
    session: AsyncSession,
    email: str,
    address: str,
    now: datetime | None = None,
    *,
    device: str | None = None,
) -> bool:
    since = (now or utcnow()) - WINDOW
    if device is not None:
        by_device = await _count(session, LoginFailure.address == _device_key(device), since)
        return by_device >= MAX_PER_DEVICE
    email, address = email[:_EMAIL_LENGTH], address[:_ADDRESS_LENGTH]
    on_account = sa.and_(
        LoginFailure.email == email,
        LoginFailure.address.not_like(f"{DEVICE_PREFIX}%"),
    )
    if await _count(session, on_account, since) >= MAX_PER_ACCOUNT:
        return True
    return await _count(session, LoginFailure.address == address, since) >= MAX_PER_ADDRESS


async def record_failure(
    session: AsyncSession,
    email: str,
    address: str,
    now: datetime | None = None,
    *,
    device: str | None = None,
) -> None:
    moment = now or utcnow()
    await session.execute(sa.delete(LoginFailure).where(LoginFailure.at < moment - WINDOW))
    where = _device_key(device) if device is not None else address[:_ADDRESS_LENGTH]
    session.add(LoginFailure(email=email[:_EMAIL_LENGTH], address=where, at=moment))


async def forget_failures(session: AsyncSession, email: str, *, device: str | None = None) -> None:
    """A successful sign-in clears the account's count (the address keeps its own); from a
    device cookie only that browser's, so a stranger's guesses keep the account locked for
    every other browser."""
    if device is not None:
        where = LoginFailure.address == _device_key(device)
    else:
        where = LoginFailure.email == email
    await session.execute(sa.delete(LoginFailure).where(where))


def _device_key(device: str) -> str:
    return f"{DEVICE_PREFIX}{device}"[:_ADDRESS_LENGTH]


async def _count(session: AsyncSession, condition: sa.ColumnElement[bool], since: datetime) -> int:
    query = sa.select(sa.func.count()).select_from(LoginFailure).where(condition)
    return int(await session.scalar(query.where(LoginFailure.at >= since)) or 0)
