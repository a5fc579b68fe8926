"""The inbound pipeline on a real database: de-duplication, crash recovery, identification
and the four chat threading rules."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import exchange, orders
from core.db import utcnow
from core.events import DomainEvent, LocalPublisher
from core.models import ChannelIdentity, Client, Order
from core.transitions import Actor
from inbox.channel import Incoming, SharedContact
from inbox.events import MessageCreated
from inbox.models import (
    Conversation,
    ConversationKind,
    DialogState,
    InboundEvent,
    Message,
    OutboxItem,
    ThreadRef,
)
from inbox.outbox import outgoing_from_json
from inbox.receive import Receiver
from inbox.threading import choice_payload
from tests import builders

_ids = itertools.count(1)


def incoming(sender: str = "100", text: str = "Здравствуйте", **kw: object) -> Incoming:
    return Incoming(
        channel="telegram",
        sender_id=sender,
        chat_id=sender,
        message_id=str(kw.pop("message_id", next(_ids))),
        text=text,
        sender_name="Анна",
        **kw,  # type: ignore[arg-type]
    )


class Published:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.publisher = LocalPublisher()
        self.publisher.subscribe(self._keep)

    async def _keep(self, event: DomainEvent) -> None:
        self.events.append(event)


@pytest.fixture
def published() -> Published:
    return Published()


@pytest.fixture
def receiver(sessions: async_sessionmaker[AsyncSession], published: Published) -> Receiver:
    return Receiver(sessions, published.publisher)


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, int]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Message.text, Conversation.kind, Conversation.order_id)
            .join(Conversation, Message.conversation_id == Conversation.id)
            .order_by(Message.id)
        )
        return [(row.text, row.order_id or 0) for row in rows]


async def _client_of(sessions: async_sessionmaker[AsyncSession], sender: str) -> int:
    async with sessions() as session:
        client_id = await session.scalar(
            select(ChannelIdentity.client_id).where(ChannelIdentity.external_id == sender)
        )
    assert client_id is not None
    return client_id


async def _orders_for(
    sessions: async_sessionmaker[AsyncSession], client_id: int, count: int
) -> list[Order]:
    async with sessions() as session:
        paper = await builders.kind(session, "student_paper")
        made = [
            await orders.create_order(
                session, kind=paper, client_id=client_id, actor=Actor.client(client_id),
                title=f"Курсовая {i}",
            )
            for i in range(count)
        ]  # fmt: skip
        await session.commit()
    return made


async def test_an_unknown_sender_becomes_a_lead_with_a_lead_conversation(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession], published: Published
) -> None:
    await receiver.receive(incoming(text="Сколько стоит курсовая?"))
    async with sessions() as session:
        client = await session.scalar(select(Client))
        kinds = list(await session.scalars(select(Conversation.kind)))
    assert client is not None and client.name == "Анна"
    assert kinds == [ConversationKind.LEAD]
    assert await _messages(sessions) == [("Сколько стоит курсовая?", 0)]
    assert [type(event) for event in published.events] == [MessageCreated]


async def test_a_provider_retry_of_the_same_event_is_ignored(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await receiver.receive(incoming(message_id="upd-1"))
    again = await receiver.receive(incoming(message_id="upd-1"))
    assert first is not None and again is None
    assert len(await _messages(sessions)) == 1


async def test_an_event_stored_before_a_crash_is_processed_at_start_up_once(
    sessions: async_sessionmaker[AsyncSession], published: Published
) -> None:
    crashed = Receiver(sessions, published.publisher)
    await crashed.store(incoming(text="до сбоя"))  # the process died right after this

    restarted = Receiver(sessions, published.publisher)
    assert await restarted.process_pending() == 1
    assert await restarted.process_pending() == 0
    assert await _messages(sessions) == [("до сбоя", 0)]


async def test_a_crash_inside_processing_rolls_back_and_is_retried(
    sessions: async_sessionmaker[AsyncSession], published: Published
) -> None:
    async def crash(*_: object) -> bool:
        raise RuntimeError("worker killed mid-way")

    with pytest.raises(RuntimeError):
        await Receiver(sessions, published.publisher, dialog=crash).receive(incoming(text="ой"))
    assert await _messages(sessions) == []
    async with sessions() as session:
        failed = await session.scalar(select(InboundEvent))
    assert failed is not None and failed.processed_at is None
    assert (failed.attempts, failed.error) == (1, "RuntimeError: worker killed mid-way")

    assert await Receiver(sessions, published.publisher).process_pending() == 1
    assert await _messages(sessions) == [("ой", 0)]
    async with sessions() as session:
        unprocessed = await session.scalar(
            select(func.count(InboundEvent.id)).where(InboundEvent.processed_at.is_(None))
        )
    assert unprocessed == 0


async def test_a_consuming_dialog_step_keeps_the_message_out_of_the_threads(
    sessions: async_sessionmaker[AsyncSession], published: Published
) -> None:
    async def wizard(_session: AsyncSession, _identity: ChannelIdentity, inc: Incoming) -> bool:
        return inc.text == "25.12"

    receiver = Receiver(sessions, published.publisher, dialog=wizard)
    await receiver.receive(incoming(text="25.12"))
    await receiver.receive(incoming(text="а сколько стоит?"))
    assert await _messages(sessions) == [("а сколько стоит?", 0)]


async def test_one_active_order_takes_the_message(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await receiver.receive(incoming(text="привет"))
    (order,) = await _orders_for(sessions, await _client_of(sessions, "100"), 1)
    await receiver.receive(incoming(text="когда будет готово?"))
    assert (await _messages(sessions))[-1] == ("когда будет готово?", order.id)


async def test_several_active_orders_hold_the_messages_and_ask_which(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # The answer is a flow of the dialog engine: tests/flows/test_which_order.py.
    await receiver.receive(incoming(text="привет"))
    first, second = await _orders_for(sessions, await _client_of(sessions, "100"), 2)

    held_first = await receiver.receive(incoming(text="поменяйте тему"))
    held_second = await receiver.receive(incoming(text="и объём 40 страниц"))
    assert len(await _messages(sessions)) == 1  # both held
    async with sessions() as session:
        questions = list(await session.scalars(select(OutboxItem).order_by(OutboxItem.id)))
        state = await session.scalar(select(DialogState))
    question = outgoing_from_json(questions[-1].payload)
    payloads = [row[0].payload for row in question.buttons]
    assert payloads == [choice_payload(second.id), choice_payload(first.id)]
    assert question.text == "У вас несколько заказов в работе. К какому из них ваше сообщение?"
    assert held_first is not None and held_second is not None
    assert state is not None and state.flow == "choose_order"
    assert state.data == {
        "held": [held_first.event_id, held_second.event_id],
        "orders": [second.id, first.id],
    }


async def test_a_reply_to_our_message_goes_to_its_thread_despite_several_orders(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await receiver.receive(incoming(text="привет"))
    first, _second = await _orders_for(sessions, await _client_of(sessions, "100"), 2)
    async with sessions() as session:
        from inbox.conversations import order_thread

        order = await session.get(Order, first.id)
        assert order is not None
        thread = await order_thread(session, order, ConversationKind.CLIENT)
        session.add(
            ThreadRef(channel="telegram", chat_id="100", external_id="555",
                      conversation_id=thread.id, order_id=first.id)
        )  # fmt: skip
        await session.commit()
    await receiver.receive(incoming(text="это про эту работу", reply_to="555"))
    assert (await _messages(sessions))[-1] == ("это про эту работу", first.id)


async def test_an_executor_with_a_job_writes_into_the_executor_thread(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        order, _ = await builders.order_on_exchange(session, 100_000)
        author = await builders.executor(session)
        await exchange.take_job(session, order, author)
        session.add(ChannelIdentity(channel="telegram", external_id="700", executor_id=author.id))
        await session.commit()
    await receiver.receive(incoming(sender="700", text="какой шрифт?"))
    async with sessions() as session:
        kind = await session.scalar(select(Conversation.kind).join(Message))
    assert (await _messages(sessions))[-1] == ("какой шрифт?", order.id)
    assert kind is ConversationKind.EXECUTOR


async def test_the_same_verified_phone_on_two_channels_is_one_client(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    phone = SharedContact(phone="8 916 123-45-67", own=True)
    await receiver.receive(incoming(sender="100", text=None, contact=phone))
    viber = Incoming(channel="viber", sender_id="v-1", message_id="v-m-1", text="это я",
                     contact=SharedContact(phone="+79161234567", own=True))  # fmt: skip
    await receiver.receive(viber)
    async with sessions() as session:
        owners = set(await session.scalars(select(ChannelIdentity.client_id)))
    assert len(owners) == 1


async def test_a_burst_shares_transactions_and_files_every_message_once(
    sessions: async_sessionmaker[AsyncSession], published: Published
) -> None:
    commits: list[int] = []

    class CountingPublisher:
        async def publish(self, events: Sequence[DomainEvent]) -> None:
            commits.append(len(events))
            await published.publisher.publish(events)

    receiver = Receiver(sessions, CountingPublisher())
    burst = [incoming(sender=str(200 + i % 5), text=f"сообщение {i}") for i in range(30)]
    burst.append(burst[3])  # a provider's retry arriving in the same burst
    results = await asyncio.gather(*(receiver.receive(e) for e in burst))

    # Concurrent batches may commit in either order, so either copy may be the duplicate.
    assert [i for i, result in enumerate(results) if result is None] in ([3], [30])
    assert sorted(await _messages(sessions)) == sorted((f"сообщение {i}", 0) for i in range(30))
    assert sum(commits) == 30 and len(commits) < 30  # fewer transactions than messages


async def test_one_bad_event_in_a_burst_spoils_nothing_else(
    sessions: async_sessionmaker[AsyncSession], published: Published
) -> None:
    async def fussy(_: AsyncSession, __: ChannelIdentity, event: Incoming) -> bool:
        if event.text == "сломай":
            raise RuntimeError("flow bug")
        return False

    receiver = Receiver(sessions, published.publisher, dialog=fussy)
    burst = [incoming(sender=str(200 + i % 5), text=f"сообщение {i}") for i in range(30)]
    burst.insert(10, incoming(sender="299", text="сломай"))
    results = await asyncio.gather(*(receiver.receive(e) for e in burst), return_exceptions=True)

    assert [i for i, r in enumerate(results) if isinstance(r, BaseException)] == [10]
    assert isinstance(results[10], RuntimeError)
    assert sorted(await _messages(sessions)) == sorted((f"сообщение {i}", 0) for i in range(30))
    async with sessions() as session:
        failed = (
            await session.scalars(select(InboundEvent).where(InboundEvent.error.is_not(None)))
        ).all()
    assert [(e.payload["text"], e.processed_at) for e in failed] == [("сломай", None)]
    created = [e for e in published.events if isinstance(e, MessageCreated)]
    assert len(created) == 30


async def test_recovery_skips_an_event_that_fails_again_and_gives_up_after_max_attempts(
    sessions: async_sessionmaker[AsyncSession], published: Published
) -> None:
    async def fussy(_: AsyncSession, __: ChannelIdentity, event: Incoming) -> bool:
        if event.text == "сломай":
            raise RuntimeError("flow bug")
        return False

    receiver = Receiver(sessions, published.publisher, dialog=fussy)
    with pytest.raises(RuntimeError):
        await receiver.receive(incoming(text="сломай"))  # attempt 1
    await receiver.store(incoming(text="после сбоя"))

    later = utcnow() + timedelta(minutes=1)
    assert await receiver.process_pending(received_before=utcnow() - timedelta(hours=1)) == 0
    assert await receiver.process_pending(received_before=later, max_attempts=3) == 1  # 2
    assert await receiver.process_pending(max_attempts=3) == 0  # attempt 3
    assert await receiver.process_pending(max_attempts=3) == 0  # not tried any more
    async with sessions() as session:
        poison = await session.scalar(select(InboundEvent).where(InboundEvent.error.is_not(None)))
    assert poison is not None and (poison.attempts, poison.processed_at) == (3, None)
    assert await _messages(sessions) == [("после сбоя", 0)]


async def test_a_new_senders_simultaneous_first_messages_all_arrive_with_one_identity(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # A Telegram album: several updates of a sender we have never seen, at the same moment.
    album = [incoming(sender="900", text=f"фото {i}") for i in range(6)]
    results = await asyncio.gather(*(receiver.receive(e) for e in album), return_exceptions=True)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(await _messages(sessions)) == sorted((f"фото {i}", 0) for i in range(6))
    async with sessions() as session:
        identities = list(await session.scalars(select(ChannelIdentity)))
        clients = await session.scalar(select(func.count(Client.id)))
        unprocessed = await session.scalar(
            select(func.count(InboundEvent.id)).where(InboundEvent.processed_at.is_(None))
        )
    assert len(identities) == 1 and identities[0].client_id is not None
    assert (clients, unprocessed) == (1, 0)
