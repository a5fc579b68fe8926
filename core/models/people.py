"""People: staff users, clients, executors (with skills and supplier companies) and the
channel identities through which any of them reaches us."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, UTCDateTime, postgresql_only, utcnow


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Enums are stored as their string values in a VARCHAR with a CHECK constraint, which
    migrates the same way on SQLite and PostgreSQL (no native PG enum types to alter)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class StaffRole(enum.StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    OPERATOR = "operator"


class ExecutorStatus(enum.StrEnum):
    APPLICANT = "applicant"
    ACTIVE = "active"
    PAUSED = "paused"
    BLOCKED = "blocked"


class ExecutorKind(enum.StrEnum):
    PERSON = "person"
    COMPANY = "company"


class User(Base):
    """A staff member who logs into the panel."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole, "staff_role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Client(Base):
    """Someone who orders. A lead is a client without orders yet."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    company: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(8))
    # The responsible manager who follows the client from the first order on (seed 003).
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    manager: Mapped[User | None] = relationship()

    __table_args__ = (
        # Panel search and the operator's quick search by any part of a name.
        postgresql_only(
            Index(
                "ix_clients_name_trgm",
                "name",
                postgresql_using="gin",
                postgresql_ops={"name": "gin_trgm_ops"},
            )
        ),
        # The inbox search by company name (migration 0011).
        postgresql_only(
            Index(
                "ix_clients_company_trgm",
                "company",
                postgresql_using="gin",
                postgresql_ops={"company": "gin_trgm_ops"},
            )
        ),
    )


class Skill(Base):
    """A discipline or capability that jobs require and executors declare."""

    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


executor_skills = Table(
    "executor_skills",
    Base.metadata,
    Column("executor_id", ForeignKey("executors.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_id", ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_executor_skills_skill_id", "skill_id"),
)


class Executor(Base):
    """Who does the work: a freelance author, an outsourced print shop, a supplier company
    (whose dispatcher hands jobs to its drivers) or a driver of such a company."""

    __tablename__ = "executors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ExecutorKind] = mapped_column(
        enum_column(ExecutorKind, "executor_kind"), default=ExecutorKind.PERSON
    )
    status: Mapped[ExecutorStatus] = mapped_column(
        enum_column(ExecutorStatus, "executor_status"), default=ExecutorStatus.APPLICANT
    )
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    experience: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(8))
    # How many jobs at once; the feed stops offering jobs beyond it.
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    # Rating: sum and count of 1..5 scores, plus reliability points for takes/refusals.
    rating_total: Mapped[int] = mapped_column(Integer, default=0)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    reliability: Mapped[int] = mapped_column(Integer, default=0)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("executors.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    skills: Mapped[list[Skill]] = relationship(secondary=executor_skills, lazy="selectin")
    parent: Mapped[Executor | None] = relationship(remote_side="Executor.id")

    __table_args__ = (
        CheckConstraint("capacity >= 0", name="capacity_non_negative"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        Index("ix_executors_status", "status"),
    )

    @property
    def rating(self) -> float | None:
        return self.rating_total / self.rating_count if self.rating_count else None


class ChannelIdentity(Base):
    """One address of a person on one channel (a Telegram user, an e-mail address, ...).

    At most one of client / executor / user owns it; none means an unknown sender."""

    __tablename__ = "channel_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    chat_id: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(200))
    client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    executor_id: Mapped[int | None] = mapped_column(
        ForeignKey("executors.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    phone_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        CheckConstraint(
            "(CASE WHEN client_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN executor_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) <= 1",
            name="one_owner",
        ),
    )
