"""Contacts a client types into an order's answers never reach executors: every executor-facing
card built from client data (the job feed card, the "job is yours" card, My jobs, the job
card, the trip card) masks them, judged with the masking corpus (tests/fixtures/masking/)
and the corpus test's own independent leftover checks. What the job needs still comes
through: a driver reads the pickup address."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import exchange, orders
from core.events import LocalPublisher
from core.models import Order
from core.transitions import Actor
from handlers.cards import job_reply
from handlers.driver import trip_reply
from handlers.job_notices import job_is_yours_reply
from inbox.models import OutboxItem
from inbox.outbox import outgoing_from_json
from inbox.receive import Receiver
from tests import builders
from tests.chat import Chat, labels, texts
from tests.flows.desk import unit
from tests.flows.test_reactions_feed import _executor
from tests.unit.test_masking import EVASIONS, INNOCENT, leftovers

PHONE_TOPIC = "Маркетинг. Мой номер +7 916 123-45-67, звоните после 18"
HANDLE = "добавь в телегу @ivan_author"


def _read(markup: str | None) -> str:
    """What the executor reads: the card's text with the markup's escapes read back."""
    return html.unescape(markup or "")


async def _paper(session: AsyncSession, topic: str) -> tuple[Order, Actor]:
    """A student paper whose client typed `topic` (the title is made from it)."""
    order, manager = await builders.paper_order(session)
    order.details = {"discipline": "Экономика", "topic": topic, "pages": 30}
    order.title = f"Курсовая: {topic}"
    return order, manager


def _cards_of(order: Order) -> list[str]:
    return [_read(job_reply(order, "ru").html), _read(job_is_yours_reply(order, "ru").html)]


async def test_every_corpus_evasion_in_the_clients_answers_is_masked_on_every_job_card(
    session: AsyncSession,
) -> None:
    order, _ = await _paper(session, "")
    trip, _ = await builders.paper_order(session)
    trip.kind = await builders.kind(session, "trip")
    leaks = []
    for line in EVASIONS:
        order.details = {**order.details, "topic": line}
        order.title = f"Курсовая: {line}"
        trip.details = {"request_type": "Cargo transportation", "pickup": line, "vehicle": line}
        for shown in [*_cards_of(order), _read(trip_reply(trip, "ru").html)]:
            if leftovers(shown):
                leaks.append((line, leftovers(shown)))
    assert leaks == []


async def test_innocent_answers_and_addresses_reach_executors_unchanged(
    session: AsyncSession,
) -> None:
    order, _ = await _paper(session, "")
    trip, _ = await builders.paper_order(session)
    trip.kind = await builders.kind(session, "trip")
    for line in INNOCENT:
        order.details = {**order.details, "topic": line}
        trip.details = {"request_type": "Cargo transportation", "pickup": line}
        for shown in [*_cards_of(order), _read(trip_reply(trip, "ru").html)]:
            assert f": {line}" in shown


@pytest.mark.parametrize("topic", [PHONE_TOPIC, HANDLE])
async def test_contacts_in_the_topic_never_reach_the_feed_or_the_assignee(
    sessions: async_sessionmaker[AsyncSession],
    publisher: LocalPublisher,
    receiver: Receiver,
    topic: str,
) -> None:
    async with unit(sessions, publisher) as session:
        for chat in ("301", "302"):
            await _executor(session, chat, ["Экономика"])
        order, manager = await _paper(session, topic)
        order_id = order.id
        await orders.quote_order(session, order, manager, 500_000)
        await orders.accept_quote(session, order, manager)
        await orders.mark_paid(session, order, manager)
        await exchange.publish_to_exchange(session, order, manager, fixed_price=200_000)
    async with sessions() as session:
        cards = [
            outgoing_from_json(item.payload)
            for item in await session.scalars(select(OutboxItem).order_by(OutboxItem.id))
        ]
    assert len(cards) == 2
    for card in cards:
        shown = _read(card.html)
        assert "Маркетинг" in shown or "телегу" in shown  # the task itself comes through
        assert leftovers(shown) == [], shown

    # The executor takes it: My jobs and the job card hide the contact as well.
    taker = Chat(sessions, receiver, "301")
    await taker.send(button=f"job:take:{order_id}")
    listed = await taker.send(button="menu:jobs")
    assert all(leftovers(label) == [] for label in labels(listed[-1]))
    card = await taker.press(labels(listed[-1])[0])
    shown = texts(card)[0]
    assert "Курсовая" in shown and leftovers(_read(shown)) == [], shown


async def test_the_driver_reads_the_pickup_address_but_not_the_clients_phone(
    session: AsyncSession,
) -> None:
    trip, _ = await builders.paper_order(session)
    trip.kind = await builders.kind(session, "trip")
    trip.details = {
        "request_type": "Cargo transportation",
        "pickup": "Москва, ул. Ленина, д. 5, подъезд 2; звонить 8 916 123 45 67",
    }
    shown = _read(trip_reply(trip, "ru").html)
    assert "Москва, ул. Ленина, д. 5, подъезд 2; звонить " in shown
    assert leftovers(shown) == [] and "916" not in shown
