"""The order card: everything about one order on one page.

    order_card(session, order_id, messages_per_thread=30) -> OrderCard | None

The order with its kind, the client (with their free balance), the executor and the
manager; the client thread, executor thread and internal notes (the last N messages each,
`threads.thread_messages` loads older ones); files by purpose; bids; payments, the order's
ledger lines and money summary (`core.ledger.order_money`); the full history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import null, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.ledger import OrderMoney
from core.models import (
    AccountKind,
    BidStatus,
    Client,
    Executor,
    FilePurpose,
    Order,
    OrderKind,
    StoredFile,
    User,
)
from inbox.conversations import ORDER_KINDS
from inbox.models import Conversation, ConversationKind
from webapp.queries.card_parts import (
    BidView,
    HistoryEntry,
    LedgerLine,
    PaymentView,
    bids,
    history,
    ledger_lines,
    payments,
)
from webapp.queries.threads import (
    MESSAGES_PER_PAGE,
    FileView,
    ThreadView,
    _thread,
    file_view,
)


@dataclass(frozen=True, slots=True)
class PersonRef:
    id: int
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class ClientInfo:
    id: int
    name: str
    phone: str | None
    email: str | None
    company: str | None
    balance: int  # free money on the client's balance, minor units of the order's currency


@dataclass(frozen=True, slots=True)
class OrderCard:
    order: Order  # detached-safe: kind is loaded; use the fields, not lazy relationships
    kind: OrderKind
    client: ClientInfo
    executor: PersonRef | None
    manager: PersonRef | None
    threads: dict[ConversationKind, ThreadView]  # client / executor / notes that exist
    files: dict[FilePurpose, list[FileView]]
    bids: list[BidView]
    payments: list[PaymentView]
    ledger: list[LedgerLine]
    money: OrderMoney
    history: list[HistoryEntry]

    @property
    def active_bids(self) -> list[BidView]:
        return [bid for bid in self.bids if bid.status is BidStatus.ACTIVE]


async def order_card(
    session: AsyncSession, order_id: int, *, messages_per_thread: int = MESSAGES_PER_PAGE
) -> OrderCard | None:
    order = await session.get(Order, order_id)
    if order is None:
        return None
    client = await session.get(Client, order.client_id)
    assert client is not None
    balance = await ledger.balance(session, AccountKind.CLIENT_BALANCE, client.id, order.currency)
    return OrderCard(
        order=order,
        kind=order.kind,
        client=ClientInfo(
            client.id, client.name, client.phone, client.email, client.company, balance
        ),
        executor=await _person(session, Executor, order.executor_id),
        manager=await _person(session, User, order.manager_id),
        threads=await _threads(session, order.id, messages_per_thread),
        files=await _files(session, order.id),
        bids=await bids(session, order.id),
        payments=await payments(session, order.id),
        ledger=await ledger_lines(session, order.id),
        money=await ledger.order_money(session, order.id, order.currency),
        history=await history(session, order.id),
    )


async def _person(session: AsyncSession, model: Any, person_id: int | None) -> PersonRef | None:
    if person_id is None:
        return None
    phone = model.phone if hasattr(model, "phone") else null()
    query = select(model.id, model.name, phone, model.email).where(model.id == person_id)
    row = (await session.execute(query)).first()
    return PersonRef(*row) if row else None


async def _threads(
    session: AsyncSession, order_id: int, limit: int
) -> dict[ConversationKind, ThreadView]:
    found = await session.execute(
        select(Conversation.id, Conversation.kind).where(Conversation.order_id == order_id)
    )
    by_kind = {kind: conversation_id for conversation_id, kind in found}
    return {
        kind: await _thread(session, by_kind[kind], kind, None, limit)
        for kind in ORDER_KINDS
        if kind in by_kind
    }


async def _files(session: AsyncSession, order_id: int) -> dict[FilePurpose, list[FileView]]:
    rows = await session.scalars(
        select(StoredFile).where(StoredFile.order_id == order_id).order_by(StoredFile.id)
    )
    grouped: dict[FilePurpose, list[FileView]] = {}
    for stored in rows:
        grouped.setdefault(stored.purpose, []).append(file_view(stored))
    return grouped


__all__ = [
    "BidView",
    "ClientInfo",
    "HistoryEntry",
    "LedgerLine",
    "OrderCard",
    "PaymentView",
    "PersonRef",
    "order_card",
]
