"""Reactions run inside the transaction before commit: what they write commits with the
cause, events they record get their own reactions, a rollback takes it all back."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import utcnow
from core.events import DomainEvent, LocalPublisher, record
from core.models import Setting
from core.uow import UnitOfWork


@dataclass(frozen=True, slots=True, kw_only=True)
class Pinged(DomainEvent):
    depth: int


async def _settings(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return sorted(
            await session.scalars(select(Setting.key).where(Setting.key.like("reacted.%")))
        )


def _publisher(seen: list[DomainEvent], *, chain_until: int) -> LocalPublisher:
    publisher = LocalPublisher()

    async def write_and_chain(session: AsyncSession, event: DomainEvent) -> None:
        assert isinstance(event, Pinged)
        session.add(Setting(key=f"reacted.{event.depth}", value=event.depth, updated_at=utcnow()))
        if event.depth < chain_until:
            record(session, Pinged(depth=event.depth + 1))

    async def keep(event: DomainEvent) -> None:
        seen.append(event)

    publisher.add_reaction(write_and_chain)
    publisher.subscribe(keep)
    return publisher


async def test_reaction_writes_commit_with_the_cause_and_chained_events_react_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[DomainEvent] = []
    async with UnitOfWork(sessions, _publisher(seen, chain_until=3)) as uow:
        record(uow.session, Pinged(depth=1))
        await uow.commit()
    assert await _settings(sessions) == ["reacted.1", "reacted.2", "reacted.3"]
    assert [e.depth for e in seen if isinstance(e, Pinged)] == [1, 2, 3]


async def test_a_rolled_back_unit_leaves_no_reaction_behind(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    seen: list[DomainEvent] = []
    async with UnitOfWork(sessions, _publisher(seen, chain_until=1)) as uow:
        record(uow.session, Pinged(depth=1))
        await uow.rollback()
    assert await _settings(sessions) == []
    assert seen == []


async def test_a_loop_of_reactions_is_refused(sessions: async_sessionmaker[AsyncSession]) -> None:
    seen: list[DomainEvent] = []
    async with UnitOfWork(sessions, _publisher(seen, chain_until=1000)) as uow:
        record(uow.session, Pinged(depth=1))
        with pytest.raises(RuntimeError, match="loop"):
            await uow.commit()
    assert await _settings(sessions) == []
