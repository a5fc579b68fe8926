"""The inbound pipeline, the same for every channel:

store the raw event (a provider's retry is a no-op) -> commit -> identify the sender ->
offer the event to the dialog engine -> thread it (ARCHITECTURE §4 chat rules) -> store the
message -> commit -> publish. An event stored but not processed (a crash in between) is
processed by `process_pending()` at start-up: nothing is lost, nothing doubles."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import utcnow
from core.events import EventPublisher
from core.exchange import ACTIVE_JOB_STATUSES
from core.i18n import N_, gettext
from core.models import ChannelIdentity, Order, OrderStatus
from core.uow import UnitOfWork
from inbox import conversations, threading
from inbox.channel import Button, Incoming, IncomingFile, Location, Outgoing, SharedContact
from inbox.models import (
    Conversation,
    ConversationKind,
    DialogState,
    Direction,
    InboundEvent,
    Message,
    ThreadRef,
)
from inbox.outbox import enqueue
from inbox.people import identify

log = logging.getLogger(__name__)

# The dialog engine (flows issue) sees every event first; True means it consumed it.
DialogHook = Callable[[AsyncSession, ChannelIdentity, Incoming], Awaitable[bool]]

CHOOSE_ORDER_FLOW = "choose_order"
ASK_WHICH_ORDER = N_("You have several orders in progress. Which one is your message about?")
CLIENT_CLOSED = (OrderStatus.DRAFT, OrderStatus.CLOSED, OrderStatus.CANCELLED)


def incoming_to_json(incoming: Incoming) -> dict[str, Any]:
    return asdict(incoming)


def incoming_from_json(data: dict[str, Any]) -> Incoming:
    return Incoming(
        **{
            **data,
            "files": tuple(IncomingFile(**f) for f in data.get("files", ())),
            "contact": SharedContact(**data["contact"]) if data.get("contact") else None,
            "location": Location(**data["location"]) if data.get("location") else None,
        }
    )


class Receiver:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        publisher: EventPublisher,
        dialog: DialogHook | None = None,
    ) -> None:
        self._sessions = sessions
        self._publisher = publisher
        self._dialog = dialog

    async def receive(self, incoming: Incoming) -> InboundEvent | None:
        """Store and process one event; None when it was a duplicate."""
        event_id = await self.store(incoming)
        if event_id is None:
            return None
        return await self.process(event_id)

    async def store(self, incoming: Incoming) -> int | None:
        """Keep the raw event (what a webhook must do before answering 200)."""
        async with UnitOfWork(self._sessions, self._publisher) as uow:
            event = InboundEvent(
                channel=incoming.channel,
                external_id=incoming.message_id,
                payload=incoming_to_json(incoming),
            )
            try:
                async with uow.session.begin_nested():
                    uow.session.add(event)
            except IntegrityError:
                log.info("duplicate %s event %s ignored", incoming.channel, incoming.message_id)
                return None
            await uow.commit()
            return event.id

    async def process(self, event_id: int) -> InboundEvent | None:
        try:
            return await self._process(event_id)
        except Exception as exc:
            # The event stays unprocessed (retried at start-up); say why on the row.
            log.exception("inbound event %s failed", event_id)
            await self._record_failure(event_id, exc)
            raise

    async def _record_failure(self, event_id: int, exc: Exception) -> None:
        async with self._sessions() as session:
            event = await session.get(InboundEvent, event_id)
            if event is not None:
                event.attempts += 1
                event.error = f"{type(exc).__name__}: {exc}"[:2000]
                await session.commit()

    async def _process(self, event_id: int) -> InboundEvent | None:
        async with UnitOfWork(self._sessions, self._publisher) as uow:
            session = uow.session
            event = await session.get(InboundEvent, event_id, with_for_update=True)
            if event is None or event.processed_at is not None:
                return event
            message = await self._handle(session, event)
            event.processed_at = utcnow()
            event.attempts += 1
            event.message_id = message.id if message else None
            await uow.commit()
            return event

    async def process_pending(self) -> int:
        """Process what was stored but never processed (a crash, a restart)."""
        async with self._sessions() as session:
            pending = list(
                await session.scalars(
                    select(InboundEvent.id)
                    .where(InboundEvent.processed_at.is_(None))
                    .order_by(InboundEvent.id)
                )
            )
        for event_id in pending:
            await self.process(event_id)
        return len(pending)

    async def _handle(self, session: AsyncSession, event: InboundEvent) -> Message | None:
        incoming = incoming_from_json(event.payload)
        identity = await identify(session, incoming)
        if identity.user_id is not None:
            return None  # staff writing to the bot: alerts are outbound only
        if self._dialog is not None and await self._dialog(session, identity, incoming):
            return None
        chosen = threading.parse_choice(incoming.button)
        if chosen is not None:
            await _file_held(session, identity, chosen)
            return None
        decision = threading.decide(
            await _replied_conversation(session, identity, incoming),
            await _active_orders(session, identity),
        )
        if isinstance(decision, threading.AskWhich):
            await _hold_and_ask(session, identity, event, decision.order_ids)
            return None
        conversation = await _destination(session, identity, decision)
        return await _file(session, conversation, identity, incoming)


async def _file(
    session: AsyncSession, conversation: Conversation, identity: ChannelIdentity, incoming: Incoming
) -> Message:
    return await conversations.add_message(
        session,
        conversation,
        Direction.IN,
        incoming.text or "",
        channel=incoming.channel,
        identity_id=identity.id,
        author_client_id=identity.client_id,
        author_executor_id=identity.executor_id,
        external_id=incoming.message_id,
    )


async def _replied_conversation(
    session: AsyncSession, identity: ChannelIdentity, incoming: Incoming
) -> int | None:
    if not incoming.reply_to:
        return None
    ref = await session.scalar(
        select(ThreadRef).where(
            ThreadRef.channel == incoming.channel,
            ThreadRef.chat_id == (incoming.chat_id or incoming.sender_id),
            ThreadRef.external_id == incoming.reply_to,
        )
    )
    if ref is None:
        return None
    conversation = await session.get(Conversation, ref.conversation_id)
    # Only the person the thread is with may be threaded into it by a reply.
    mine = conversation is not None and (
        (identity.client_id and conversation.client_id == identity.client_id)
        or (identity.executor_id and conversation.executor_id == identity.executor_id)
    )
    return ref.conversation_id if mine else None


async def _active_orders(session: AsyncSession, identity: ChannelIdentity) -> list[int]:
    if identity.executor_id is not None:
        where = (Order.executor_id == identity.executor_id) & Order.status.in_(ACTIVE_JOB_STATUSES)
    elif identity.client_id is not None:
        where = (Order.client_id == identity.client_id) & Order.status.not_in(CLIENT_CLOSED)
    else:
        return []
    return list(await session.scalars(select(Order.id).where(where).order_by(Order.id.desc())))


async def _destination(
    session: AsyncSession, identity: ChannelIdentity, decision: threading.Decision
) -> Conversation:
    if isinstance(decision, threading.ToConversation):
        found = await session.get(Conversation, decision.conversation_id)
        assert found is not None
        return found
    if isinstance(decision, threading.ToOrder):
        return await _order_side(session, identity, decision.order_id)
    if identity.executor_id is not None:
        return await conversations.application_conversation(session, identity.executor_id)
    assert identity.client_id is not None
    return await conversations.lead_conversation(session, identity.client_id)


async def _order_side(
    session: AsyncSession, identity: ChannelIdentity, order_id: int
) -> Conversation:
    order = await session.get(Order, order_id)
    assert order is not None
    side = ConversationKind.EXECUTOR if identity.executor_id else ConversationKind.CLIENT
    return await conversations.order_thread(session, order, side)


async def _hold_and_ask(
    session: AsyncSession,
    identity: ChannelIdentity,
    event: InboundEvent,
    order_ids: tuple[int, ...],
) -> None:
    """Keep the message aside and ask which order it is about; `_file_held` files it."""
    state = await session.get(DialogState, identity.id)
    if state is None or state.flow != CHOOSE_ORDER_FLOW:
        state = state or DialogState(identity_id=identity.id)
        state.flow, state.step, state.data = CHOOSE_ORDER_FLOW, "ask", {"held": []}
        session.add(state)
    state.data = {"held": [*state.data.get("held", []), event.id], "orders": list(order_ids)}
    orders = (await session.scalars(select(Order).where(Order.id.in_(order_ids)))).all()
    buttons = tuple(
        (
            Button(
                f"№{order.number} {order.title}".strip()[:60],
                payload=threading.choice_payload(order.id),
            ),
        )
        for order in sorted(orders, key=lambda o: -o.id)
    )
    await enqueue(
        session,
        identity,
        Outgoing(
            channel=identity.channel,
            chat_id=identity.chat_id or identity.external_id,
            text=gettext(ASK_WHICH_ORDER, identity.locale),
            buttons=buttons,
        ),
    )


def _order_label(order: Order) -> str:
    return f"№{order.number} {order.title}".strip()[:60]


async def _file_held(session: AsyncSession, identity: ChannelIdentity, order_id: int) -> None:
    state = await session.get(DialogState, identity.id)
    if state is None or state.flow != CHOOSE_ORDER_FLOW:
        return  # a stale button: nothing is waiting
    if order_id not in state.data.get("orders", []):
        return  # not one of the orders offered to this person
    conversation = await _order_side(session, identity, order_id)
    for event_id in state.data.get("held", []):
        event = await session.get(InboundEvent, event_id)
        if event is None:
            continue
        message = await _file(session, conversation, identity, incoming_from_json(event.payload))
        event.message_id = message.id
    await session.delete(state)
