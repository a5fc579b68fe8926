"""Threading by the hints a channel reads from the message itself (e-mail, ARCHITECTURE §4):
an order proven by a token, the conversation of a message it refers to, an order number
the sender is a party of. Chat channels thread by `inbox/threading.py` instead."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import N_, gettext
from core.models import ChannelIdentity, Client, Executor, Order
from inbox.channel import Automatic, Incoming
from inbox.conversations import order_thread
from inbox.models import Conversation, ConversationKind, Message, ThreadRef
from inbox.people import insert_identity

NOT_THE_PARTY = N_(
    "{sender} is not this order's client or executor: check before answering or relaying."
)
AUTO_REPLY_NOTE = N_("Automatic reply: {text}")
BOUNCE_NOTE = N_("Mail was not delivered: {text}")
MAX_REFERENCES = 50  # a long thread's References; the nearest ones are enough


@dataclass(frozen=True, slots=True)
class Found:
    conversation: Conversation
    party: bool  # the sender is this conversation's client (or executor)
    how: str  # "token" | "references" | "subject"


async def hinted_conversation(
    session: AsyncSession, identity: ChannelIdentity, incoming: Incoming
) -> Found | None:
    """Where the event's hint says it belongs, trying the rules in order; None: a lead."""
    hint = incoming.thread
    if hint is None:
        return None
    if hint.proven and hint.order_number is not None:
        order = await _order(session, hint.order_number)
        if order is not None:
            kind = ConversationKind.EXECUTOR if hint.side == "executor" else ConversationKind.CLIENT
            conversation = await order_thread(session, order, kind)
            return Found(conversation, is_party(identity, conversation), "token")
    if hint.references:
        referenced = await _referenced(session, incoming.channel, hint.references)
        if referenced is not None:
            return Found(referenced, is_party(identity, referenced), "references")
    if hint.order_number is not None:
        order = await _order(session, hint.order_number)
        party_side = _side_of(identity, order) if order is not None else None
        if order is not None and party_side is not None:
            return Found(await order_thread(session, order, party_side), True, "subject")
    return None


async def adopt_known_sender(session: AsyncSession, incoming: Incoming) -> None:
    """A first message from an address a client or executor already has (on their card, or
    on another channel's identity) is theirs: their identity on this channel is made now,
    so `identify` finds it instead of creating a lead client."""
    address = incoming.sender_id.lower()
    if "@" not in address:
        return
    if await session.scalar(_IDENTITY, {"channel": incoming.channel, "address": address}):
        return
    owner = await _owner_of(session, address)
    if owner is None:
        return
    # Insert-or-get, as every first contact (two mails of one sender at once).
    await insert_identity(
        session, channel=incoming.channel, external_id=incoming.sender_id,
        chat_id=incoming.chat_id or incoming.sender_id, display_name=incoming.sender_name,
        email=address, **owner,
    )  # fmt: skip


async def _owner_of(session: AsyncSession, address: str) -> dict[str, int] | None:
    client_id = await session.scalar(
        select(Client.id).where(func.lower(Client.email) == address).order_by(Client.id).limit(1)
    )
    if client_id is not None:
        return {"client_id": client_id}
    executor_id = await session.scalar(
        select(Executor.id)
        .where(func.lower(Executor.email) == address)
        .order_by(Executor.id)
        .limit(1)
    )
    if executor_id is not None:
        return {"executor_id": executor_id}
    known = (
        await session.execute(
            select(ChannelIdentity.client_id, ChannelIdentity.executor_id)
            .where(
                func.lower(ChannelIdentity.email) == address,
                (ChannelIdentity.client_id.is_not(None))
                | (ChannelIdentity.executor_id.is_not(None)),
            )
            .order_by(ChannelIdentity.id)
            .limit(1)
        )
    ).first()
    if known is None:
        return None
    client, executor = known
    if client is not None:
        return {"client_id": client}
    assert executor is not None  # the query asked for one of the two
    return {"executor_id": executor}


_IDENTITY = select(ChannelIdentity.id).where(
    ChannelIdentity.channel == bindparam("channel"),
    ChannelIdentity.external_id == bindparam("address"),
)


def is_party(identity: ChannelIdentity, conversation: Conversation) -> bool:
    if conversation.kind in (ConversationKind.EXECUTOR, ConversationKind.APPLICATION):
        return identity.executor_id is not None and identity.executor_id == conversation.executor_id
    return identity.client_id is not None and identity.client_id == conversation.client_id


def automatic_note(incoming: Incoming, locale: str | None = None) -> str:
    """The system note an auto-reply or a bounce is filed as (the managers' language, the
    installation's)."""
    template = BOUNCE_NOTE if incoming.automatic is Automatic.BOUNCE else AUTO_REPLY_NOTE
    return gettext(template, locale).format(text=(incoming.text or "").strip())


def _side_of(identity: ChannelIdentity, order: Order) -> ConversationKind | None:
    if identity.client_id is not None and identity.client_id == order.client_id:
        return ConversationKind.CLIENT
    if identity.executor_id is not None and identity.executor_id == order.executor_id:
        return ConversationKind.EXECUTOR
    return None


async def _order(session: AsyncSession, number: int) -> Order | None:
    # The id by a Core query, the row through the session: mail arriving together about one
    # order (one transaction, inbox/group_commit.py) loads the order once.
    connection = await session.connection()
    order_id = (await connection.execute(_ORDER_BY_NUMBER, {"number": number})).scalar()
    return await session.get(Order, order_id) if order_id is not None else None


_ORDER_BY_NUMBER = select(Order.id).where(Order.number == bindparam("number"))


async def _referenced(
    session: AsyncSession, channel: str, references: tuple[str, ...]
) -> Conversation | None:
    """The conversation of the nearest referenced message: one we sent (thread_refs) or
    one received earlier on the channel (the sender answering their own mail)."""
    wanted = list(references[:MAX_REFERENCES])
    ours = await session.execute(
        select(ThreadRef.external_id, ThreadRef.conversation_id).where(
            ThreadRef.channel == channel, ThreadRef.external_id.in_(wanted)
        )
    )
    theirs = await session.execute(
        select(Message.external_id, Message.conversation_id).where(
            Message.channel == channel, Message.external_id.in_(wanted)
        )
    )
    where = {external_id: conversation for external_id, conversation in theirs}
    where.update({external_id: conversation for external_id, conversation in ours})
    for reference in wanted:
        if reference in where:
            return await session.get(Conversation, where[reference])
    return None
