"""The inbound pipeline, the same for every channel:

store the raw event (a provider's retry is a no-op) -> identify the sender -> offer the event
to the dialog engine -> thread it (ARCHITECTURE §4 chat rules) -> store the message ->
commit -> publish.

`receive()` does all of it in one transaction: the caller (a webhook handler, a polling
loop) acknowledges the provider only after it returns, so a crash before the commit loses
nothing: the provider delivers the event again. If handling raises, the transaction rolls
back and the raw event is stored on its own with the error, to be processed again by
`process_pending()` at start-up. `store()` + `process()` are the two halves for a caller
that must acknowledge before processing: an event stored but not processed (a crash in
between) is processed at start-up. Nothing is lost, nothing doubles.

Files a message carries are fetched before the transaction opens (a download must not hold
the database) and attached to the message inside it; a file over the size limit does not
stop the message: it is filed without that file, with a note for the manager."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import ReturningInsert

from core.db import utcnow
from core.events import EventPublisher
from core.exchange import ACTIVE_JOB_STATUSES
from core.i18n import gettext
from core.models import ChannelIdentity, Order, OrderStatus
from core.uow import UnitOfWork
from inbox import conversations, held, threading
from inbox.channel import BAD_ADDRESS, Incoming, without_nul
from inbox.files.inbound import InboundFiles, Prefetched
from inbox.filing import (
    Arrival,
    file_message,
    incoming_from_json,
    incoming_to_json,
    order_side,
    own_conversation,
)
from inbox.group_commit import GroupCommit
from inbox.models import Conversation, Direction, InboundEvent, ThreadRef
from inbox.people import identify, mark_unreachable
from inbox.thread_hints import (
    NOT_THE_PARTY,
    adopt_known_sender,
    automatic_note,
    hinted_conversation,
)

log = logging.getLogger(__name__)

__all__ = ["DialogHook", "Received", "Receiver", "incoming_from_json", "incoming_to_json"]

# The dialog engine (flows issue) sees every event first; True means it consumed it.
DialogHook = Callable[[AsyncSession, ChannelIdentity, Incoming], Awaitable[bool]]

CLIENT_CLOSED = (OrderStatus.DRAFT, OrderStatus.CLOSED, OrderStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class Received:
    """What became of an inbound event: the message it was filed as, if any (a dialog
    step may consume it, or it may be held until the sender says which order it is about)."""

    event_id: int
    message_id: int | None


class Receiver:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        publisher: EventPublisher,
        dialog: DialogHook | None = None,
        *,
        files: InboundFiles | None = None,
        batch_limit: int = 50,
        locale: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._publisher = publisher
        self._dialog = dialog
        # The installation's language (PULT_LOCALE): of the notes managers read, and of
        # what the pipeline itself asks someone whose own language is not known.
        self._locale = locale
        # Without it, messages are filed without their files (tests of other things).
        self._files = files
        self._group: GroupCommit[Arrival, Received | None] = GroupCommit(
            self._receive_batch, self._receive_one, limit=batch_limit
        )

    async def receive(self, incoming: Incoming) -> Received | None:
        """Store and process one event; None when it was a duplicate. Events arriving at
        the same moment share a transaction (inbox/group_commit.py); one that fails is
        stored on its own with the error and its caller gets the exception."""
        incoming = without_nul(incoming)
        prefetched: Prefetched = {}
        if self._files is not None and incoming.files:
            prefetched = await self._files.prefetch(incoming)
        return await self._group.submit(Arrival(incoming, prefetched))

    async def _receive_batch(self, batch: list[Arrival]) -> list[Received | None]:
        async with UnitOfWork(self._sessions, self._publisher) as uow:
            results: list[Received | None] = []
            for arrival in batch:
                incoming = arrival.incoming
                event_id = await _insert_event(uow.session, incoming)
                if event_id is None:
                    log.info("duplicate %s event %s ignored", incoming.channel, incoming.message_id)
                    results.append(None)
                else:
                    results.append(await self._finish(uow.session, event_id, arrival))
            await uow.commit()
            return results

    async def _receive_one(self, arrival: Arrival) -> Received | None:
        incoming = arrival.incoming
        try:
            async with UnitOfWork(self._sessions, self._publisher) as uow:
                event_id = await _insert_event(uow.session, incoming)
                if event_id is None:
                    log.info("duplicate %s event %s ignored", incoming.channel, incoming.message_id)
                    return None
                received = await self._finish(uow.session, event_id, arrival)
                await uow.commit()
                return received
        except Exception as exc:
            log.exception("inbound %s event %s failed", incoming.channel, incoming.message_id)
            stored_id = await self.store(incoming)
            if stored_id is not None:
                await self._record_failure(stored_id, exc)
            raise

    async def store(self, incoming: Incoming) -> int | None:
        """Keep the raw event (what a webhook must do before answering 200); None when it
        was a duplicate."""
        incoming = without_nul(incoming)
        async with UnitOfWork(self._sessions, self._publisher) as uow:
            event_id = await _insert_event(uow.session, incoming)
            if event_id is None:
                log.info("duplicate %s event %s ignored", incoming.channel, incoming.message_id)
                return None
            await uow.commit()
            return event_id

    async def process(self, event_id: int) -> Received | None:
        """Process a stored event (once: a processed one is left alone); None if unknown."""
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

    async def _process(self, event_id: int) -> Received | None:
        async with UnitOfWork(self._sessions, self._publisher) as uow:
            event = await uow.session.get(InboundEvent, event_id, with_for_update=True)
            if event is None:
                return None
            if event.processed_at is not None:
                return Received(event.id, event.message_id)
            arrival = Arrival(incoming_from_json(event.payload))
            received = await self._finish(uow.session, event.id, arrival)
            await uow.commit()
            return received

    async def _finish(self, session: AsyncSession, event_id: int, arrival: Arrival) -> Received:
        message_id = await self._handle(session, event_id, arrival)
        received = Received(event_id, message_id)
        # Core on the connection, not the unit of work: the recovery path holds the row as
        # an ORM object, which is not read again after this.
        await (await session.connection()).execute(
            _MARK_PROCESSED,
            {"event": event_id, "processed_at": utcnow(), "message": received.message_id},
        )
        return received

    async def process_pending(
        self, *, received_before: datetime | None = None, max_attempts: int | None = None
    ) -> int:
        """Process what was stored but never processed (a crash, a restart, a failure);
        returns how many now are. One event that fails again is recorded and skipped, so it
        cannot hold up the others; `max_attempts` leaves the hopeless ones to a person."""
        query = select(InboundEvent.id).where(InboundEvent.processed_at.is_(None))
        if received_before is not None:
            query = query.where(InboundEvent.received_at < received_before)
        if max_attempts is not None:
            query = query.where(InboundEvent.attempts < max_attempts)
        async with self._sessions() as session:
            pending = list(await session.scalars(query.order_by(InboundEvent.id)))
        done = 0
        for event_id in pending:
            try:
                await self.process(event_id)
            except Exception:
                continue  # logged and recorded on the event by process()
            done += 1
        return done

    async def _handle(self, session: AsyncSession, event_id: int, arrival: Arrival) -> int | None:
        """The id of the message the event was filed as, if it was."""
        incoming = arrival.incoming
        if incoming.thread is not None:
            await adopt_known_sender(session, incoming)
        identity = await identify(session, incoming, self._locale)
        offered = incoming.conversational and incoming.automatic is None
        if offered and self._dialog is not None and await self._dialog(session, identity, incoming):
            return None
        if identity.user_id is not None:
            return None  # staff writing to the bot: managers answer in the panel
        if incoming.thread is not None or incoming.automatic is not None:
            return await self._file_hinted(session, identity, arrival)
        decision = threading.decide(
            await _replied_conversation(session, identity, incoming),
            await _active_orders(session, identity),
        )
        if isinstance(decision, threading.AskWhich):
            # "Which order?" is a flow of the dialog engine from here on (inbox/held.py).
            await held.start(session, identity, event_id, decision.order_ids, self._locale)
            return None
        conversation = await _destination(session, identity, decision)
        return await self._file(session, conversation, identity, arrival)

    async def _file_hinted(
        self, session: AsyncSession, identity: ChannelIdentity, arrival: Arrival
    ) -> int:
        """Threading by the channel's hints (e-mail, ARCHITECTURE §4), else the sender's
        lead. A sender who is not the party of the order it lands in is flagged for the
        manager; machine mail (auto-replies, bounces) is filed as a system note."""
        incoming = arrival.incoming
        found = await hinted_conversation(session, identity, incoming)
        conversation = found.conversation if found else None
        if conversation is None:
            conversation = await _destination(session, identity, threading.ToLead())
        for chat_id in incoming.unreachable:
            await mark_unreachable(session, incoming.channel, chat_id, BAD_ADDRESS)
        if incoming.automatic is not None:
            note = automatic_note(incoming, self._locale)
            return await self._file(
                session, conversation, identity, arrival, Direction.SYSTEM, note
            )
        message_id = await self._file(session, conversation, identity, arrival)
        if found is not None and not found.party:
            sender = identity.display_name or identity.external_id
            note = gettext(NOT_THE_PARTY, self._locale).format(sender=sender)
            await conversations.insert_message(session, conversation, Direction.SYSTEM, note)
        return message_id

    async def _file(
        self,
        session: AsyncSession,
        conversation: Conversation,
        identity: ChannelIdentity,
        arrival: Arrival,
        direction: Direction = Direction.IN,
        text: str | None = None,
    ) -> int:
        return await file_message(
            session, self._files, conversation, identity, arrival, direction, text
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
    connection = await session.connection()
    if identity.executor_id is not None:
        found = await connection.execute(_EXECUTOR_JOBS, {"executor": identity.executor_id})
    elif identity.client_id is not None:
        found = await connection.execute(_CLIENT_ORDERS, {"client": identity.client_id})
    else:
        return []
    return list(found.scalars())


# Prebuilt Core statements, run on the session's connection: every inbound message runs
# one of these (docs/inbox.md, "Hot path").
_ORDERS = cast(Table, Order.__table__)
_EXECUTOR_JOBS = (
    select(_ORDERS.c.id)
    .where(
        _ORDERS.c.executor_id == bindparam("executor"),
        _ORDERS.c.status.in_(ACTIVE_JOB_STATUSES),
    )
    .order_by(_ORDERS.c.id.desc())
)
_CLIENT_ORDERS = (
    select(_ORDERS.c.id)
    .where(
        _ORDERS.c.client_id == bindparam("client"),
        _ORDERS.c.status.not_in(CLIENT_CLOSED),
    )
    .order_by(_ORDERS.c.id.desc())
)


async def _destination(
    session: AsyncSession, identity: ChannelIdentity, decision: threading.Decision
) -> Conversation:
    if isinstance(decision, threading.ToConversation):
        found = await session.get(Conversation, decision.conversation_id)
        assert found is not None
        return found
    if isinstance(decision, threading.ToOrder):
        return await order_side(session, identity, decision.order_id)
    return await own_conversation(session, identity)


async def _insert_event(session: AsyncSession, incoming: Incoming) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new event's id, or None for a
    duplicate. A concurrent insert of the same event waits for the first one's transaction."""
    statement = _insert_event_statement(session.get_bind().dialect.name)
    values = {
        "channel": incoming.channel,
        "external_id": incoming.message_id,
        "payload": incoming_to_json(incoming),
        "received_at": utcnow(),
    }
    connection = await session.connection()
    event_id: int | None = (await connection.execute(statement, values)).scalar_one_or_none()
    return event_id


_EVENTS = cast(Table, InboundEvent.__table__)


@functools.cache
def _insert_event_statement(dialect: str) -> ReturningInsert[Any]:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(_EVENTS)
        .values(attempts=0)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(_EVENTS.c.id)
    )


_MARK_PROCESSED = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("event"))
    .values(
        processed_at=bindparam("processed_at"),
        message_id=bindparam("message"),
        attempts=_EVENTS.c.attempts + 1,
    )
)
