"""The executors' side through the real reactions on a real database: a published job goes
to the active executors whose skills match and who have room, and to nobody else; when it
is taken or assigned, the cards lose their buttons, the other bidders are told and a
manager's pick hears "the job is yours"; results returned or accepted are told with the
manager's words; applicants hear the decision on their application."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core import applications, exchange, orders
from core.db import utcnow
from core.events import LocalPublisher
from core.models import (
    Bid,
    ChannelIdentity,
    Executor,
    ExecutorStatus,
    Order,
    OrderStatus,
    Skill,
    executor_skills,
)
from core.transitions import Actor
from inbox.channel import ChannelRegistry, Outgoing
from inbox.models import OutboxItem, OutboxStatus
from inbox.outbox import CONFIGURED_CHANNELS
from inbox.receive import Receiver
from runtime.database import session_factory
from tests import builders
from tests.chat import Chat, texts
from tests.flows.desk import unit

NBSP = "\u00a0"


async def _executor(
    session: AsyncSession,
    chat: str,
    skills: list[str],
    *,
    status: ExecutorStatus = ExecutorStatus.ACTIVE,
    capacity: int = 3,
    reachable: bool = True,
    parent: Executor | None = None,
) -> Executor:
    """An executor with skills who talks to the bot on Telegram as `chat`."""
    known = {s.name: s for s in await session.scalars(select(Skill))}
    for name in skills:
        if name not in known:
            known[name] = Skill(name=name)
            session.add(known[name])
    person = await builders.executor(
        session, f"Исполнитель {chat}", status=status, capacity=capacity, parent=parent
    )
    await session.flush()
    if skills:
        rows = [{"executor_id": person.id, "skill_id": known[name].id} for name in skills]
        await session.execute(executor_skills.insert(), rows)
    session.add(
        ChannelIdentity(
            channel="telegram", external_id=chat, chat_id=chat, executor_id=person.id,
            locale="ru", reachable=reachable,
        )
    )  # fmt: skip
    await session.flush()
    return person


async def _paid_paper(session: AsyncSession, discipline: str = "Экономика") -> tuple[Order, Actor]:
    order, manager = await builders.paper_order(session)
    order.details = {"discipline": discipline, "topic": "Маркетинг", "pages": 30}
    await orders.quote_order(session, order, manager, 500_000)
    await orders.accept_quote(session, order, manager)
    await orders.mark_paid(session, order, manager)
    return order, manager


def _card_items(items: list[OutboxItem]) -> dict[str, OutboxItem]:
    return {item.chat_id: item for item in items if item.payload["extra"].get("card") == "job"}


async def _outbox(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxItem]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def _buttons(message: Outgoing) -> list[tuple[str, str | None]]:
    return [(b.label, b.payload) for row in message.buttons for b in row]


async def test_a_job_goes_to_active_matching_executors_with_room_and_nobody_else(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher, receiver: Receiver
) -> None:
    async with unit(sessions, publisher) as session:
        for chat in ("201", "202", "203"):
            await _executor(
                session, chat, ["Экономика", "Право"] if chat == "203" else ["Экономика"]
            )
        await _executor(session, "204", ["Право"])  # other skill
        await _executor(session, "205", ["Экономика"], status=ExecutorStatus.PAUSED)
        busy = await _executor(session, "206", ["Экономика"], capacity=1)
        await _executor(session, "207", ["Экономика"], reachable=False)
        company = await _executor(session, "208", ["Экономика"])
        await _executor(session, "209", ["Экономика"], parent=company)  # the company's driver
        await _executor(session, "210", ["Экономика"], status=ExecutorStatus.APPLICANT)
        other, manager = await _paid_paper(session, "Право")
        await exchange.assign_executor(session, other, manager, busy, price=100_000)
        order, manager = await _paid_paper(session)
        await exchange.publish_to_exchange(session, order, manager, fixed_price=300_000)
        number, order_id = order.number, order.id
    cards = _card_items(await _outbox(sessions))
    assert sorted(cards) == ["201", "202", "203", "208"]
    card = (await Chat(sessions, receiver, "201").replies())[0]
    assert card.html is not None and card.html.startswith(f"<b>Новое задание №{number}</b>")
    assert f"Фиксированная цена: 3{NBSP}000{NBSP}₽" in card.html
    assert card.order_id == order_id and card.conversation_id is None
    assert _buttons(card) == [
        ("Взять", f"job:take:{order_id}"),
        ("Пропустить", f"job:skip:{order_id}"),
    ]


async def test_a_kind_without_a_skill_field_goes_to_every_active_executor(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher
) -> None:
    async with unit(sessions, publisher) as session:
        await _executor(session, "301", [])
        await _executor(session, "302", ["Экономика"])
        await _executor(session, "303", [], status=ExecutorStatus.BLOCKED)
        manager = Actor.staff(await builders.staff(session))
        buyer = await builders.client(session)
        trip = await orders.create_order(
            session, kind=await builders.kind(session, "trip"), client_id=buyer.id,
            actor=manager, details={"pickup": "Склад", "request_type": "Cargo transportation"},
        )  # fmt: skip
        await orders.quote_order(session, trip, manager, 1_000_000)
        await orders.accept_quote(session, trip, manager)
        await exchange.publish_to_exchange(session, trip, manager, fixed_price=None)
    cards = _card_items(await _outbox(sessions))
    assert sorted(cards) == ["301", "302"]
    assert [b["label"] for row in cards["301"].payload["buttons"] for b in row] == [
        "Предложить цену",
        "Пропустить",
    ]


async def test_a_managers_pick_is_told_the_other_bidders_too_and_the_cards_are_retired(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher, receiver: Receiver
) -> None:
    async with unit(sessions, publisher) as session:
        people = [await _executor(session, chat, ["Экономика"]) for chat in ("401", "402", "403")]
        await _executor(session, "404", ["Экономика"])
        order, manager = await _paid_paper(session)
        await exchange.publish_to_exchange(session, order, manager, fixed_price=None)
        ids = [p.id for p in people]
        number, order_id = order.number, order.id
    chats = {chat: Chat(sessions, receiver, chat) for chat in ("401", "402", "403", "404")}
    for chat in chats.values():
        await chat.replies()
    # The dispatcher delivered three cards; the fourth is still queued.
    async with sessions() as session:
        for item in _card_items(list(await session.scalars(select(OutboxItem)))).values():
            if item.chat_id != "404":
                item.status, item.external_id = OutboxStatus.SENT, f"m{item.chat_id}"
        await session.commit()
    async with unit(sessions, publisher) as session:
        order = await session.get(Order, order_id)
        assert order is not None
        bids = []
        for bidder_id in ids[:2]:
            bidder = await session.get(Executor, bidder_id)
            assert bidder is not None
            bids.append(await exchange.place_bid(session, order, bidder, 250_000))
    async with unit(sessions, publisher) as session:
        order = await session.get(Order, order_id)
        winner = await session.get(Executor, ids[0])
        bid = await session.get(Bid, bids[0].id)
        assert order is not None and winner is not None
        await exchange.assign_executor(session, order, manager, winner, bid=bid)
    yours = await chats["401"].replies()
    assert len(yours) == 1 and yours[0].html is not None
    assert yours[0].html.startswith(f"<b>Задание №{number} ваше</b>")
    assert f"Ваша цена: 2{NBSP}500{NBSP}₽" in yours[0].html and yours[0].conversation_id
    lost = await chats["402"].replies()
    assert texts(lost) == [
        f"Задание №{number} уже занято.",
        f"Задание №{number} отдано другому исполнителю. Спасибо за ваше предложение!",
    ]
    assert lost[0].extra == {"edit_message_id": "m402"} and lost[0].buttons == ()
    assert lost[1].extra == {} and lost[1].order_id is None
    watcher = await chats["403"].replies()
    assert [(m.text, m.extra) for m in watcher] == [
        (f"Задание №{number} уже занято.", {"edit_message_id": "m403"})
    ]
    queued = _card_items(await _outbox(sessions))["404"]
    assert (queued.status, queued.last_error) == (OutboxStatus.CANCELLED, "superseded")
    assert await chats["404"].replies() == []


async def test_an_executor_who_takes_a_job_is_left_to_the_flow_and_a_card_in_flight_is_kept(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher, receiver: Receiver
) -> None:
    async with unit(sessions, publisher) as session:
        taker = await _executor(session, "501", ["Экономика"])
        await _executor(session, "502", ["Экономика"])
        order, manager = await _paid_paper(session)
        await exchange.publish_to_exchange(session, order, manager, fixed_price=300_000)
        taker_id, order_id = taker.id, order.id
    taking, other = Chat(sessions, receiver, "501"), Chat(sessions, receiver, "502")
    await taking.replies(), await other.replies()
    async with sessions() as session:  # a dispatcher is sending the second card right now
        cards = _card_items(list(await session.scalars(select(OutboxItem))))
        cards["501"].status, cards["501"].external_id = OutboxStatus.SENT, "m501"
        cards["502"].claimed_until = utcnow() + timedelta(minutes=2)
        await session.commit()
    async with unit(sessions, publisher) as session:
        order = await session.get(Order, order_id)
        executor = await session.get(Executor, taker_id)
        assert order is not None and executor is not None
        await exchange.take_job(session, order, executor)
    assert await taking.replies() == []  # the Take button's flow answers the taker
    assert await other.replies() == []
    in_flight = _card_items(await _outbox(sessions))["502"]
    assert (in_flight.status, in_flight.last_error) == (OutboxStatus.PENDING, None)


async def test_a_withdrawn_job_takes_the_buttons_off_its_cards(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher, receiver: Receiver
) -> None:
    async with unit(sessions, publisher) as session:
        await _executor(session, "601", ["Экономика"])
        order, manager = await _paid_paper(session)
        await exchange.publish_to_exchange(session, order, manager, fixed_price=300_000)
        order_id, number = order.id, order.number
    reader = Chat(sessions, receiver, "601")
    await reader.replies()
    async with sessions() as session:
        card = _card_items(list(await session.scalars(select(OutboxItem))))["601"]
        card.status, card.external_id = OutboxStatus.SENT, "m601"
        await session.commit()
    async with unit(sessions, publisher) as session:
        order = await session.get(Order, order_id)
        assert order is not None
        await exchange.withdraw_from_exchange(session, order, manager)
    edit = await reader.replies()
    assert [(m.text, m.extra, m.buttons) for m in edit] == [
        (f"Задание №{number} больше не доступно.", {"edit_message_id": "m601"}, ())
    ]
    async with unit(sessions, publisher) as session:  # published again: a new card
        order = await session.get(Order, order_id)
        assert order is not None
        await exchange.publish_to_exchange(session, order, manager, fixed_price=300_000)
    again = await reader.replies()
    assert len(again) == 1 and again[0].extra == {"card": "job"}


async def test_the_executor_hears_a_return_with_the_comment_and_the_acceptance(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher, receiver: Receiver
) -> None:
    async with unit(sessions, publisher) as session:
        author = await _executor(session, "701", ["Экономика"])
        order, manager = await _paid_paper(session)
        await exchange.assign_executor(session, order, manager, author, price=300_000)
        worker = Actor.executor(author.id)
        await orders.start_work(session, order, worker)
        await orders.submit_result(session, order, worker)
        order_id, number = order.id, order.number
    chat = Chat(sessions, receiver, "701")
    assert len(await chat.replies()) == 1  # the job is yours (a manager's pick)
    async with unit(sessions, publisher) as session:
        order = await session.get(Order, order_id)
        assert order is not None
        await orders.return_for_revision(session, order, manager, "Добавьте выводы по главе 2")
        await orders.resume_work(session, order, worker)
        await orders.submit_result(session, order, worker)
    returned = await chat.replies()
    assert texts(returned) == [
        f"Задание №{number} возвращено на доработку. Комментарий менеджера: "
        "Добавьте выводы по главе 2"
    ]
    assert returned[0].order_id == order_id and returned[0].conversation_id is not None
    async with unit(sessions, publisher) as session:
        order = await session.get(Order, order_id)
        assert order is not None
        await orders.approve_result(session, order, manager)
        assert order.status is OrderStatus.READY
    assert texts(await chat.replies()) == [f"Задание №{number} принято. Спасибо за работу!"]


async def test_applicants_hear_the_decision(
    sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher, receiver: Receiver
) -> None:
    async with unit(sessions, publisher) as session:
        manager = Actor.staff(await builders.staff(session))
        good = await _executor(session, "801", ["Право"], status=ExecutorStatus.APPLICANT)
        bad = await _executor(session, "802", [], status=ExecutorStatus.APPLICANT)
        await _executor(session, "803", [], status=ExecutorStatus.APPLICANT, reachable=False)
        await applications.approve_application(session, good, manager)
        await applications.reject_application(session, bad, manager, "слабые образцы")
    assert texts(await Chat(sessions, receiver, "801").replies()) == [
        "Ваша заявка одобрена. Добро пожаловать! Задания по вашим навыкам будут приходить "
        "в этот чат."
    ]
    assert texts(await Chat(sessions, receiver, "802").replies()) == [
        "Спасибо за заявку. К сожалению, сейчас мы не можем предложить вам работу."
    ]
    async with unit(sessions, publisher) as session:
        silent = await session.scalar(select(Executor).where(Executor.name == "Исполнитель 803"))
        assert silent is not None
        await applications.approve_application(session, silent, manager)
    assert await Chat(sessions, receiver, "803").replies() == []


async def test_job_cards_for_a_channel_that_is_not_configured_fail_at_once_not_queued(
    engine: AsyncEngine, publisher: LocalPublisher
) -> None:
    # On a bare `make run` (no Telegram) the demo's executors are on Telegram: their cards
    # were queued and retried by the dispatcher before it gave up.
    sessions = session_factory(engine)
    sessions.configure(info={CONFIGURED_CHANNELS: ChannelRegistry()})
    async with unit(sessions, publisher) as session:
        await _executor(session, "301", ["Экономика"])
        order, manager = await _paid_paper(session)
        await exchange.publish_to_exchange(session, order, manager, fixed_price=300_000)
    (card,) = _card_items(await _outbox(sessions)).values()
    assert (card.status, card.last_error) == (OutboxStatus.FAILED, "not_connected:telegram")
