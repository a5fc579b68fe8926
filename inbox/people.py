"""Who is writing: find the channel identity of an inbound sender, or create it; an unknown
sender becomes a lead client; identities with the same verified phone or e-mail on two
channels are one client. And who can no longer be written to: a person who blocked the bot
is unreachable on that chat until they write again."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.i18n import N_, gettext
from core.models import ChannelIdentity, Client
from inbox.channel import Incoming

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
    identity = await session.scalar(
        _IDENTITY, {"channel": incoming.channel, "external_id": incoming.sender_id}
    )
    if identity is None:
        identity = ChannelIdentity(
            channel=incoming.channel,
            external_id=incoming.sender_id,
            chat_id=incoming.chat_id or incoming.sender_id,
            display_name=incoming.sender_name,
            locale=incoming.sender_locale,
        )
        session.add(identity)
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
    checks = []
    if identity.phone and identity.phone_verified:
        checks.append((ChannelIdentity.phone == identity.phone) & ChannelIdentity.phone_verified)
    if identity.email and identity.email_verified:
        checks.append((ChannelIdentity.email == identity.email) & ChannelIdentity.email_verified)
    if not checks:
        return None
    query = select(ChannelIdentity).where(or_(*checks), ChannelIdentity.client_id.is_not(None))
    if identity.id is not None:
        query = query.where(ChannelIdentity.id != identity.id)
    other = await session.scalar(query.order_by(ChannelIdentity.id).limit(1))
    return await session.get(Client, other.client_id) if other and other.client_id else None


async def _merge_into_known_client(session: AsyncSession, identity: ChannelIdentity) -> None:
    """A sender who just proved a phone that another channel's identity already proved is
    the same person: point this identity at that client. The lead client created for it on
    first contact stays (its lead conversation remains readable)."""
    known = await _client_by_verified_contact(session, identity)
    if known is not None and known.id != identity.client_id:
        identity.client_id = known.id


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
