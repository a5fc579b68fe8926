"""Who a bot notice goes to: a person's preferred reachable channel identity (the one they
used last, as `inbox.replies.route` picks for a manager's reply), and the language to write
in. Reactions never fail for a person who cannot be reached: they get None and skip."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import normalize_locale
from core.models import ChannelIdentity

# Newest first: the channel the person used last is the one they read.
_PREFERRED = (ChannelIdentity.last_seen_at.desc().nulls_last(), ChannelIdentity.id.desc())


async def client_identity(session: AsyncSession, client_id: int) -> ChannelIdentity | None:
    return await _first(session, ChannelIdentity.client_id == client_id)


async def executor_identity(session: AsyncSession, executor_id: int) -> ChannelIdentity | None:
    return await _first(session, ChannelIdentity.executor_id == executor_id)


async def executor_identities(
    session: AsyncSession, executor_ids: Select[Any] | Iterable[int]
) -> dict[int, ChannelIdentity]:
    """The preferred reachable identity of each executor (a subquery of ids is best for a
    large feed: no parameter list). Executors nobody can reach are absent."""
    ids = executor_ids if isinstance(executor_ids, Select) else list(executor_ids)
    found = await session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.executor_id.in_(ids), ChannelIdentity.reachable.is_(True))
        .order_by(ChannelIdentity.executor_id, *_PREFERRED)
    )
    chosen: dict[int, ChannelIdentity] = {}
    for identity in found:
        assert identity.executor_id is not None
        chosen.setdefault(identity.executor_id, identity)
    return chosen


def locale_of(identity: ChannelIdentity, fallback: str | None = None) -> str:
    return normalize_locale(identity.locale or fallback)


async def _first(session: AsyncSession, owner: ColumnElement[bool]) -> ChannelIdentity | None:
    found: ChannelIdentity | None = await session.scalar(
        select(ChannelIdentity)
        .where(owner, ChannelIdentity.reachable.is_(True))
        .order_by(*_PREFERRED)
        .limit(1)
    )
    return found
