"""The order card (webapp/queries/card.py, threads.py) on SQLite and PostgreSQL: people,
threads by kind with authors, files by purpose, bids, payments and ledger lines, history,
"load older", and why an outgoing message failed (from the real dispatcher)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import exchange, orders, payments
from core.events import LocalPublisher
from core.models import BidStatus, FilePurpose, PaymentMethod, StoredFile
from core.transitions import Actor
from inbox.channel import BLOCKED_BY_USER, ChannelRegistry, PermanentError
from inbox.conversations import order_thread
from inbox.dispatcher import Dispatcher
from inbox.models import ConversationKind, DeliveryStatus, Direction, OutboxStatus
from inbox.replies import reply
from tests import builders
from tests.fakes.loopback import LoopbackChannel
from tests.integration import panel_scene as scene
from webapp.queries import order_card, thread_messages


async def _busy_order(session: AsyncSession) -> tuple[int, dict[str, int]]:
    """A paid paper order with bids, an executor, files and messages in every thread."""
    maria = await builders.staff(session)
    maria.name = "Мария"
    anna = await scene.client(session, "Анна", phone="+79120000000", channel="loopback")
    order = await scene.order(session, anna, maria, title="Курсовая")
    manager = Actor.staff(maria)
    await orders.quote_order(session, order, manager, 1_000_000)
    await orders.accept_quote(session, order, manager)
    await payments.record_payment(
        session, order, 500_000, PaymentMethod.CASH, provider="manual", recorded_by=maria.id
    )
    await exchange.publish_to_exchange(session, order, manager, fixed_price=None)
    author = await builders.executor(session, "Пётр Автор")
    other = await builders.executor(session, "Ольга")
    bid = await exchange.place_bid(session, order, author, 600_000, comment="За неделю")
    await exchange.place_bid(session, order, other, 650_000)
    await exchange.assign_executor(session, order, manager, author, bid=bid)
    for purpose, name in (
        (FilePurpose.MATERIAL, "методичка.pdf"),
        (FilePurpose.RESULT, "курсовая.docx"),
    ):
        stored = StoredFile(
            storage_key=name,
            original_name=name,
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            purpose=purpose,
            order_id=order.id,
        )
        session.add(stored)
    client_thread = await scene.client_thread(session, order)
    ids = {"first": await scene.inbound(session, client_thread, "Первое")}
    ids["second"] = await scene.inbound(session, client_thread, "Второе")
    ids["reply"] = await scene.answer(session, client_thread, "Ответ менеджера", maria)
    executor_thread = await order_thread(session, order, ConversationKind.EXECUTOR)
    ids["executor"] = await scene.inbound(session, executor_thread, "Начал работу")
    notes = await order_thread(session, order, ConversationKind.NOTES)
    await reply(session, notes, "Заметка", author_user_id=maria.id)
    return order.id, ids


async def test_the_card_shows_everything_about_the_order(session: AsyncSession) -> None:
    order_id, _ids = await _busy_order(session)
    card = await order_card(session, order_id)
    assert card is not None
    assert (card.order.title, card.kind.code, card.client.name, card.client.phone) == (
        "Курсовая",
        "student_paper",
        "Анна",
        "+79120000000",
    )
    assert card.executor is not None and card.executor.name == "Пётр Автор"
    assert card.manager is not None and card.manager.name == "Мария"
    assert set(card.threads) == {
        ConversationKind.CLIENT,
        ConversationKind.EXECUTOR,
        ConversationKind.NOTES,
    }
    client = card.threads[ConversationKind.CLIENT]
    assert [(m.direction, m.author_kind, m.author_name, m.text) for m in client.messages] == [
        (Direction.IN, "client", "Анна", "Первое"),
        (Direction.IN, "client", "Анна", "Второе"),
        (Direction.OUT, "staff", "Мария", "Ответ менеджера"),
    ]
    assert client.messages[2].delivery_status is DeliveryStatus.QUEUED
    assert client.messages[2].failure is None  # queued, nothing went wrong yet
    executor = card.threads[ConversationKind.EXECUTOR].messages
    assert [(m.author_kind, m.author_name) for m in executor] == [("executor", "Пётр Автор")]
    assert [m.text for m in card.threads[ConversationKind.NOTES].messages] == ["Заметка"]
    assert {p: [f.name for f in files] for p, files in card.files.items()} == {
        FilePurpose.MATERIAL: ["методичка.pdf"],
        FilePurpose.RESULT: ["курсовая.docx"],
    }
    assert [(b.executor_name, b.price, b.status) for b in card.bids] == [
        ("Пётр Автор", 600_000, BidStatus.WON),
        ("Ольга", 650_000, BidStatus.LOST),
    ]
    (paid,) = card.payments
    assert (paid.amount, paid.method, paid.recorded_by_name) == (
        500_000,
        PaymentMethod.CASH,
        "Мария",
    )
    assert [(line.operation, line.amount) for line in card.ledger] == [("hold_prepayment", 500_000)]
    assert card.money.held == 500_000
    actions = [entry.action for entry in card.history]
    assert actions[:3] == ["create", "quote", "accept_quote"] and "assign" in actions
    assert card.history[1].actor_name == "Мария"
    assert await order_card(session, 10**9) is None


async def test_older_messages_load_page_by_page(session: AsyncSession) -> None:
    order_id, ids = await _busy_order(session)
    card = await order_card(session, order_id, messages_per_thread=2)
    assert card is not None
    client = card.threads[ConversationKind.CLIENT]
    assert [m.message_id for m in client.messages] == [ids["second"], ids["reply"]]
    assert client.older_cursor == ids["second"]
    older = await thread_messages(
        session, client.conversation_id, before_id=client.older_cursor, limit=2
    )
    assert older is not None
    assert ([m.message_id for m in older.messages], older.older_cursor) == ([ids["first"]], None)


async def test_a_failed_delivery_shows_its_reason_and_attempts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        order_id, ids = await _busy_order(session)
        await session.commit()
    channel = LoopbackChannel()
    channel.fail_next(PermanentError(BLOCKED_BY_USER, "Forbidden: bot was blocked by the user"))
    await Dispatcher(sessions, LocalPublisher(), ChannelRegistry([channel])).run_once()
    async with sessions() as session:
        card = await order_card(session, order_id)
    assert card is not None
    messages = card.threads[ConversationKind.CLIENT].messages
    (failed,) = [m for m in messages if m.message_id == ids["reply"]]
    assert (failed.delivery_status, failed.delivery_error) == (
        DeliveryStatus.FAILED,
        BLOCKED_BY_USER,
    )
    assert failed.failure is not None
    assert (failed.failure.status, failed.failure.last_error, failed.failure.attempts) == (
        OutboxStatus.FAILED,
        BLOCKED_BY_USER,
        0,
    )
    # The dispatcher's note to the manager is a system message in the same thread.
    assert messages[-1].author_kind == "system" and messages[-1].direction is Direction.SYSTEM
