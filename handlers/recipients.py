"""Who a bot notice goes to: a person's preferred reachable channel identity (the one they
used last, as `inbox.replies.route` picks for a manager's reply) or, for someone entered at
the desk who never wrote, the address on their card when e-mail is configured; and the
language to write in (theirs when known, else the installation's). Reactions never fail for
a person who cannot be reached: they get None and skip."""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import SUPPORTED_LOCALES, normalize_locale
from core.models import ChannelIdentity
from inbox.replies import EMAIL, email_identity_from_card

# Newest first: the channel the person used last is the one they read.
_PREFERRED = (ChannelIdentity.last_seen_at.desc().nulls_last(), ChannelIdentity.id.desc())


async def client_identity(
    session: AsyncSession, client_id: int, channels: Container[str] = ()
) -> ChannelIdentity | None:
    """The client's preferred reachable identity; with "email" in `channels` (the
    configured ones), else the e-mail identity of the address on their card."""
    found = await _first(session, ChannelIdentity.client_id == client_id)
    if found is None and EMAIL in channels:
        found = await email_identity_from_card(session, client_id=client_id)
    return found


async def executor_identity(
    session: AsyncSession, executor_id: int, channels: Container[str] = ()
) -> ChannelIdentity | None:
    found = await _first(session, ChannelIdentity.executor_id == executor_id)
    if found is None and EMAIL in channels:
        found = await email_identity_from_card(session, executor_id=executor_id)
    return found


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


def locale_of(identity: ChannelIdentity, default: str, person: str | None = None) -> str:
    """The language to write to someone in: their identity's (the messenger's language),
    else the one on their card, else `default`, the installation's (PULT_LOCALE)."""
    for known in (identity.locale, person):
        if known and normalize_locale(known, "") in SUPPORTED_LOCALES:
            return normalize_locale(known)
    return normalize_locale(default)


async def _first(session: AsyncSession, owner: ColumnElement[bool]) -> ChannelIdentity | None:
    found: ChannelIdentity | None = await session.scalar(
        select(ChannelIdentity)
        .where(owner, ChannelIdentity.reachable.is_(True))
        .order_by(*_PREFERRED)
        .limit(1)
    )
    return found
