"""What the executor card shows, read in one go: the person, their skills, the application
(answers and sample files), their channels, conversations and jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.exchange import ACTIVE_JOB_STATUSES
from core.models import (
    ChannelIdentity,
    Executor,
    ExecutorStatus,
    FilePurpose,
    Order,
    Skill,
    StoredFile,
)
from inbox.models import Conversation, ConversationKind, Direction, Message
from webapp.queries import OrderRow, order_rows
from webapp.queries.visibility import conversation_visible, order_visible, with_context

MAX_JOBS = 100


@dataclass(frozen=True, slots=True)
class Identity:
    channel: str
    display_name: str | None
    address: str | None  # phone / e-mail the channel verified, if any
    reachable: bool
    unreachable_reason: str | None
    last_seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class ConversationLink:
    conversation_id: int
    kind: ConversationKind
    order_number: int | None
    last_message_at: datetime | None


@dataclass(frozen=True, slots=True)
class SampleFile:
    file_id: int
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class ExecutorCard:
    executor_id: int
    name: str
    status: ExecutorStatus
    kind: str
    phone: str | None
    email: str | None
    experience: str | None
    notes: str | None
    capacity: int
    rating: float | None
    rating_count: int
    reliability: int
    company_name: str | None
    created_at: datetime
    approved_at: datetime | None
    skills: list[tuple[int, str]]
    all_skills: list[tuple[int, str]]
    application_texts: list[str]  # what the applicant sent, oldest first
    application_conversation_id: int | None
    samples: list[SampleFile]
    identities: list[Identity]
    conversations: list[ConversationLink]
    jobs: list[OrderRow]  # newest first
    active_jobs: int


async def executor_card(
    session: AsyncSession, executor_id: int, *, only_assigned_to: int | None = None
) -> ExecutorCard | None:
    """The executor's card. For a restricted manager (`only_assigned_to`) the jobs and
    conversations listed are only their own or nobody's (webapp/queries/visibility.py); the
    count of active jobs stays the executor's whole workload, which assigning work needs."""
    executor = await session.get(Executor, executor_id)
    if executor is None:
        return None
    company = await session.get(Executor, executor.parent_id) if executor.parent_id else None
    conversations = await _conversations(session, executor_id, only_assigned_to)
    application = next((c for c in conversations if c.kind is ConversationKind.APPLICATION), None)
    job_ids = list(
        await session.scalars(
            select(Order.id)
            .where(Order.executor_id == executor_id, order_visible(only_assigned_to))
            .order_by(Order.created_at.desc(), Order.id.desc())
            .limit(MAX_JOBS)
        )
    )
    active = await session.scalar(
        select(func.count(Order.id)).where(
            Order.executor_id == executor_id, Order.status.in_(ACTIVE_JOB_STATUSES)
        )
    )
    all_skills = await session.execute(select(Skill.id, Skill.name).order_by(Skill.name))
    return ExecutorCard(
        executor_id=executor.id,
        name=executor.name,
        status=executor.status,
        kind=executor.kind.value,
        phone=executor.phone,
        email=executor.email,
        experience=executor.experience,
        notes=executor.notes,
        capacity=executor.capacity,
        rating=executor.rating,
        rating_count=executor.rating_count,
        reliability=executor.reliability,
        company_name=company.name if company else None,
        created_at=executor.created_at,
        approved_at=executor.approved_at,
        skills=sorted(((s.id, s.name) for s in executor.skills), key=lambda s: s[1]),
        all_skills=[(row.id, row.name) for row in all_skills],
        application_texts=await _application_texts(session, application),
        application_conversation_id=application.conversation_id if application else None,
        samples=await _samples(session, executor_id),
        identities=await _identities(session, executor_id),
        conversations=conversations,
        jobs=await order_rows(session, job_ids),
        active_jobs=int(active or 0),
    )


async def _conversations(
    session: AsyncSession, executor_id: int, only_assigned_to: int | None
) -> list[ConversationLink]:
    rows = await session.execute(
        with_context(
            select(Conversation.id, Conversation.kind, Order.number, Conversation.last_message_at)
        )
        .where(Conversation.executor_id == executor_id, conversation_visible(only_assigned_to))
        .order_by(
            Conversation.last_message_at.is_(None),
            Conversation.last_message_at.desc(),
            Conversation.id.desc(),
        )
    )
    return [ConversationLink(*row) for row in rows]


async def _application_texts(
    session: AsyncSession, application: ConversationLink | None
) -> list[str]:
    if application is None:
        return []
    texts = await session.scalars(
        select(Message.text)
        .where(
            Message.conversation_id == application.conversation_id,
            Message.direction == Direction.IN,
        )
        .order_by(Message.id)
        .limit(20)
    )
    return [text for text in texts if text]


async def _samples(session: AsyncSession, executor_id: int) -> list[SampleFile]:
    rows = await session.execute(
        select(StoredFile.id, StoredFile.original_name, StoredFile.size)
        .where(StoredFile.executor_id == executor_id, StoredFile.purpose == FilePurpose.SAMPLE)
        .order_by(StoredFile.id)
    )
    return [SampleFile(*row) for row in rows]


async def _identities(session: AsyncSession, executor_id: int) -> list[Identity]:
    rows = await session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.executor_id == executor_id)
        .order_by(ChannelIdentity.id)
    )
    return [
        Identity(
            channel=row.channel,
            display_name=row.display_name,
            address=row.phone or row.email,
            reachable=row.reachable,
            unreachable_reason=row.unreachable_reason,
            last_seen_at=row.last_seen_at,
        )
        for row in rows
    ]
