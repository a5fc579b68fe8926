"""The unified inbox: conversations from every channel, newest activity first.

    inbox_page(session, viewer_id=, filters=InboxFilters(), limit=50, before=None) -> InboxPage
    inbox_rows(session, conversation_ids, viewer_id=) -> list[InboxRow]
    channels_with_people(session) -> list[str]

A row is one conversation (an order's client or executor thread, a lead, an executor
application; internal notes are not listed): its order, the counterpart, the channel of the
counterpart's latest message, a preview of the latest message, how long the counterpart has
been waiting for an answer, and how many of their messages this viewer has not read. Pages
are keyset-paged on (last activity, id): pass the page's `next_cursor` as `before`.

The assigned manager of a conversation is its order's manager, else the conversation's,
else the client's responsible manager (`assigned_manager`). `only_assigned_to` (managers
whom a setting restricts to their own work) keeps the conversations assigned to that user or
to nobody yet (`webapp/queries/visibility.py`, the panel's one rule); "assigned to me" is
only the viewer's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.db import UTCDateTime
from core.models import ChannelIdentity, Client, Executor, Order, OrderStatus, User
from inbox.models import Conversation, ConversationKind, Direction, Message, ReadMarker
from webapp.queries.visibility import (
    assigned_manager,
    assigned_to,
    conversation_visible,
    with_context,
)

PREVIEW_CHARS = 120
_Query = TypeVar("_Query", bound=Select)
EXECUTOR_SIDE = (ConversationKind.EXECUTOR, ConversationKind.APPLICATION)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_ID = 2**31 - 1  # INTEGER keys (webapp/panel/inputs.py)
_MICROSECOND = timedelta(microseconds=1)
# A literal (not a bound parameter) so that both backends can use the partial index
# ix_messages_inbound, whose condition is the same text.
IS_INBOUND = Message.direction == literal_column("'in'")


@dataclass(frozen=True, slots=True)
class InboxFilters:
    channel: str | None = None  # the channel of the counterpart's latest message
    statuses: tuple[OrderStatus, ...] = ()  # the order's status is one of these
    assigned_to_me: bool = False  # assigned to the viewer
    unanswered: bool = False  # the counterpart wrote last and nobody answered yet
    only_assigned_to: int | None = None  # a restricted manager: theirs and nobody's
    kinds: tuple[ConversationKind, ...] = ()  # empty: all kinds but internal notes


@dataclass(frozen=True, slots=True)
class InboxCursor:
    """A position in the inbox: rows older than (last_message_at, conversation_id)."""

    last_message_at: datetime
    conversation_id: int

    def token(self) -> str:
        """For a URL: `?before=<token>`."""
        return f"{(self.last_message_at - _EPOCH) // _MICROSECOND}-{self.conversation_id}"

    @classmethod
    def parse(cls, token: str | None) -> InboxCursor | None:
        """The cursor of a token; None for a missing or malformed one (the first page)."""
        try:
            micros, conversation_id = (token or "").split("-")
            if len(micros) > 20 or not 0 < int(conversation_id) <= _MAX_ID:
                return None
            return cls(_EPOCH + int(micros) * _MICROSECOND, int(conversation_id))
        except (ValueError, OverflowError):  # not numbers; a moment beyond year 9999
            return None


@dataclass(frozen=True, slots=True)
class InboxRow:
    conversation_id: int
    kind: ConversationKind
    order_id: int | None
    order_number: int | None
    order_status: OrderStatus | None
    order_title: str | None
    client_id: int | None
    executor_id: int | None
    counterpart_name: str  # the client, the executor, or the lead
    channel: str | None  # of the counterpart's latest message (the row's icon)
    last_message_at: datetime
    last_message_preview: str  # first PREVIEW_CHARS characters, whitespace collapsed
    last_message_direction: Direction | None
    # Who on the staff wrote the latest message (an answer or a note), if staff did.
    last_message_author_id: int | None
    last_message_author: str | None
    waiting_since: datetime | None  # their last message, if no answer came after it
    unread: int  # their messages after this viewer's read marker
    manager_id: int | None
    manager_name: str | None

    @property
    def cursor(self) -> InboxCursor:
        return InboxCursor(self.last_message_at, self.conversation_id)


@dataclass(frozen=True, slots=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: InboxCursor | None  # None on the last page


def listed_kinds(kinds: Sequence[ConversationKind] = ()) -> ColumnElement[bool]:
    if kinds:
        return Conversation.kind.in_(kinds)
    return Conversation.kind != ConversationKind.NOTES


async def channels_with_people(session: AsyncSession) -> list[str]:
    """The channels someone has an identity on: with the configured ones, what the inbox's
    channel filter can usefully offer (a row's channel is that of a counterpart's message,
    and every inbound message comes from an identity)."""
    rows = await session.scalars(select(ChannelIdentity.channel).distinct())
    return sorted(rows)


async def inbox_page(
    session: AsyncSession,
    *,
    viewer_id: int,
    filters: InboxFilters | None = None,
    limit: int = 50,
    before: InboxCursor | None = None,
) -> InboxPage:
    filters, limit = filters or InboxFilters(), max(1, limit)
    query = with_context(select(Conversation.id, Conversation.last_message_at)).where(
        Conversation.last_message_at.is_not(None), listed_kinds(filters.kinds)
    )
    for condition in _conditions(filters, viewer_id):
        query = query.where(condition)
    if before is not None:
        query = query.where(
            tuple_(Conversation.last_message_at, Conversation.id)
            < tuple_(
                literal(before.last_message_at, UTCDateTime()), literal(before.conversation_id)
            )
        )
    query = query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    found = (await session.execute(query.limit(limit + 1))).all()
    rows = await inbox_rows(session, [row.id for row in found[:limit]], viewer_id=viewer_id)
    # The cursor is where this query stopped, even if a row moved up since.
    last = found[limit - 1] if len(found) > limit else None
    return InboxPage(rows, InboxCursor(last.last_message_at, last.id) if last else None)


def _conditions(filters: InboxFilters, viewer_id: int) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.only_assigned_to is not None:
        conditions.append(conversation_visible(filters.only_assigned_to))
    if filters.assigned_to_me:
        conditions.append(assigned_to(viewer_id))
    if filters.statuses:
        conditions.append(Order.status.in_(filters.statuses))
    if filters.unanswered:
        conditions.append(unanswered())
    if filters.channel:
        conditions.append(latest_inbound_channel() == filters.channel)
    return conditions


def unanswered() -> ColumnElement[bool]:
    return and_(
        Conversation.last_inbound_at.is_not(None),
        or_(
            Conversation.last_outbound_at.is_(None),
            Conversation.last_outbound_at < Conversation.last_inbound_at,
        ),
    )


def latest_inbound_channel() -> ColumnElement[str | None]:
    return (
        select(Message.channel)
        .where(Message.conversation_id == Conversation.id, IS_INBOUND)
        .order_by(Message.id.desc())
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )


async def inbox_rows(
    session: AsyncSession, conversation_ids: Sequence[int], *, viewer_id: int
) -> list[InboxRow]:
    """Inbox rows of these conversations, in the order given (ids not found are skipped)."""
    if not conversation_ids:
        return []
    ids = list(conversation_ids)
    heads = await _heads(session, ids)
    last = await _last_messages(session, ids)
    inbound = await _inbound(session, ids, viewer_id)
    rows = []
    for conversation_id in ids:
        head = heads.get(conversation_id)
        if head is None:
            continue
        latest = last.get(conversation_id, _NO_MESSAGE)
        channel, unread = inbound.get(conversation_id, (None, 0))
        rows.append(_row(head, channel, latest, unread))
    return rows


@dataclass(frozen=True, slots=True)
class _Latest:
    direction: Direction | None
    text: str
    author_id: int | None
    author: str | None


_NO_MESSAGE = _Latest(None, "", None, None)


def _row(head: Any, channel: str | None, latest: _Latest, unread: int) -> InboxRow:
    inbound_at, outbound_at = head.last_inbound_at, head.last_outbound_at
    waiting = inbound_at if inbound_at and (not outbound_at or outbound_at < inbound_at) else None
    executor_side = head.kind in EXECUTOR_SIDE
    return InboxRow(
        conversation_id=head.id,
        kind=head.kind,
        order_id=head.order_id,
        order_number=head.number,
        order_status=head.status,
        order_title=head.title,
        client_id=head.client_id,
        executor_id=head.executor_id,
        counterpart_name=(head.executor_name if executor_side else head.client_name) or "",
        channel=channel,
        last_message_at=head.last_message_at or head.created_at,
        last_message_preview=preview_text(latest.text),
        last_message_direction=latest.direction,
        last_message_author_id=latest.author_id,
        last_message_author=latest.author,
        waiting_since=waiting,
        unread=unread,
        manager_id=head.manager_id,
        manager_name=head.manager_name,
    )


def preview_text(text: str | None, chars: int = PREVIEW_CHARS) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= chars else flat[: chars - 1].rstrip() + "…"


async def _heads(session: AsyncSession, ids: list[int]) -> dict[int, Any]:
    manager = aliased(User)
    assigned = assigned_manager()
    query = (
        with_context(
            select(
                Conversation.id,
                Conversation.kind,
                Conversation.order_id,
                Conversation.client_id,
                Conversation.executor_id,
                Conversation.last_message_at,
                Conversation.last_inbound_at,
                Conversation.last_outbound_at,
                Conversation.created_at,
                Order.number,
                Order.status,
                Order.title,
                Client.name.label("client_name"),
                Executor.name.label("executor_name"),
                assigned.label("manager_id"),
                manager.name.label("manager_name"),
            )
        )
        .outerjoin(Executor, Executor.id == Conversation.executor_id)
        .outerjoin(manager, manager.id == assigned)
        .where(Conversation.id.in_(ids))
    )
    return {row.id: row for row in await session.execute(query)}


async def _last_messages(session: AsyncSession, ids: list[int]) -> dict[int, _Latest]:
    latest = (
        select(func.max(Message.id))
        .where(Message.conversation_id.in_(ids))
        .group_by(Message.conversation_id)
    )
    author = aliased(User)
    query = (
        select(
            Message.conversation_id,
            Message.direction,
            func.substr(Message.text, 1, 4 * PREVIEW_CHARS),
            Message.author_user_id,
            author.name,
        )
        .outerjoin(author, author.id == Message.author_user_id)
        .where(Message.id.in_(latest))
    )
    return {row[0]: _Latest(*row[1:]) for row in await session.execute(query)}


async def _inbound(
    session: AsyncSession, ids: list[int], viewer_id: int
) -> dict[int, tuple[str | None, int]]:
    """Per conversation: the channel of the counterpart's latest message and how many of
    their messages the viewer has not read."""
    read_up_to = func.coalesce(ReadMarker.last_read_message_id, 0)
    grouped = (
        select(
            Message.conversation_id,
            func.max(Message.id).label("latest"),
            func.sum(case((Message.id > read_up_to, 1), else_=0)).label("unread"),
        )
        .outerjoin(
            ReadMarker,
            and_(
                ReadMarker.conversation_id == Message.conversation_id,
                ReadMarker.user_id == viewer_id,
            ),
        )
        .where(Message.conversation_id.in_(ids), IS_INBOUND)
        .group_by(Message.conversation_id)
    )
    counts = {row.conversation_id: row for row in await session.execute(grouped)}
    if not counts:
        return {}
    latest = {row.latest for row in counts.values()}
    query = select(Message.id, Message.channel).where(Message.id.in_(latest))
    channels = {message_id: channel for message_id, channel in await session.execute(query)}
    return {cid: (channels.get(row.latest), int(row.unread or 0)) for cid, row in counts.items()}
