"""Clients: the sortable list, the client card and the operator's quick search.

    client_page(session, sort=ClientSort.LAST_ORDER, query="", limit=50, offset=0,
                currency="RUB", only_assigned_to=None) -> ClientPage
    client_card(session, client_id, viewer_id=, currency="RUB") -> ClientCard | None
    client_quick_search(session, prefix, limit=10) -> list[ClientHit]

Money figures (balance, total paid, debt) are defined in `client_money`. The quick search
is for the intake form: the first letters of any word of the name ("смир" finds "Анна
Смирнова"), or phone digits in any format ("912 34" finds +79123456789)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.models import ChannelIdentity, Client, Order, User
from inbox.models import Conversation
from webapp.queries import matching
from webapp.queries.client_money import (
    ClientMoney,
    balances,
    client_money,
    debts,
    figures,
    paid_totals,
)
from webapp.queries.inbox import InboxRow, inbox_rows
from webapp.queries.orders import OrderRow, order_rows
from webapp.queries.search import ClientHit
from webapp.queries.visibility import (
    client_visible,
    conversation_visible,
    order_visible,
    with_context,
)

QUICK_PHONE_DIGITS = 3


class ClientSort(enum.StrEnum):
    LAST_ORDER = "last_order"  # most recent order first, clients without orders last
    TOTAL_PAID = "total_paid"  # most first
    BALANCE = "balance"  # most first
    DEBT = "debt"  # most first
    NAME = "name"  # A to Я


@dataclass(frozen=True, slots=True)
class ClientRow:
    client_id: int
    name: str
    phone: str | None
    email: str | None
    company: str | None
    manager_name: str | None
    orders: int
    last_order_at: datetime | None
    total_paid: int
    balance: int
    debt: int


@dataclass(frozen=True, slots=True)
class ClientPage:
    rows: list[ClientRow]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class ClientCard:
    client_id: int
    name: str
    phone: str | None
    email: str | None
    company: str | None
    notes: str | None
    manager_name: str | None
    created_at: datetime
    money: ClientMoney
    identities: list[tuple[str, str | None, bool]]  # (channel, display name, reachable)
    orders: list[OrderRow]  # newest first
    conversations: list[InboxRow]  # newest activity first


async def client_page(
    session: AsyncSession,
    *,
    sort: ClientSort = ClientSort.LAST_ORDER,
    query: str = "",
    limit: int = 50,
    offset: int = 0,
    currency: str = "RUB",
    only_assigned_to: int | None = None,
) -> ClientPage:
    """The sort key is computed for every client; the other figures only for the page."""
    wanted = _wanted(session, query, only_assigned_to)
    ids = list(await session.scalars(_page_ids(sort, currency, wanted, limit, offset)))
    rows = await client_rows(session, ids, currency)
    total = await session.scalar(select(func.count()).select_from(Client).where(*wanted))
    return ClientPage(rows, int(total or 0), limit, offset)


def _page_ids(
    sort: ClientSort, currency: str, wanted: list[Any], limit: int, offset: int
) -> Select[int]:
    statement = select(Client.id).where(*wanted)
    if sort is ClientSort.NAME:
        ordering: list[Any] = [Client.name]
    elif sort is ClientSort.LAST_ORDER:
        last = (
            select(Order.client_id, func.max(Order.created_at).label("at"))
            .group_by(Order.client_id)
            .subquery("last_orders")
        )
        statement = statement.outerjoin(last, last.c.client_id == Client.id)
        ordering = [last.c.at.desc().nulls_last()]
    else:
        make, column = {
            ClientSort.TOTAL_PAID: (paid_totals, "paid"),
            ClientSort.BALANCE: (balances, "balance"),
            ClientSort.DEBT: (debts, "debt"),
        }[sort]
        figure = make(currency)
        statement = statement.outerjoin(figure, figure.c.client_id == Client.id)
        ordering = [func.coalesce(figure.c[column], 0).desc()]
    return statement.order_by(*ordering, Client.id).limit(limit).offset(offset)


async def client_rows(
    session: AsyncSession, client_ids: Sequence[int], currency: str = "RUB"
) -> list[ClientRow]:
    """Rows of these clients, in the order given."""
    if not client_ids:
        return []
    ids = list(client_ids)
    manager = aliased(User)
    people = {
        row.id: row
        for row in await session.execute(
            select(
                Client.id,
                Client.name,
                Client.phone,
                Client.email,
                Client.company,
                manager.name.label("manager_name"),
            )
            .outerjoin(manager, manager.id == Client.manager_id)
            .where(Client.id.in_(ids))
        )
    }
    orders = {
        row.client_id: row
        for row in await session.execute(
            select(
                Order.client_id,
                func.count().label("orders"),
                func.max(Order.created_at).label("last"),
            )
            .where(Order.client_id.in_(ids))
            .group_by(Order.client_id)
        )
    }
    money = await figures(session, ids, currency)
    rows = []
    for client_id in ids:
        person, ordered, cash = people.get(client_id), orders.get(client_id), money[client_id]
        if person is None:
            continue
        rows.append(
            ClientRow(
                client_id=client_id,
                name=person.name,
                phone=person.phone,
                email=person.email,
                company=person.company,
                manager_name=person.manager_name,
                orders=ordered.orders if ordered else 0,
                last_order_at=ordered.last if ordered else None,
                total_paid=cash.total_paid,
                balance=cash.balance,
                debt=cash.debt,
            )
        )
    return rows


def _wanted(session: AsyncSession, query: str, only_assigned_to: int | None) -> list[Any]:
    conditions: list[ColumnElement[bool]] = []
    text = " ".join(query.split())
    if text:
        dialect = matching.dialect_of(session)
        tests = [
            matching.contains(Client.name, text, dialect),
            matching.contains(Client.email, text, dialect),
        ]
        phone = matching.phone_matches(Client.phone, text)
        if phone is not None and matching.looks_like_phone(text, QUICK_PHONE_DIGITS):
            tests.append(phone)
        conditions.append(or_(*tests))
    if only_assigned_to is not None:
        conditions.append(client_visible(only_assigned_to))
    return conditions


async def client_card(
    session: AsyncSession,
    client_id: int,
    *,
    viewer_id: int,
    currency: str = "RUB",
    only_assigned_to: int | None = None,
) -> ClientCard | None:
    """The client's card; for a restricted manager None unless the client is visible to
    them, and only their (or nobody's) orders and conversations are listed."""
    if only_assigned_to is not None:
        visible = select(Client.id).where(Client.id == client_id, client_visible(only_assigned_to))
        if await session.scalar(visible) is None:
            return None
    client = await session.get(Client, client_id)
    if client is None:
        return None
    manager = await session.get(User, client.manager_id) if client.manager_id else None
    identities = await session.execute(
        select(ChannelIdentity.channel, ChannelIdentity.display_name, ChannelIdentity.reachable)
        .where(ChannelIdentity.client_id == client_id)
        .order_by(ChannelIdentity.last_seen_at.desc(), ChannelIdentity.id)
    )
    order_ids = await session.scalars(
        select(Order.id)
        .where(Order.client_id == client_id, order_visible(only_assigned_to))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    conversation_ids = await session.scalars(
        with_context(select(Conversation.id))
        .where(
            Conversation.client_id == client_id,
            Conversation.last_message_at.is_not(None),
            conversation_visible(only_assigned_to),
        )
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    )
    return ClientCard(
        client_id=client.id,
        name=client.name,
        phone=client.phone,
        email=client.email,
        company=client.company,
        notes=client.notes,
        manager_name=manager.name if manager else None,
        created_at=client.created_at,
        money=await client_money(session, client_id, currency),
        identities=[(row.channel, row.display_name, row.reachable) for row in identities],
        orders=await order_rows(session, list(order_ids)),
        conversations=await inbox_rows(session, list(conversation_ids), viewer_id=viewer_id),
    )


async def client_quick_search(
    session: AsyncSession, prefix: str, *, limit: int = 10, only_assigned_to: int | None = None
) -> list[ClientHit]:
    text = " ".join(prefix.split())
    if not text:
        return []
    if matching.looks_like_phone(text, QUICK_PHONE_DIGITS):
        on_identity = matching.phone_matches(ChannelIdentity.phone, text)
        on_client = matching.phone_matches(Client.phone, text)
        assert on_identity is not None and on_client is not None
        condition = or_(
            on_client, exists().where(ChannelIdentity.client_id == Client.id, on_identity)
        )
        matched = "phone"
    else:
        condition = matching.starts_word(Client.name, text, matching.dialect_of(session))
        matched = "client"
    statement = (
        select(Client.id, Client.name, Client.phone, Client.email)
        .where(condition, client_visible(only_assigned_to))
        .order_by(Client.name, Client.id)
        .limit(limit)
    )
    return [ClientHit(*row, matched) for row in await session.execute(statement)]
