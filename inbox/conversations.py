"""Conversations and messages: the per-order threads, lead and application conversations,
and adding a message (which keeps the inbox's timestamps and records MessageCreated)."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.events import record
from core.models import Order, StoredFile
from inbox.events import MessageCreated
from inbox.models import Conversation, ConversationKind, Direction, Message

ORDER_KINDS = (ConversationKind.CLIENT, ConversationKind.EXECUTOR, ConversationKind.NOTES)


async def order_thread(session: AsyncSession, order: Order, kind: ConversationKind) -> Conversation:
    """The order's client thread, executor thread or internal notes, created on first use."""
    if kind not in ORDER_KINDS:
        raise ValueError(f"{kind} is not an order thread")
    found = await session.scalar(
        select(Conversation).where(Conversation.order_id == order.id, Conversation.kind == kind)
    )
    if found is not None:
        if kind is ConversationKind.EXECUTOR and found.executor_id != order.executor_id:
            found.executor_id = order.executor_id  # the job went to someone else
        return found
    return await _create(
        session,
        Conversation(
            kind=kind,
            order_id=order.id,
            client_id=order.client_id,
            executor_id=order.executor_id if kind is ConversationKind.EXECUTOR else None,
            manager_id=order.manager_id,
        ),
        select(Conversation).where(Conversation.order_id == order.id, Conversation.kind == kind),
    )


async def lead_conversation(session: AsyncSession, client_id: int) -> Conversation:
    query = select(Conversation).where(
        Conversation.kind == ConversationKind.LEAD, Conversation.client_id == client_id
    )
    found = await session.scalar(query)
    if found is not None:
        return found
    conversation = Conversation(kind=ConversationKind.LEAD, client_id=client_id)
    return await _create(session, conversation, query)


async def application_conversation(session: AsyncSession, executor_id: int) -> Conversation:
    query = select(Conversation).where(
        Conversation.kind == ConversationKind.APPLICATION,
        Conversation.executor_id == executor_id,
    )
    found = await session.scalar(query)
    if found is not None:
        return found
    conversation = Conversation(kind=ConversationKind.APPLICATION, executor_id=executor_id)
    return await _create(session, conversation, query)


async def _create(
    session: AsyncSession, conversation: Conversation, again: Select[Conversation]
) -> Conversation:
    # Two messages from one person can arrive at once; the unique indexes let one create
    # the conversation and the other find it.
    try:
        async with session.begin_nested():
            session.add(conversation)
        return conversation
    except IntegrityError:
        found: Conversation | None = await session.scalar(again)
        if found is None:
            raise
        return found


async def add_message(
    session: AsyncSession,
    conversation: Conversation,
    direction: Direction,
    text: str,
    *,
    channel: str | None = None,
    identity_id: int | None = None,
    author_user_id: int | None = None,
    author_client_id: int | None = None,
    author_executor_id: int | None = None,
    external_id: str | None = None,
    html: str | None = None,
    files: list[StoredFile] | None = None,
    forwarded_from_id: int | None = None,
) -> Message:
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        direction=direction,
        channel=channel,
        identity_id=identity_id,
        author_user_id=author_user_id,
        author_client_id=author_client_id,
        author_executor_id=author_executor_id,
        text=text,
        html=html,
        external_id=external_id,
        forwarded_from_id=forwarded_from_id,
        files=list(files or []),
        created_at=now,
    )
    session.add(message)
    conversation.last_message_at = now
    if direction is Direction.IN:
        conversation.last_inbound_at = now
    elif direction is Direction.OUT:
        conversation.last_outbound_at = now
    await session.flush()
    record(
        session,
        MessageCreated(
            message_id=message.id,
            conversation_id=conversation.id,
            direction=direction.value,
            order_id=conversation.order_id,
        ),
    )
    return message
