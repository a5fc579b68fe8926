"""Filing an inbound message into a conversation, with its files: what the pipeline does
for every message it threads, and what "which order?" does for the messages it held
(inbox/held.py); and the JSON form an event is stored in (`inbound_events.payload`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ChannelIdentity, Order
from inbox import conversations
from inbox.channel import (
    Automatic,
    Incoming,
    IncomingFile,
    Location,
    SharedContact,
    ThreadHint,
)
from inbox.files.inbound import InboundFiles, Owner, Prefetched
from inbox.models import Conversation, ConversationKind, Direction


def incoming_to_json(incoming: Incoming) -> dict[str, Any]:
    # By hand rather than dataclasses.asdict, which deep-copies every value (the raw update
    # included) on each inbound event.
    data = {spec.name: getattr(incoming, spec.name) for spec in fields(incoming)}
    data["files"] = [asdict(file) for file in incoming.files]
    data["contact"] = asdict(incoming.contact) if incoming.contact else None
    data["location"] = asdict(incoming.location) if incoming.location else None
    data["thread"] = asdict(incoming.thread) if incoming.thread else None
    return data


def incoming_from_json(data: dict[str, Any]) -> Incoming:
    return Incoming(
        **{
            **data,
            "files": tuple(IncomingFile(**f) for f in data.get("files", ())),
            "contact": SharedContact(**data["contact"]) if data.get("contact") else None,
            "location": Location(**data["location"]) if data.get("location") else None,
            "thread": _hint_from_json(data.get("thread")),
            "automatic": Automatic(data["automatic"]) if data.get("automatic") else None,
            "unreachable": tuple(data.get("unreachable", ())),
        }
    )


def _hint_from_json(data: dict[str, Any] | None) -> ThreadHint | None:
    if not data:
        return None
    return ThreadHint(**{**data, "references": tuple(data.get("references", ()))})


@dataclass(frozen=True, slots=True)
class Arrival:
    """An event on its way into a transaction, with the files fetched for it beforehand
    (none for a held message: `attach` then fetches them)."""

    incoming: Incoming
    prefetched: Prefetched = field(default_factory=dict)


async def file_message(
    session: AsyncSession,
    files: InboundFiles | None,
    conversation: Conversation,
    identity: ChannelIdentity,
    arrival: Arrival,
    direction: Direction = Direction.IN,
    text: str | None = None,
) -> int:
    """The message (its id) with its files; a note after it for each file that did not
    come. Without `files` the message is filed without its files (tests of other things)."""
    incoming = arrival.incoming
    attached = None
    if files is not None and incoming.files:
        owner = Owner(conversation.order_id, identity.client_id, identity.executor_id)
        attached = await files.attach(session, incoming, arrival.prefetched, owner=owner)
    message_id = await conversations.insert_message(
        session,
        conversation,
        direction,
        (incoming.text or "") if text is None else text,
        channel=incoming.channel,
        identity_id=identity.id,
        author_client_id=identity.client_id,
        author_executor_id=identity.executor_id,
        external_id=incoming.message_id,
        html=incoming.html,
        files=attached.files if attached else None,
    )
    for note in attached.notes if attached else ():
        await conversations.insert_message(session, conversation, Direction.SYSTEM, note)
    return message_id


async def order_side(
    session: AsyncSession, identity: ChannelIdentity, order_id: int
) -> Conversation:
    """The order's thread this person talks in: the executor thread for an executor, the
    client thread for a client."""
    order = await session.get(Order, order_id)
    assert order is not None
    side = ConversationKind.EXECUTOR if identity.executor_id else ConversationKind.CLIENT
    return await conversations.order_thread(session, order, side)


async def own_conversation(session: AsyncSession, identity: ChannelIdentity) -> Conversation:
    """The person's conversation outside orders: the application conversation of an
    executor, the lead conversation of a client."""
    if identity.executor_id is not None:
        return await conversations.application_conversation(session, identity.executor_id)
    assert identity.client_id is not None
    return await conversations.lead_conversation(session, identity.client_id)
