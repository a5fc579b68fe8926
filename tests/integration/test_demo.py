"""`pult demo` fills an empty database with data the panel can show: every order status,
every kind, balanced money; and it refuses to write over real work."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import ledger
from core.db import utcnow
from core.kinds import BUILTIN_KINDS
from core.models import (
    AccountKind,
    ChannelIdentity,
    Executor,
    ExecutorKind,
    LedgerEntry,
    LedgerTransaction,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    PaymentMethod,
)
from inbox.conversations import order_thread
from inbox.models import Conversation, ConversationKind, Direction, InboundEvent, Message
from inbox.replies import route
from runtime.bootstrap import Container, bootstrap
from runtime.demo import DemoRefused, fill_demo
from runtime.settings import load_settings


@pytest.fixture
async def container(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    environ = {"PULT_DATABASE_URL": database_url, "PULT_DATA_DIR": str(tmp_path / "var")}
    container = await bootstrap(load_settings(environ, env_file=None))
    yield container
    await container.close()


async def test_demo_covers_every_status_and_kind_with_balanced_money(container: Container) -> None:
    summary = await fill_demo(container)
    assert "manager@pult.local" in summary
    assert "Демо-данные созданы" in summary
    async with container.sessions() as session:
        statuses = set((await session.scalars(select(Order.status))).all())
        kinds = set((await session.scalars(select(Order.kind_id))).all())
        orders_count = await session.scalar(select(func.count(Order.id)))
        audited = await session.scalar(select(func.count(func.distinct(OrderEvent.order_id))))
        entries_sum = await session.scalar(select(func.sum(LedgerEntry.amount)))
        unbalanced = await ledger.unbalanced_transaction_ids(session)
        payments = await session.scalar(select(func.count(Payment.id)))
        cash = await ledger.balance(session, AccountKind.CASH_DESK, "cash", "RUB")
        margin = await ledger.balance(session, AccountKind.REVENUE, "", "RUB")
    assert statuses == set(OrderStatus)
    assert len(kinds) == 3
    assert audited == orders_count
    assert (entries_sum, unbalanced) == (0, [])
    assert payments and payments > 10
    assert cash > 0
    assert margin > 0


async def test_demo_refuses_a_database_with_clients(container: Container) -> None:
    await fill_demo(container)
    with pytest.raises(DemoRefused):
        await fill_demo(container)


async def test_demo_conversations_fill_the_inbox_with_some_waiting_for_an_answer(
    container: Container,
) -> None:
    summary = await fill_demo(container)
    async with container.sessions() as session:
        conversations = list(await session.scalars(select(Conversation)))
        messages = list(await session.scalars(select(Message).order_by(Message.id)))
    kinds = {conversation.kind for conversation in conversations}
    waiting = [
        c for c in conversations
        if c.last_inbound_at and (not c.last_outbound_at or c.last_inbound_at > c.last_outbound_at)
    ]  # fmt: skip
    answered = [c for c in conversations if c.last_outbound_at and c not in waiting]

    assert "Сообщения" in summary
    assert {ConversationKind.CLIENT, ConversationKind.EXECUTOR, ConversationKind.LEAD} <= kinds
    assert waiting and answered
    # Backdated, oldest first, none in the future, and the conversations follow their messages.
    times = [message.created_at for message in messages]
    assert times == sorted(times) and times[-1] < utcnow()
    newest = {c.id: c.last_message_at for c in conversations}
    for message in messages:
        assert newest[message.conversation_id] >= message.created_at


async def test_demo_writes_only_what_users_can_do_in_russian_with_every_executor_reachable(
    container: Container,
) -> None:
    """The demo wrote gateway payments straight into the ledger, payouts and cash-desk
    entries no page can make, supplier companies, executors' replies authored by clients,
    and English titles ("Business cards")."""
    await fill_demo(container)
    async with container.sessions() as session:
        payments = list(await session.scalars(select(Payment)))
        operations = set(await session.scalars(select(LedgerTransaction.operation)))
        executors = list(await session.scalars(select(Executor)))
        reachable = set(
            await session.scalars(
                select(ChannelIdentity.executor_id).where(ChannelIdentity.reachable.is_(True))
            )
        )
        titles = list(await session.scalars(select(Order.title)))
        inbound = (
            await session.execute(
                select(Message, Conversation)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Message.direction == Direction.IN,
                    Conversation.kind != ConversationKind.APPLICATION,
                )
            )
        ).all()
        received = set(await session.scalars(select(InboundEvent.message_id)))

    assert payments and {(p.provider, p.method) for p in payments} <= {
        ("manual", method)
        for method in (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER)
    }
    assert all(p.recorded_by is not None for p in payments)
    assert operations <= {"top_up", "hold_prepayment", "charge", "accrue_executor", "release_hold"}
    assert {e.kind for e in executors} == {ExecutorKind.PERSON}
    assert all(e.parent_id is None and e.email for e in executors)
    assert {e.id for e in executors} <= reachable
    async with container.uow() as uow:  # a manager can forward on every job: it has a route
        jobs = list(await uow.session.scalars(select(Order).where(Order.executor_id.is_not(None))))
        for job in jobs:
            thread = await order_thread(uow.session, job, ConversationKind.EXECUTOR)
            assert (await route(uow.session, thread)).executor_id == job.executor_id
    english = {
        choice for spec in BUILTIN_KINDS for field in spec.fields for choice in field.choices
    }
    assert not [title for title in titles if any(word in title for word in english)]
    assert all(re.search("[а-яА-Я]", title) for title in titles)
    assert inbound
    for message, conversation in inbound:
        assert message.id in received  # it came through the Receiver
        if conversation.kind is ConversationKind.EXECUTOR:
            assert (message.author_executor_id, message.author_client_id) == (
                conversation.executor_id, None,
            )  # fmt: skip
        else:
            assert (message.author_client_id, message.author_executor_id) == (
                conversation.client_id, None,
            )  # fmt: skip
