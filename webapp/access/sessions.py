"""Staff sign-in sessions stored in the database (`staff_sessions`): a random token in an
HttpOnly cookie, its sha256 in the row, a CSRF token per session, a sliding expiry."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.models import StaffRole, StaffSession, User
from core.settings_store import MANAGERS_SEE_ALL, get_setting
from webapp.access.permissions import Permission, permissions_of

# A panel is open all day, every day: a week without a visit signs a browser out.
IDLE_LIFETIME = timedelta(days=7)
# The expiry is moved (one UPDATE) at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=5)
# Bus topic published after sessions were ended, so open panel sockets of those sessions
# close at once: {"session_id": id} (one signed out) or {"user_id": id, "keep_session_id":
# id or None} (all of a user's, but the one kept).
SESSIONS_ENDED = "staff.sessions_ended"


@dataclass(frozen=True, slots=True)
class Staff:
    """The signed-in person, as every panel handler sees it (`request[STAFF]`)."""

    user_id: int
    session_id: int
    name: str
    email: str
    role: StaffRole
    locale: str | None
    csrf_token: str
    must_change_password: bool
    permissions: frozenset[Permission]
    # Set for a manager restricted to their own work: pages show only orders and
    # conversations assigned to this user (or to nobody yet).
    only_assigned_to: int | None

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(
    session: AsyncSession, user: User, *, address: str | None, user_agent: str | None
) -> str:
    """Signs `user` in; returns the cookie token (shown once, stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        StaffSession(
            token_hash=hash_token(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + IDLE_LIFETIME,
            address=address,
            user_agent=(user_agent or "")[:300] or None,
        )
    )
    user.last_login_at = now
    await session.flush()
    return token


async def find_staff(session: AsyncSession, token: str) -> Staff | None:
    """The active user behind a cookie token, or None (unknown, expired, deactivated)."""
    now = utcnow()
    row = (
        await session.execute(
            sa.select(StaffSession, User)
            .join(User, User.id == StaffSession.user_id)
            .where(StaffSession.token_hash == hash_token(token))
        )
    ).one_or_none()
    if row is None:
        return None
    staff_session, user = row
    if staff_session.expires_at <= now or not user.is_active:
        await session.delete(staff_session)
        return None
    if now - staff_session.last_seen_at >= TOUCH_INTERVAL:
        staff_session.last_seen_at = now
        staff_session.expires_at = now + IDLE_LIFETIME
    return Staff(
        user_id=user.id,
        session_id=staff_session.id,
        name=user.name,
        email=user.email,
        role=user.role,
        locale=user.locale,
        csrf_token=staff_session.csrf_token,
        must_change_password=user.must_change_password,
        permissions=permissions_of(user.role),
        only_assigned_to=await _restriction(session, user),
    )


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(
        sa.delete(StaffSession).where(StaffSession.token_hash == hash_token(token))
    )


async def end_user_sessions(
    session: AsyncSession, user_id: int, *, keep_session_id: int | None = None
) -> int:
    """Signs the user out everywhere (but the session kept, after their own password
    change); returns how many sessions ended."""
    statement = sa.delete(StaffSession).where(StaffSession.user_id == user_id)
    if keep_session_id is not None:
        statement = statement.where(StaffSession.id != keep_session_id)
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def ends_session(payload: dict[str, object], staff: Staff) -> bool:
    """Whether a SESSIONS_ENDED notice covers this signed-in session."""
    if payload.get("session_id") == staff.session_id:
        return True
    return payload.get("user_id") == staff.user_id and (
        payload.get("keep_session_id") != staff.session_id
    )


async def sweep_expired(session: AsyncSession, now: datetime | None = None) -> int:
    """Delete sessions past their expiry (the worker's `sweep_sessions` job calls this);
    returns how many. An expired session is refused anyway: this only keeps the table, and
    the addresses and browsers it records, from growing for ever."""
    result = await session.execute(
        sa.delete(StaffSession).where(StaffSession.expires_at <= (now or utcnow()))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _restriction(session: AsyncSession, user: User) -> int | None:
    if user.role is not StaffRole.MANAGER:
        return None
    see_all = await get_setting(session, MANAGERS_SEE_ALL)
    return None if see_all else user.id
