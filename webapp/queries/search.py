"""The inbox's search box: one query across message texts, order numbers, client names,
phones and e-mails.

    search(session, text, viewer_id=, limit=20, only_assigned_to=None) -> SearchResult

"1042", "#1042" or "№1042" finds order 1042; a phone in any format ("+7 (912) 345-67-89",
"89123456789", "912 345") finds clients whose stored phone (on the client or on one of their
channel identities) has those digits (message texts are not searched for it); any other text
is looked for in client names (words in any order, initials as word starts: "Попов А"
finds "Алексей Попов"), company names and e-mails and, from three characters on, in
message texts.
The result carries the matching orders and clients, and the conversations behind every hit
as inbox rows (so the inbox page renders them with its own template), each saying what
matched. `only_assigned_to` keeps, as everywhere in the panel (webapp/queries/visibility.py),
conversations and orders assigned to that manager or to nobody, and clients they manage or
have orders with.

PostgreSQL serves the "contains" searches from trigram GIN indexes (migrations 0004, and
0011 for company names); SQLite scans."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ChannelIdentity, Client, Order, OrderStatus
from inbox.models import Conversation, Message
from webapp.queries import matching
from webapp.queries.inbox import InboxRow, inbox_rows, listed_kinds
from webapp.queries.visibility import (
    client_visible,
    conversation_visible,
    order_visible,
    with_context,
)

MIN_TEXT = 3  # trigram search needs three characters
SNIPPET_CHARS = 90


@dataclass(frozen=True, slots=True)
class ConversationHit:
    row: InboxRow
    matched: str  # "order", "client", "company", "phone", "email" or "text"
    message_id: int | None = None  # the matching message ("text")
    snippet: str | None = None  # the matching message around the match ("text")


@dataclass(frozen=True, slots=True)
class OrderHit:
    order_id: int
    number: int
    title: str
    status: OrderStatus
    client_id: int
    client_name: str


@dataclass(frozen=True, slots=True)
class ClientHit:
    client_id: int
    name: str
    phone: str | None
    email: str | None
    matched: str  # "client" (name), "company", "phone" or "email"


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    conversations: list[ConversationHit]
    orders: list[OrderHit]
    clients: list[ClientHit]


async def search(
    session: AsyncSession,
    text: str,
    *,
    viewer_id: int,
    limit: int = 20,
    only_assigned_to: int | None = None,
) -> SearchResult:
    query = " ".join(text.split())
    if not query:
        return SearchResult(query, [], [], [])
    orders = await _orders(session, query, limit, only_assigned_to)
    clients = await _clients(session, query, limit, only_assigned_to)
    found: dict[int, tuple[str, int | None, str | None]] = {}
    for conversation_id in await _conversations_of(
        session, [o.order_id for o in orders], [], limit, only_assigned_to
    ):
        found.setdefault(conversation_id, ("order", None, None))
    for hit in clients:
        for conversation_id in await _conversations_of(
            session, [], [hit.client_id], limit, only_assigned_to
        ):
            found.setdefault(conversation_id, (hit.matched, None, None))
    if (
        len(query) >= MIN_TEXT
        and matching.order_number(query) is None
        and not matching.looks_like_phone(query)
    ):
        for conversation_id, message_id, body in await _messages(
            session, query, limit, only_assigned_to
        ):
            found.setdefault(conversation_id, ("text", message_id, snippet(body, query)))
    rows = await inbox_rows(session, list(found)[:limit], viewer_id=viewer_id)
    hits = [ConversationHit(row, *found[row.conversation_id]) for row in rows]
    return SearchResult(query, hits, orders, clients)


async def _orders(
    session: AsyncSession, query: str, limit: int, only_assigned_to: int | None
) -> list[OrderHit]:
    number = matching.order_number(query)
    if number is None:
        return []
    statement = (
        select(Order.id, Order.number, Order.title, Order.status, Order.client_id, Client.name)
        .join(Client, Client.id == Order.client_id)
        .where(Order.number == number)
    )
    statement = statement.where(order_visible(only_assigned_to))
    rows = await session.execute(statement.limit(limit))
    return [OrderHit(*row) for row in rows]


async def _clients(
    session: AsyncSession, query: str, limit: int, only_assigned_to: int | None
) -> list[ClientHit]:
    dialect = matching.dialect_of(session)
    tests: list[tuple[str, ColumnElement[bool]]] = []
    if matching.looks_like_phone(query):
        on_client = matching.phone_matches(Client.phone, query)
        on_identity = matching.phone_matches(ChannelIdentity.phone, query)
        assert on_client is not None and on_identity is not None
        by_identity = exists().where(ChannelIdentity.client_id == Client.id, on_identity)
        tests.append(("phone", or_(on_client, by_identity)))
    elif matching.order_number(query) is None:
        tests.append(("client", matching.name_matches(Client.name, query, dialect)))
        tests.append(("company", matching.contains(Client.company, query, dialect)))
        if " " not in query and query.isascii():  # e-mail addresses are ASCII
            by_identity = exists().where(
                ChannelIdentity.client_id == Client.id,
                matching.contains(ChannelIdentity.email, query, dialect),
            )
            email = or_(matching.contains(Client.email, query, dialect), by_identity)
            tests.append(("email", email))
    hits: dict[int, ClientHit] = {}
    for matched, condition in tests:
        statement = select(Client.id, Client.name, Client.phone, Client.email).where(condition)
        statement = statement.where(client_visible(only_assigned_to))
        statement = statement.order_by(Client.name, Client.id).limit(limit)
        for row in await session.execute(statement):
            hits.setdefault(row.id, ClientHit(row.id, row.name, row.phone, row.email, matched))
    return list(hits.values())[:limit]


async def _conversations_of(
    session: AsyncSession,
    order_ids: list[int],
    client_ids: list[int],
    limit: int,
    only_assigned_to: int | None,
) -> list[int]:
    if not order_ids and not client_ids:
        return []
    statement = with_context(select(Conversation.id)).where(
        listed_kinds(),
        Conversation.last_message_at.is_not(None),
        or_(Conversation.order_id.in_(order_ids), Conversation.client_id.in_(client_ids)),
    )
    statement = statement.where(conversation_visible(only_assigned_to))
    statement = statement.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    return list(await session.scalars(statement.limit(limit)))


async def _messages(
    session: AsyncSession, query: str, limit: int, only_assigned_to: int | None
) -> list[tuple[int, int, str]]:
    """The newest matching messages, one per conversation."""
    dialect = matching.dialect_of(session)
    statement = (
        select(Message.conversation_id, Message.id, Message.text)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(matching.contains(Message.text, query, dialect), listed_kinds())
    )
    if only_assigned_to is not None:
        statement = with_context(statement).where(conversation_visible(only_assigned_to))
    rows = await session.execute(statement.order_by(Message.id.desc()).limit(limit * 4))
    newest: dict[int, tuple[int, int, str]] = {}
    for conversation_id, message_id, body in rows:
        newest.setdefault(conversation_id, (conversation_id, message_id, body))
    return list(newest.values())


def snippet(text: str, query: str, chars: int = SNIPPET_CHARS) -> str:
    """The part of `text` around the first match of `query`, whitespace collapsed."""
    flat = " ".join(text.split())
    match = re.search(re.escape(query), flat, re.IGNORECASE)
    if match is None or len(flat) <= chars:
        return flat[:chars]
    start = max(0, match.start() - chars // 3)
    end = min(len(flat), start + chars)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
