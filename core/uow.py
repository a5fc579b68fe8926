"""Unit of work: one session, one transaction; reactions to the recorded domain events run
just before commit (their writes commit with the cause); events leave only after commit."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.events import EventPublisher, ReactingPublisher, discard_pending, take_pending


class UnitOfWork:
    """`async with UnitOfWork(sessions, publisher) as uow: ...; await uow.commit()`.

    Leaving the block without commit rolls back and drops the recorded events."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], publisher: EventPublisher
    ) -> None:
        self._sessions = sessions
        self._publisher = publisher
        self._session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its 'async with' block")
        return self._session

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessions()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            discard_pending(session)
            await session.close()
            self._session = None

    async def commit(self) -> None:
        session = self.session
        if isinstance(self._publisher, ReactingPublisher):
            await self._publisher.react(session)
        await session.commit()
        events = take_pending(session)
        if events:
            await self._publisher.publish(events)

    async def rollback(self) -> None:
        await self.session.rollback()
        discard_pending(self.session)
