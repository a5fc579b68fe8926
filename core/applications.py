"""An executor's standing: a manager approves or rejects an application, and an active
executor pauses and resumes their job feed.

Rejection blocks the executor (status `blocked`): the status list stays as it is, and a
blocked person can neither apply again from the same chat nor take jobs; a manager who
changes their mind unblocks them in the panel. The manager's reason is appended to the
executor's notes (the panel shows them) and travels in the `ExecutorRejected` event.
Nothing is sent from here: the notice to the person is a reaction to the event."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.events import ExecutorApproved, ExecutorRejected, record
from core.lifecycle import STAFF
from core.models import Executor, ExecutorStatus
from core.transitions import Actor


class ApplicationError(Exception):
    """The decision cannot be taken; `reason` is a stable code the panel translates."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


async def approve_application(session: AsyncSession, executor: Executor, actor: Actor) -> None:
    """The applicant becomes an active executor: matching jobs come to them from now on."""
    _check(executor, actor)
    executor.status = ExecutorStatus.ACTIVE
    executor.approved_at = utcnow()
    await session.flush()
    record(session, ExecutorApproved(executor_id=executor.id, by_user_id=actor.user_id))


async def reject_application(
    session: AsyncSession, executor: Executor, actor: Actor, reason: str = ""
) -> None:
    """The application is turned down: the executor is blocked, the reason kept."""
    _check(executor, actor)
    executor.status = ExecutorStatus.BLOCKED
    reason = reason.strip()
    if reason:
        executor.notes = f"{executor.notes}\n{reason}" if executor.notes else reason
    await session.flush()
    record(
        session,
        ExecutorRejected(executor_id=executor.id, reason=reason, by_user_id=actor.user_id),
    )


def _check(executor: Executor, actor: Actor) -> None:
    if actor.role not in STAFF:
        raise ApplicationError("role_not_allowed", f"{actor.role} may not decide applications")
    if executor.status is not ExecutorStatus.APPLICANT:
        raise ApplicationError("not_an_applicant", f"executor {executor.id} is {executor.status}")


def pause_feed(executor: Executor) -> bool:
    """Stop offering jobs to an active executor; False if they were not active."""
    if executor.status is not ExecutorStatus.ACTIVE:
        return False
    executor.status = ExecutorStatus.PAUSED
    return True


def resume_feed(executor: Executor) -> bool:
    """Offer jobs again to a paused executor; False if they were not paused."""
    if executor.status is not ExecutorStatus.PAUSED:
        return False
    executor.status = ExecutorStatus.ACTIVE
    return True


def block_executor(executor: Executor) -> bool:
    """Stop all work with an executor: no feed, no takes, no bids, no assignment (every
    one of those checks for `active`). False if they were blocked already."""
    if executor.status is ExecutorStatus.BLOCKED:
        return False
    executor.status = ExecutorStatus.BLOCKED
    return True


def unblock_executor(executor: Executor) -> bool:
    """Undo a block: someone who was approved before works again; a rejected applicant's
    application waits for a decision again. False if they were not blocked."""
    if executor.status is not ExecutorStatus.BLOCKED:
        return False
    executor.status = (
        ExecutorStatus.ACTIVE if executor.approved_at is not None else ExecutorStatus.APPLICANT
    )
    return True
