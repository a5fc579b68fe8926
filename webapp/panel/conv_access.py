"""Which conversations a staff member may open, what the thread page shows beside the
messages (the counterpart, their channels, the order), and read markers."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.events import record
from core.models import ChannelIdentity, Client, Executor, Order, User
from inbox.events import ConversationRead
from inbox.models import Conversation, ConversationKind, Message, ReadMarker
from inbox.replies import CLIENT_SIDE, EMAIL, EXECUTOR_SIDE, RELAY, card_email
from webapp.access.sessions import Staff
from webapp.queries.visibility import conversations_visible_query


def conversation_id_of(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except (KeyError, ValueError):
        raise web.HTTPNotFound() from None


async def assigned_to(session: AsyncSession, conversation: Conversation) -> int | None:
    """The conversation's manager as the inbox reads it: the order's, else the
    conversation's, else the client's responsible manager."""
    if conversation.order_id is not None:
        manager = await session.scalar(
            select(Order.manager_id).where(Order.id == conversation.order_id)
        )
        if manager is not None:
            return manager
    if conversation.manager_id is not None:
        return conversation.manager_id
    if conversation.client_id is not None:
        return await session.scalar(
            select(Client.manager_id).where(Client.id == conversation.client_id)
        )
    return None


async def may_see(session: AsyncSession, staff: Staff, conversation: Conversation) -> bool:
    """A restricted manager sees what is assigned to them or to nobody yet."""
    if staff.only_assigned_to is None:
        return True
    # The panel's one rule (webapp/queries/visibility.py), as the inbox applies it.
    visible = conversations_visible_query(staff.only_assigned_to).where(
        Conversation.id == conversation.id
    )
    return await session.scalar(visible) is not None


async def visible_conversation(
    session: AsyncSession, staff: Staff, conversation_id: int
) -> Conversation:
    """The conversation, or 404 (missing, or another manager's for a restricted one)."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not await may_see(session, staff, conversation):
        raise web.HTTPNotFound()
    return conversation


@dataclass(frozen=True, slots=True)
class IdentityView:
    channel: str
    address: str  # what identifies them there: e-mail, phone, chat id
    reachable: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    conversation: Conversation
    counterpart: str
    counterpart_kind: str  # "client", "executor" or ""
    counterpart_id: int | None
    identities: list[IdentityView]
    order: Order | None
    manager_name: str | None
    siblings: dict[ConversationKind, int]  # the order's other threads by kind
    relay_to: ConversationKind | None  # where a message of this thread may be forwarded
    # The address on the counterpart's card, offered as e-mail when they never wrote by mail
    # and e-mail is configured (inbox.replies makes the identity on the first reply).
    card_email: str | None = None

    @property
    def channels(self) -> list[str]:
        """Channels a reply can go out on: the counterpart's reachable ones, and e-mail to
        the address on their card."""
        found = [i.channel for i in self.identities if i.reachable]
        if self.card_email is not None:
            found.append(EMAIL)
        return list(dict.fromkeys(found))

    def send_channel(self, chosen: str | None = None) -> str | None:
        """The channel a reply goes out on: the one chosen in the composer, else the first
        offered (what the "Preferred channel" option names). The default is resolved here,
        to an explicit channel, so it is sent exactly as if that channel had been chosen."""
        if chosen:
            return chosen
        return self.channels[0] if self.channels else None


async def conversation_info(
    session: AsyncSession, conversation: Conversation, *, writable: Container[str] = ()
) -> ConversationInfo:
    """Who the conversation is with and how to reach them; `writable`: the configured
    channels (e-mail to a card's address is offered only when e-mail is one of them)."""
    counterpart, kind, person_id = "", "", None
    owner = None
    if conversation.kind in CLIENT_SIDE and conversation.client_id is not None:
        kind, person_id = "client", conversation.client_id
        counterpart = await session.scalar(select(Client.name).where(Client.id == person_id)) or ""
        owner = ChannelIdentity.client_id == person_id
    elif conversation.kind in EXECUTOR_SIDE and conversation.executor_id is not None:
        kind, person_id = "executor", conversation.executor_id
        counterpart = (
            await session.scalar(select(Executor.name).where(Executor.id == person_id)) or ""
        )
        owner = ChannelIdentity.executor_id == person_id
    identities: list[IdentityView] = []
    if owner is not None:
        rows = await session.scalars(
            select(ChannelIdentity)
            .where(owner)
            .order_by(ChannelIdentity.last_seen_at.desc().nulls_last(), ChannelIdentity.id.desc())
        )
        identities = [
            IdentityView(
                i.channel,
                i.email or i.phone or i.display_name or i.chat_id or i.external_id,
                i.reachable,
                i.unreachable_reason,
            )
            for i in rows
        ]
    order = await session.get(Order, conversation.order_id) if conversation.order_id else None
    siblings: dict[ConversationKind, int] = {}
    if order is not None:
        found = await session.execute(
            select(Conversation.kind, Conversation.id).where(Conversation.order_id == order.id)
        )
        siblings = {row.kind: row.id for row in found}
    manager_id = await assigned_to(session, conversation)
    manager = (
        await session.scalar(select(User.name).where(User.id == manager_id)) if manager_id else None
    )
    relay = RELAY.get(conversation.kind) if order is not None else None
    if relay is ConversationKind.EXECUTOR and (order is None or order.executor_id is None):
        relay = None
    card_address = None
    if EMAIL in writable and not any(i.channel == EMAIL for i in identities):
        card_address = await card_email(session, conversation)
    return ConversationInfo(
        conversation, counterpart, kind, person_id, identities, order, manager, siblings, relay,
        card_address,
    )  # fmt: skip


async def mark_read(session: AsyncSession, conversation_id: int, user_id: int) -> int | None:
    """Move this person's read marker to the newest message (never back); returns the
    message id when it moved. Records ConversationRead, published after commit."""
    newest = await session.scalar(
        select(func.max(Message.id)).where(Message.conversation_id == conversation_id)
    )
    if newest is None:
        return None
    current = await session.scalar(
        select(ReadMarker.last_read_message_id).where(
            ReadMarker.conversation_id == conversation_id, ReadMarker.user_id == user_id
        )
    )
    if current is not None and current >= newest:
        return None
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(ReadMarker).values(
        conversation_id=conversation_id, user_id=user_id, last_read_message_id=newest,
        read_at=utcnow(),
    )  # fmt: skip
    # Two tabs may open the thread at once: the later write wins, and only forward.
    statement = statement.on_conflict_do_update(
        index_elements=[ReadMarker.conversation_id, ReadMarker.user_id],
        set_={"last_read_message_id": newest, "read_at": utcnow()},
        where=ReadMarker.last_read_message_id < newest,
    )
    await session.execute(statement)
    record(
        session,
        ConversationRead(conversation_id=conversation_id, user_id=user_id, message_id=newest),
    )
    return newest
