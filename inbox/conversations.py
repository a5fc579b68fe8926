"""Conversations and messages: the per-order threads, lead and application conversations,
and adding a message (which keeps the inbox's timestamps and records MessageCreated)."""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import Select, Table, Update, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from core.db import utcnow
from core.events import record
from core.models import Order, StoredFile
from inbox.events import MessageCreated
from inbox.models import (
    Conversation,
    ConversationKind,
    DeliveryStatus,
    Direction,
    Message,
    message_files,
)

ORDER_KINDS = (ConversationKind.CLIENT, ConversationKind.EXECUTOR, ConversationKind.NOTES)


async def order_thread(session: AsyncSession, order: Order, kind: ConversationKind) -> Conversation:
    """The order's client thread, executor thread or internal notes, created on first use."""
    if kind not in ORDER_KINDS:
        raise ValueError(f"{kind} is not an order thread")
    found = await session.scalar(_ORDER_THREAD, {"order": order.id, "kind": kind})
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
        _ORDER_THREAD.params(order=order.id, kind=kind),
    )


async def lead_conversation(session: AsyncSession, client_id: int) -> Conversation:
    found = await session.scalar(_LEAD, {"client": client_id})
    if found is not None:
        return found
    conversation = Conversation(kind=ConversationKind.LEAD, client_id=client_id)
    return await _create(session, conversation, _LEAD.params(client=client_id))


async def application_conversation(session: AsyncSession, executor_id: int) -> Conversation:
    found = await session.scalar(_APPLICATION, {"executor": executor_id})
    if found is not None:
        return found
    conversation = Conversation(kind=ConversationKind.APPLICATION, executor_id=executor_id)
    return await _create(session, conversation, _APPLICATION.params(executor=executor_id))


# Prebuilt: every inbound message looks up its conversation (docs/inbox.md, "Hot path").
_ORDER_THREAD = select(Conversation).where(
    Conversation.order_id == bindparam("order"), Conversation.kind == bindparam("kind")
)
_LEAD = select(Conversation).where(
    Conversation.kind == ConversationKind.LEAD, Conversation.client_id == bindparam("client")
)
_APPLICATION = select(Conversation).where(
    Conversation.kind == ConversationKind.APPLICATION,
    Conversation.executor_id == bindparam("executor"),
)


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


async def insert_message(
    session: AsyncSession,
    conversation: Conversation,
    direction: Direction,
    text: str,
    **fields: Any,
) -> int:
    """Store a message and move the conversation's activity times; records MessageCreated;
    returns the message's id. Every inbound message passes here, so it writes with prebuilt
    Core statements and builds no ORM object (docs/inbox.md, "Hot path"). The keyword
    fields are those of `_insert` (channel, identity, author, external id, files, ...)."""
    message_id, _, _ = await _insert(session, conversation, direction, text, **fields)
    return message_id


async def add_message(
    session: AsyncSession,
    conversation: Conversation,
    direction: Direction,
    text: str,
    **fields: Any,
) -> Message:
    """`insert_message`, returning the Message as a persistent object of the session: what
    was just inserted, as if loaded (no query)."""
    message_id, values, files = await _insert(session, conversation, direction, text, **fields)
    message = Message(id=message_id, files=files, **values)
    make_transient_to_detached(message)
    session.add(message)
    return message


async def _insert(
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
    delivery_status: DeliveryStatus | None = None,
) -> tuple[int, dict[str, Any], list[StoredFile]]:
    now = utcnow()
    values = {
        "conversation_id": conversation.id,
        "direction": direction,
        "channel": channel,
        "identity_id": identity_id,
        "author_user_id": author_user_id,
        "author_client_id": author_client_id,
        "author_executor_id": author_executor_id,
        "text": text,
        "html": html,
        "external_id": external_id,
        "reply_to_id": None,
        "forwarded_from_id": forwarded_from_id,
        "delivery_status": delivery_status,
        "delivery_error": None,
        "created_at": now,
    }
    connection = await session.connection()
    message_id = (await connection.execute(_INSERT_MESSAGE, values)).scalar_one()
    files = list(files or [])
    if files:
        await connection.execute(
            message_files.insert(), [{"message_id": message_id, "file_id": f.id} for f in files]
        )
    times = {"last_message_at": now}
    if direction is Direction.IN:
        times["last_inbound_at"] = now
    elif direction is Direction.OUT:
        times["last_outbound_at"] = now
    touch = _touch_statement(tuple(times))
    await connection.execute(touch, {"conversation": conversation.id, **times})
    for name, value in times.items():
        set_committed_value(conversation, name, value)
    record(
        session,
        MessageCreated(
            message_id=message_id,
            conversation_id=conversation.id,
            direction=direction.value,
            order_id=conversation.order_id,
        ),
    )
    return message_id, values, files


_MESSAGES = cast(Table, Message.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_INSERT_MESSAGE = insert(_MESSAGES).returning(_MESSAGES.c.id)


@functools.cache
def _touch_statement(columns: tuple[str, ...]) -> Update:
    return (
        update(_CONVERSATIONS)
        .where(_CONVERSATIONS.c.id == bindparam("conversation"))
        .values({name: bindparam(name) for name in columns})
    )
