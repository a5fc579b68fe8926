"""Small records: stored file metadata, key/value settings, named counters and the
worker's heartbeat."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime, utcnow
from core.models.people import enum_column


class FilePurpose(enum.StrEnum):
    MATERIAL = "material"  # what the client sent with the order
    RESULT = "result"  # the executor's work
    REVISION = "revision"  # a revised result
    SAMPLE = "sample"  # an executor applicant's sample work
    ATTACHMENT = "attachment"  # anything attached to a message
    DOCUMENT = "document"  # a printable form we generated (work order, act)


class StoredFile(Base):
    """One upload: its name, purpose and owner. The bytes live in the file store under
    `storage_key`; identical content is stored once, so several rows may share a key."""

    __tablename__ = "files"

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(255), index=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[FilePurpose] = mapped_column(enum_column(FilePurpose, "file_purpose"))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    executor_id: Mapped[int | None] = mapped_column(ForeignKey("executors.id", ondelete="SET NULL"))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_files_order_id_purpose", "order_id", "purpose"),)


class Setting(Base):
    """Business settings editable in the panel (digest time, default prepayment, ...)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class WorkerHeartbeat(Base):
    """When a worker last proved it was alive (runtime/worker.py); /healthz and `pult check`
    read it. One row per name; every worker of an installation beats as "worker"."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Counter(Base):
    """Named monotonic counters (human order numbers), bumped with UPDATE ... RETURNING."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
