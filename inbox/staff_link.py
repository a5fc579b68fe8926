"""Linking a staff member's messenger account to their staff user: `pult user link-telegram`
issues a one-time code, the person sends it to the bot (`/start <code>`), and the dialog
engine redeems it here. From then on that account gets staff alerts and is no client.

Codes live in `staff_link_codes` as the sha256 of the code, so the database never holds a
usable code; one live code per user (a new one replaces the old), valid for 24 hours,
consumed by the first redemption."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.models import ChannelIdentity, Order, StaffLinkCode, User

log = logging.getLogger(__name__)

CODE_LENGTH = 8
CODE_LIFETIME = timedelta(hours=24)
# No 0/O, 1/I/L: the code is read off a terminal and typed on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


async def issue_link_code(session: AsyncSession, user: User, *, now: datetime | None = None) -> str:
    """A new code for `user` (flushed, not committed); their earlier codes stop working and
    expired codes of anyone are cleared away."""
    moment = now or utcnow()
    await session.execute(
        delete(StaffLinkCode).where(
            or_(StaffLinkCode.user_id == user.id, StaffLinkCode.expires_at <= moment)
        )
    )
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(
        StaffLinkCode(code_hash=_hash(code), user_id=user.id, expires_at=moment + CODE_LIFETIME)
    )
    await session.flush()
    return code


async def redeem_link_code(
    session: AsyncSession, identity: ChannelIdentity, code: str, *, now: datetime | None = None
) -> User | None:
    """Link `identity` to the staff user the code was issued for, and use the code up; None
    for a wrong, used or expired code, or an inactive user.

    An identity belongs to one owner only, so it stops being a client's: the lead client
    made for it on first contact stays behind (with its lead conversation, if any) and the
    identity's `client_id` is cleared. An account that is an executor's, or a client's with
    orders, is not taken over (None, and the code stays valid for the right account): that
    would cut the person off their own orders."""
    normalized = normalize_code(code)
    if normalized is None or await _is_a_counterpart(session, identity):
        return None
    moment = now or utcnow()
    # DELETE .. RETURNING: of two redemptions racing for one code, exactly one gets it.
    redeemed = (
        await session.execute(
            delete(StaffLinkCode)
            .where(StaffLinkCode.code_hash == _hash(normalized))
            .returning(StaffLinkCode.user_id, StaffLinkCode.expires_at)
        )
    ).one_or_none()
    if redeemed is None or moment >= redeemed.expires_at:
        return None
    user = await session.get(User, redeemed.user_id)
    if user is None or not user.is_active:
        return None
    identity.client_id = identity.executor_id = None
    identity.user_id = user.id
    await session.flush()
    log.info("%s identity %s linked to staff user %s", identity.channel, identity.id, user.id)
    return user


def normalize_code(text: str) -> str | None:
    """The code as issued, forgiving case, spaces and dashes; None if it cannot be one."""
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in code):
        return None
    return code


async def _is_a_counterpart(session: AsyncSession, identity: ChannelIdentity) -> bool:
    if identity.executor_id is not None:
        return True
    if identity.client_id is None:
        return False
    has_orders = exists().where(Order.client_id == identity.client_id)
    return bool(await session.scalar(select(has_orders)))


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
