"""Messages held while the sender is asked which order they are about (threading rule 3,
docs/inbox.md).

"Which order?" is a flow of the dialog engine like any other (handlers/which_order.py): its
state is the identity's one dialog state row (flow `choose_order`, the held event ids and
the orders offered), so the engine knows it and never drops it as an unknown flow. The
pipeline starts it, because the pipeline is what decides to ask; the engine holds what the
person writes while the question is open and files everything held, in the order it came,
once an order is chosen. A person who leaves the question (the menu, a command, another
flow) has what was held filed in their own conversation, where a manager reads it: a held
message is never dropped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.i18n import DEFAULT_LOCALE, N_, gettext, normalize_locale
from core.models import ChannelIdentity, Order
from inbox import threading
from inbox.channel import Button, Incoming, Outgoing
from inbox.files.inbound import InboundFiles
from inbox.filing import Arrival, file_message, incoming_from_json, order_side, own_conversation
from inbox.masking import mask_contacts
from inbox.models import Conversation, DialogState, InboundEvent
from inbox.outbox import enqueue

FLOW = "choose_order"
ASK_WHICH_ORDER = N_("You have several orders in progress. Which one is your message about?")


async def start(
    session: AsyncSession,
    identity: ChannelIdentity,
    event_id: int,
    order_ids: tuple[int, ...],
    locale: str | None = None,
) -> None:
    """Hold the event and ask which order it is about (the pipeline, threading rule 3);
    `locale`: the installation's, for someone whose own language is not known."""
    state = await session.get(DialogState, identity.id)
    if state is None:
        state = DialogState(identity_id=identity.id)
        session.add(state)
    # Only a pipeline without the dialog engine (tests of the pipeline) comes here with the
    # question already open: the engine holds such a message itself (`hold`).
    earlier = held_events(state)
    state.flow, state.step = FLOW, "ask"
    state.data = {"held": [*earlier, event_id], "orders": list(order_ids)}
    state.updated_at = utcnow()
    await ask(session, identity, order_ids, locale)


def held_events(state: DialogState | None) -> list[int]:
    """The ids of the events held by an open "which order?" (none for another flow)."""
    if state is None or state.flow != FLOW:
        return []
    return [int(event_id) for event_id in state.data.get("held", [])]


def offered(state: DialogState) -> list[int]:
    return [int(order_id) for order_id in state.data.get("orders", [])]


def with_held(data: dict[str, Any], event_id: int) -> dict[str, Any]:
    """The state's data with one more event held (a new dict, so the JSON column sees it)."""
    return {**data, "held": [*data.get("held", []), event_id]}


async def event_of(session: AsyncSession, incoming: Incoming) -> int | None:
    """The id of the stored event `incoming` came as (inserted earlier in this transaction)."""
    found: int | None = await session.scalar(
        select(InboundEvent.id).where(
            InboundEvent.channel == incoming.channel,
            InboundEvent.external_id == incoming.message_id,
        )
    )
    return found


async def ask(
    session: AsyncSession,
    identity: ChannelIdentity,
    order_ids: list[int] | tuple[int, ...],
    locale: str | None = None,
) -> None:
    """The question, one button per order offered, newest first."""
    orders = (await session.scalars(select(Order).where(Order.id.in_(order_ids)))).all()
    buttons = tuple(
        (
            Button(
                f"№{order.number} {_title_for(identity, order)}".strip()[:60],
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
            text=gettext(
                ASK_WHICH_ORDER, normalize_locale(identity.locale, locale or DEFAULT_LOCALE)
            ),
            buttons=buttons,
        ),
    )


def _title_for(identity: ChannelIdentity, order: Order) -> str:
    """A title is the client's words: an executor reads it with contacts masked."""
    return mask_contacts(order.title).text if identity.executor_id is not None else order.title


async def file_in_order(
    session: AsyncSession,
    files: InboundFiles | None,
    identity: ChannelIdentity,
    order_id: int,
    event_ids: list[int],
) -> None:
    """File the held events, in the order they came, into the chosen order's thread."""
    await _file(session, files, identity, await order_side(session, identity, order_id), event_ids)


async def release(
    session: AsyncSession,
    files: InboundFiles | None,
    identity: ChannelIdentity,
    event_ids: list[int],
) -> None:
    """The question was left unanswered: file what is still held in the person's own
    conversation (lead or application), so a manager reads it."""
    await _file(session, files, identity, await own_conversation(session, identity), event_ids)


async def _file(
    session: AsyncSession,
    files: InboundFiles | None,
    identity: ChannelIdentity,
    conversation: Conversation,
    event_ids: list[int],
) -> None:
    for event_id in sorted(event_ids):  # ids grow with arrival: the original order
        event = await session.get(InboundEvent, event_id)
        if event is None or event.message_id is not None:
            continue  # already filed
        held = Arrival(incoming_from_json(event.payload))
        event.message_id = await file_message(session, files, conversation, identity, held)
    await session.flush()
