"""Messages of one conversation as the order card shows them, newest last, with a cursor for
older ones.

    thread_messages(session, conversation_id, before_id=None, limit=30) -> ThreadView

Each message carries its author's name, channel, files and, for outgoing ones, the delivery
status; a message that failed (or is still being retried) also carries its outbox item's
attempts and last error, and the item's id for the retry action
(`inbox.dispatcher.retry_failed`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Client, Executor, FilePurpose, StoredFile, User
from inbox.models import (
    Conversation,
    ConversationKind,
    DeliveryStatus,
    Direction,
    Message,
    OutboxItem,
    OutboxStatus,
    message_files,
)

MESSAGES_PER_PAGE = 30


@dataclass(frozen=True, slots=True)
class FileView:
    file_id: int
    name: str
    content_type: str
    size: int
    purpose: FilePurpose
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    """Why an outgoing message has not arrived: its outbox item's state."""

    outbox_id: int
    status: OutboxStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class MessageView:
    message_id: int
    direction: Direction
    author_kind: str  # "staff", "client", "executor" or "system"
    author_name: str | None
    channel: str | None
    text: str
    html: str | None
    files: list[FileView]
    created_at: datetime
    delivery_status: DeliveryStatus | None
    delivery_error: str | None
    failure: DeliveryFailure | None  # set for failed messages and ones being retried
    forwarded_from_id: int | None


@dataclass(frozen=True, slots=True)
class ThreadView:
    conversation_id: int
    kind: ConversationKind
    messages: list[MessageView]  # oldest first
    older_cursor: int | None  # pass as before_id to load older messages; None: no more


async def thread_messages(
    session: AsyncSession,
    conversation_id: int,
    *,
    before_id: int | None = None,
    limit: int = MESSAGES_PER_PAGE,
) -> ThreadView | None:
    kind = await session.scalar(select(Conversation.kind).where(Conversation.id == conversation_id))
    if kind is None:
        return None
    return await _thread(session, conversation_id, kind, before_id, limit)


async def _thread(
    session: AsyncSession,
    conversation_id: int,
    kind: ConversationKind,
    before_id: int | None,
    limit: int,
) -> ThreadView:
    # Columns, not Message objects: the card must not leave half-loaded messages (no
    # files) in the caller's session, which may go on to forward one.
    query = (
        select(
            Message.id,
            Message.direction,
            Message.channel,
            Message.text,
            Message.html,
            Message.created_at,
            Message.delivery_status,
            Message.delivery_error,
            Message.forwarded_from_id,
            Message.author_user_id,
            Message.author_client_id,
            Message.author_executor_id,
            User.name.label("user_name"),
            Client.name.label("client_name"),
            Executor.name.label("executor_name"),
        )
        .outerjoin(User, User.id == Message.author_user_id)
        .outerjoin(Client, Client.id == Message.author_client_id)
        .outerjoin(Executor, Executor.id == Message.author_executor_id)
        .where(Message.conversation_id == conversation_id)
    )
    if before_id is not None:
        query = query.where(Message.id < before_id)
    query = query.order_by(Message.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).all())
    more = len(rows) > limit
    rows = list(reversed(rows[:limit]))
    ids = [row.id for row in rows]
    files = await _files(session, ids)
    failures = await _failures(session, [row.id for row in rows if _may_fail(row)])
    messages = [_view(row, files.get(row.id, []), failures) for row in rows]
    return ThreadView(conversation_id, kind, messages, ids[0] if more and ids else None)


def _may_fail(message: Any) -> bool:
    return message.direction is Direction.OUT and message.delivery_status in (
        DeliveryStatus.QUEUED,
        DeliveryStatus.FAILED,
    )


def _view(row: Any, files: list[FileView], failures: dict[int, DeliveryFailure]) -> MessageView:
    message = row
    if message.author_user_id is not None:
        author_kind, author_name = "staff", row.user_name
    elif message.author_client_id is not None:
        author_kind, author_name = "client", row.client_name
    elif message.author_executor_id is not None:
        author_kind, author_name = "executor", row.executor_name
    else:
        author_kind, author_name = "system", None
    failure = failures.get(message.id)
    if failure is not None and failure.status is OutboxStatus.PENDING and failure.attempts == 0:
        failure = None  # simply queued: nothing went wrong yet
    return MessageView(
        message_id=message.id,
        direction=message.direction,
        author_kind=author_kind,
        author_name=author_name,
        channel=message.channel,
        text=message.text,
        html=message.html,
        files=files,
        created_at=message.created_at,
        delivery_status=message.delivery_status,
        delivery_error=message.delivery_error,
        failure=failure,
        forwarded_from_id=message.forwarded_from_id,
    )


async def _files(session: AsyncSession, message_ids: list[int]) -> dict[int, list[FileView]]:
    if not message_ids:
        return {}
    query = (
        select(message_files.c.message_id, StoredFile)
        .join(StoredFile, StoredFile.id == message_files.c.file_id)
        .where(message_files.c.message_id.in_(message_ids))
        .order_by(StoredFile.id)
    )
    found: dict[int, list[FileView]] = {}
    for message_id, stored in await session.execute(query):
        found.setdefault(message_id, []).append(file_view(stored))
    return found


def file_view(stored: StoredFile) -> FileView:
    return FileView(
        stored.id,
        stored.original_name,
        stored.content_type,
        stored.size,
        stored.purpose,
        stored.created_at,
    )


async def _failures(session: AsyncSession, message_ids: list[int]) -> dict[int, DeliveryFailure]:
    if not message_ids:
        return {}
    latest = (
        select(func.max(OutboxItem.id))
        .where(OutboxItem.message_id.in_(message_ids))
        .group_by(OutboxItem.message_id)
    )
    query = select(
        OutboxItem.id,
        OutboxItem.message_id,
        OutboxItem.status,
        OutboxItem.attempts,
        OutboxItem.last_error,
        OutboxItem.next_attempt_at,
    ).where(OutboxItem.id.in_(latest))
    return {
        row.message_id: DeliveryFailure(
            row.id, row.status, row.attempts, row.last_error, row.next_attempt_at
        )
        for row in await session.execute(query)
    }
