"""Sign-in throttling: failed attempts are recorded in the database (so every web process
and restart sees them) and counted per account and per network address over a window."""

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


async def is_throttled(
    session: AsyncSession, email: str, address: str, now: datetime | None = None
) -> bool:
    since = (now or utcnow()) - WINDOW
    by_account = await _count(session, LoginFailure.email == email, since)
    if by_account >= MAX_PER_ACCOUNT:
        return True
    return await _count(session, LoginFailure.address == address, since) >= MAX_PER_ADDRESS


async def record_failure(
    session: AsyncSession, email: str, address: str, now: datetime | None = None
) -> None:
    moment = now or utcnow()
    await session.execute(sa.delete(LoginFailure).where(LoginFailure.at < moment - WINDOW))
    session.add(LoginFailure(email=email, address=address, at=moment))


async def forget_failures(session: AsyncSession, email: str) -> None:
    """A successful sign-in clears the account's count (the address keeps its own)."""
    await session.execute(sa.delete(LoginFailure).where(LoginFailure.email == email))


async def _count(session: AsyncSession, condition: sa.ColumnElement[bool], since: datetime) -> int:
    query = sa.select(sa.func.count()).select_from(LoginFailure).where(condition)
    return int(await session.scalar(query.where(LoginFailure.at >= since)) or 0)
