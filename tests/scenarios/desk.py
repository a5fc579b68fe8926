"""The desk in the scenario stories: a manager (or an operator) at the panel, which comes
later. `async with desk.work() as (session, me):` runs core functions as that staff member
in one unit of work, committed at the end of the block, so the bots react as they will to
the panel's clicks; the other methods read what the panel will show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.models import Bid, BidStatus, ChannelIdentity, Order, Skill, StaffRole, StoredFile, User
from core.transitions import Actor
from inbox.conversations import lead_conversation
from inbox.models import DialogState, Message, OutboxItem
from inbox.replies import reply
from runtime.bootstrap import Container
from tests.scenarios.people import TelegramPerson


class Desk:
    def __init__(self, container: Container, user: User) -> None:
        self.container = container
        self.user_id = user.id
        self.actor = Actor.staff(user)

    @classmethod
    async def open(
        cls, container: Container, name: str, email: str, role: StaffRole = StaffRole.MANAGER
    ) -> Desk:
        """A staff account (an owner makes it in the panel) signed in at the desk."""
        async with container.uow() as uow:
            user = User(email=email, name=name, role=role, password_hash="x")
            uow.session.add(user)
            await uow.session.flush()
            await uow.commit()
            return cls(container, user)

    @asynccontextmanager
    async def work(self) -> AsyncIterator[tuple[AsyncSession, Actor]]:
        async with self.container.uow() as uow:
            yield uow.session, self.actor
            await uow.commit()

    async def add_skills(self, *names: str) -> None:
        async with self.work() as (session, _):
            session.add_all([Skill(name=name) for name in names])

    async def write_to_lead(self, someone: TelegramPerson, text: str) -> None:
        """A reply in the person's lead conversation (raises NoRoute when unreachable)."""
        async with self.work() as (session, _):
            client_id = await _client_id(session, someone)
            lead = await lead_conversation(session, client_id)
            await reply(session, lead, text, author_user_id=self.user_id)

    # --- what the panel shows ------------------------------------------------------------

    async def order(self, number: int) -> Order:
        async with self.container.sessions() as session:
            return await order_numbered(session, number)

    async def bids(self, number: int) -> list[Bid]:
        """The offers made for the job (each with its executor), oldest first."""
        async with self.container.sessions() as session:
            order = await order_numbered(session, number)
            return await bids_for(session, order.id)

    async def identity(self, someone: TelegramPerson) -> ChannelIdentity | None:
        async with self.container.sessions() as session:
            return await _identity(session, someone)

    async def dialog_state(self, someone: TelegramPerson) -> DialogState | None:
        """Where the person is in a flow (None: in none)."""
        async with self.container.sessions() as session:
            found: DialogState | None = await session.scalar(
                select(DialogState)
                .join(ChannelIdentity, ChannelIdentity.id == DialogState.identity_id)
                .where(ChannelIdentity.external_id == str(someone.chat_id))
            )
            return found

    async def outbox(self, someone: TelegramPerson | None = None) -> list[OutboxItem]:
        """Everything queued for the person (or for anyone), oldest first."""
        query = select(OutboxItem).order_by(OutboxItem.id)
        if someone is not None:
            query = query.where(OutboxItem.chat_id == str(someone.chat_id))
        async with self.container.sessions() as session:
            return list(await session.scalars(query))

    async def lead_thread(self, someone: TelegramPerson) -> list[Message]:
        async with self.container.sessions() as session:
            lead = await lead_conversation(session, await _client_id(session, someone))
            found = await session.scalars(
                select(Message).where(Message.conversation_id == lead.id).order_by(Message.id)
            )
            return list(found)

    async def file_bytes(self, stored: StoredFile) -> bytes:
        return b"".join([chunk async for chunk in self.container.files.open(stored.storage_key)])


async def order_numbered(session: AsyncSession, number: int) -> Order:
    found = await session.scalar(select(Order).where(Order.number == number))
    assert found is not None, f"no order №{number}"
    return found


async def bids_for(session: AsyncSession, order_id: int) -> list[Bid]:
    """The order's bids that were not replaced by a later one, with their executors."""
    found = await session.scalars(
        select(Bid)
        .where(Bid.order_id == order_id, Bid.status != BidStatus.WITHDRAWN)
        .options(selectinload(Bid.executor))
        .order_by(Bid.id)
    )
    return list(found)


async def _identity(session: AsyncSession, someone: TelegramPerson) -> ChannelIdentity | None:
    found: ChannelIdentity | None = await session.scalar(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == "telegram",
            ChannelIdentity.external_id == str(someone.chat_id),
        )
    )
    return found


async def _client_id(session: AsyncSession, someone: TelegramPerson) -> int:
    identity = await _identity(session, someone)
    assert identity is not None and identity.client_id is not None, f"{someone} is no client"
    return identity.client_id
