"""Who is writing: find the channel identity of an inbound sender, or create it; an unknown
sender becomes a lead client; identities with the same verified phone or e-mail on two
channels are one client. And who can no longer be written to: a person who blocked the bot
is unreachable on that chat until they write again."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, and_, bindparam, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.i18n import N_, gettext
from core.models import ChannelIdentity, Client
from core.transitions import Actor
from inbox.channel import Incoming
from inbox.merge import automatic_reason, merge_clients

UNKNOWN_NAME = N_("Unknown sender")
LAST_SEEN_PRECISION = timedelta(minutes=1)


def normalize_phone(raw: str) -> str:
    """Digits with a leading +; a Russian 8XXXXXXXXXX becomes +7XXXXXXXXXX."""
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return "+" + digits if digits else ""


async def identify(
    session: AsyncSession, incoming: Incoming, locale: str | None = None
) -> ChannelIdentity:
    """The sender's identity, created on first contact (with a lead client behind it);
    `locale`: the installation's, for the name staff see when the sender gave none."""
    key = {"channel": incoming.channel, "external_id": incoming.sender_id}
    identity = await session.scalar(_IDENTITY, key)
    if identity is None:
        identity = await _first_contact(session, incoming, key)
    now = utcnow()
    # Minute precision is enough to pick the freshest channel; it saves an UPDATE per message.
    if identity.last_seen_at is None or now - identity.last_seen_at >= LAST_SEEN_PRECISION:
        identity.last_seen_at = now
    if incoming.chat_id and identity.chat_id != incoming.chat_id:
        identity.chat_id = incoming.chat_id
    if not identity.reachable:
        # Whoever writes to us can be written to again (they unblocked the bot).
        identity.reachable, identity.unreachable_reason = True, None
    proved_phone = incoming.contact is not None and incoming.contact.own
    if proved_phone:
        assert incoming.contact is not None
        identity.phone = normalize_phone(incoming.contact.phone)
        identity.phone_verified = True
    if identity.client_id is None and identity.executor_id is None and identity.user_id is None:
        identity.client_id = (await _client_for(session, identity, locale)).id
    elif identity.client_id is not None and proved_phone:
        # Only when a phone was just proved: an ordinary message costs no extra query.
        await _merge_into_known_client(session, identity)
    await session.flush()
    return identity


# Prebuilt: every inbound message runs it (docs/inbox.md, "Hot path").
_IDENTITY = select(ChannelIdentity).where(
    ChannelIdentity.channel == bindparam("channel"),
    ChannelIdentity.external_id == bindparam("external_id"),
)
_IDENTITIES = cast(Table, ChannelIdentity.__table__)


async def _first_contact(
    session: AsyncSession, incoming: Incoming, key: dict[str, str]
) -> ChannelIdentity:
    return await insert_identity(
        session,
        **key,
        chat_id=incoming.chat_id or incoming.sender_id,
        display_name=incoming.sender_name,
        locale=incoming.sender_locale,
    )


async def insert_identity(
    session: AsyncSession, *, channel: str, external_id: str, **values: object
) -> ChannelIdentity:
    """Insert-or-get: a new sender's first messages arrive together (a Telegram album, a
    webhook and its retry) in concurrent transactions. INSERT ... ON CONFLICT DO NOTHING
    lets exactly one of them create the identity (and then its lead client); on PostgreSQL
    the others wait for that transaction and then read its row, on SQLite the writers are
    serialised anyway. A plain INSERT made the losers fail with a unique violation: the
    webhook answered 500 and the message arrived only with Telegram's retry."""
    key = {"channel": channel, "external_id": external_id}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(_IDENTITIES)
        .values(**key, **values)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
    )
    await (await session.connection()).execute(statement)
    identity = await session.scalar(_IDENTITY, key)
    assert identity is not None  # ours, or the one a concurrent first contact committed
    return identity


async def _client_for(
    session: AsyncSession, identity: ChannelIdentity, locale: str | None
) -> Client:
    known = await _client_by_verified_contact(session, identity)
    if known is not None:
        return known
    name = identity.display_name or gettext(UNKNOWN_NAME, locale)
    client = Client(name=name, phone=identity.phone, email=identity.email, locale=identity.locale)
    session.add(client)
    await session.flush()
    return client


async def _client_by_verified_contact(
    session: AsyncSession, identity: ChannelIdentity
) -> Client | None:
    """The client this identity's verified phone or e-mail belongs to: first another
    channel's identity that proved the same, else a client card with it (an operator typed
    the phone of a walk-in into the panel)."""
    checks, cards = [], []
    if identity.phone and identity.phone_verified:
        checks.append((ChannelIdentity.phone == identity.phone) & ChannelIdentity.phone_verified)
        cards.append(Client.phone == identity.phone)
    if identity.email and identity.email_verified:
        checks.append((ChannelIdentity.email == identity.email) & ChannelIdentity.email_verified)
        cards.append(func.lower(Client.email) == identity.email.lower())
    if not checks:
        return None
    query = select(ChannelIdentity).where(or_(*checks), ChannelIdentity.client_id.is_not(None))
    if identity.id is not None:
        query = query.where(ChannelIdentity.id != identity.id)
    if identity.client_id is not None:
        query = query.where(ChannelIdentity.client_id != identity.client_id)
    other = await session.scalar(query.order_by(ChannelIdentity.id).limit(1))
    if other is not None and other.client_id is not None:
        return await session.get(Client, other.client_id)
    on_card = select(Client).where(or_(*cards))
    if identity.client_id is not None:
        on_card = on_card.where(Client.id != identity.client_id)
    found: Client | None = await session.scalar(on_card.order_by(Client.id).limit(1))
    return found


async def _merge_into_known_client(session: AsyncSession, identity: ChannelIdentity) -> None:
    """A sender who just proved a phone that another channel's identity already proved, or
    that is on a client's card, is that client: this identity joins them. The client it
    had (the lead made for it on first contact, when no other identity shares it) is merged
    into theirs (inbox/merge.py): the first messages, any orders and money go along, so the
    person finds their orders in the bot and the manager sees one card."""
    known = await _client_by_verified_contact(session, identity)
    if known is None or known.id == identity.client_id:
        return
    previous = identity.client_id
    identity.client_id = known.id
    await session.flush()
    if previous is None:
        return
    shared = await session.scalar(
        select(func.count(ChannelIdentity.id)).where(ChannelIdentity.client_id == previous)
    )
    if not shared:
        reason = automatic_reason("phone", identity.channel)
        await merge_clients(session, known.id, previous, actor=Actor.system(), reason=reason)


async def mark_unreachable(
    session: AsyncSession, channel: str, chat_id: str, reason: str
) -> list[ChannelIdentity]:
    """Mark the identities that talk to us on `chat_id` unreachable (replies skip them)
    and return those that were reachable until now. The channel reports it, e.g. Telegram's
    notice that a person blocked the bot (reason `blocked_by_user`)."""
    found = await session.scalars(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel,
            ChannelIdentity.reachable.is_(True),
            or_(
                ChannelIdentity.chat_id == chat_id,
                and_(ChannelIdentity.chat_id.is_(None), ChannelIdentity.external_id == chat_id),
            ),
        )
    )
    changed = list(found)
    for identity in changed:
        identity.reachable, identity.unreachable_reason = False, reason
    await session.flush()
    return changed
