"""Small builders for test data: real rows through the real models, no mocks."""

from __future__ import annotations

import itertools

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import (
    Client,
    Executor,
    ExecutorKind,
    ExecutorStatus,
    OrderKind,
    StaffRole,
    User,
)

_staff_numbers = itertools.count(1)


async def kind(session: AsyncSession, code: str) -> OrderKind:
    return (await session.execute(select(OrderKind).where(OrderKind.code == code))).scalar_one()


async def client(session: AsyncSession, name: str = "Анна Смирнова") -> Client:
    row = Client(name=name, phone="+79161234567")
    session.add(row)
    await session.flush()
    return row


async def executor(
    session: AsyncSession,
    name: str = "Автор",
    *,
    status: ExecutorStatus = ExecutorStatus.ACTIVE,
    capacity: int = 3,
    parent: Executor | None = None,
    kind: ExecutorKind = ExecutorKind.PERSON,
) -> Executor:
    row = Executor(
        name=name,
        status=status,
        capacity=capacity,
        kind=kind,
        parent_id=parent.id if parent else None,
    )
    session.add(row)
    await session.flush()
    return row


async def staff(
    session: AsyncSession, role: StaffRole = StaffRole.MANAGER, email: str | None = None
) -> User:
    email = email or f"{role.value}{next(_staff_numbers)}@example.com"
    row = User(email=email, name=role.value.title(), role=role, password_hash="x")
    session.add(row)
    await session.flush()
    return row
