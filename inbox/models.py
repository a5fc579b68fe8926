"""Messaging records: conversations (per order and outside orders), messages and their
files, per-user read markers, the inbound event log, the outbox, thread references, the
dialog state of each channel identity and how far each mailbox has been read."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, postgresql_only, utcnow
from core.models import StoredFile
from core.models.people import enum_column


class ConversationKind(enum.StrEnum):
    CLIENT = "client"  # an order's client thread: client <-> managers
    EXECUTOR = "executor"  # an order's executor thread: assigned executor <-> managers
    NOTES = "notes"  # an order's internal notes: staff only, never sent
    LEAD = "lead"  # a person without an order (yet): unknown senders, pre-order chat
    APPLICATION = "application"  # an executor applicant's conversation


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"
    NOTE = "note"
    SYSTEM = "system"


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    READ = "read"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ConversationKind] = mapped_column(enum_column(ConversationKind, "conv_kind"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    executor_id: Mapped[int | None] = mapped_column(
        ForeignKey("executors.id", ondelete="CASCADE"), index=True
    )
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The waiting time the inbox shows runs from the counterpart's last message while it
    # is newer than our last answer.
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_outbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        # One thread of each kind per order; one lead / application conversation per person.
        Index(
            "uq_conversations_order_kind",
            "order_id",
            "kind",
            unique=True,
            sqlite_where=text("order_id IS NOT NULL"),
            postgresql_where=text("order_id IS NOT NULL"),
        ),
        Index(
            "uq_conversations_lead_client",
            "client_id",
            unique=True,
            sqlite_where=text("kind = 'lead'"),
            postgresql_where=text("kind = 'lead'"),
        ),
        Index(
            "uq_conversations_application_executor",
            "executor_id",
            unique=True,
            sqlite_where=text("kind = 'application'"),
            postgresql_where=text("kind = 'application'"),
        ),
        # The inbox: newest activity first, keyset-paged on (last_message_at, id).
        Index("ix_conversations_last_message_at_id", "last_message_at", "id"),
    )


message_files = Table(
    "message_files",
    Base.metadata,
    Column("message_id", ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("file_id", ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
)


# Defined outside Message, whose `text` column hides sqlalchemy's text() in the class body.
_INBOUND = text("direction = 'in'")


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[Direction] = mapped_column(enum_column(Direction, "direction"))
    channel: Mapped[str | None] = mapped_column(String(32))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="SET NULL"), index=True
    )
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL")
    )
    author_executor_id: Mapped[int | None] = mapped_column(
        ForeignKey("executors.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(255))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    forwarded_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    delivery_status: Mapped[DeliveryStatus | None] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status")
    )
    delivery_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    files: Mapped[list[StoredFile]] = relationship(secondary=message_files, lazy="selectin")

    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_channel_external_id", "channel", "external_id"),
        # The inbox's channel icon and unread counts read a conversation's inbound messages.
        Index(
            "ix_messages_inbound",
            "conversation_id",
            "id",
            sqlite_where=_INBOUND,
            postgresql_where=_INBOUND,
        ),
        # Panel search by any part of a message's text (ILIKE '%word%').
        postgresql_only(
            Index(
                "ix_messages_text_trgm",
                "text",
                postgresql_using="gin",
                postgresql_ops={"text": "gin_trgm_ops"},
            )
        ),
    )


class ReadMarker(Base):
    """How far a staff user has read a conversation (unread marks in the inbox)."""

    __tablename__ = "read_markers"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_message_id: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboundEvent(Base):
    """Every inbound event as received, stored before processing: a provider's retry of
    the same event is a no-op, and an event stored but not processed is processed again at
    start-up."""

    __tablename__ = "inbound_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        Index(
            "ix_inbound_events_unprocessed",
            "id",
            sqlite_where=text("processed_at IS NULL"),
            postgresql_where=text("processed_at IS NULL"),
        ),
    )


class OutboxItem(Base):
    """A message waiting to leave, written in the same transaction as its cause."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the panel's "Retry" put a failed item back: the dispatcher gives up on an item
    # that keeps failing this long after it was queued, or requeued (inbox/dispatcher.py).
    requeued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        # Per-chat order: the dispatcher sends a chat's oldest pending item first.
        Index("ix_outbox_channel_chat_id_id", "channel", "chat_id", "id"),
        # The order card shows a failed message's attempts and last error.
        Index("ix_outbox_message_id", "message_id"),
    )


class ThreadRef(Base):
    """A message we sent, by the channel's id: a reply to it goes to its conversation."""

    __tablename__ = "thread_refs"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str] = mapped_column(String(255))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "chat_id", "external_id"),)


class DialogState(Base):
    """Where an identity is in a dialog flow (wizard step and answers so far)."""

    __tablename__ = "dialog_states"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class MailboxState(Base):
    """How far the e-mail listener has read a mailbox (bots/email/listener.py): every UID up
    to `last_uid` was taken, as long as the server's UIDVALIDITY is still `uid_validity`."""

    __tablename__ = "mailbox_states"

    mailbox: Mapped[str] = mapped_column(String(255), primary_key=True)  # user@host/folder
    uid_validity: Mapped[int] = mapped_column(BigInteger)  # 32-bit unsigned on the wire
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
