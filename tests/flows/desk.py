"""The desk's side in flow tests: a unit of work that commits through the publisher with
the bots' reactions, as the panel's actions will."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.events import LocalPublisher
from core.uow import UnitOfWork


@asynccontextmanager
async def unit(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher
) -> AsyncIterator[AsyncSession]:
    """A unit of work whose commit runs the reactions, as the panel's actions will."""
    async with UnitOfWork(sessions, publisher) as uow:
        yield uow.session
        await uow.commit()
