"""The exchange board: jobs offered to executors with their live bids (count, best price)
and how long they have waited, and the paid orders that could go on the exchange, each
with its put-on / take-off action (core.exchange through the card's exchange routes)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Order, OrderKind, OrderStatus
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES, STAFF
from webapp.panel.order_format import Formats
from webapp.panel.render import render_page
from webapp.queries import OrderRow, exchange_board, order_rows
from webapp.queries.visibility import order_visible

WAITING_LIMIT = 100


def add_exchange_routes(panel: PanelRoutes) -> None:
    panel.get("/exchange", board, Permission.EXCHANGE, name="exchange")


async def board(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    services = request.app[SERVICES]
    async with services.uow() as uow:
        rows = await exchange_board(uow.session, only_assigned_to=staff.only_assigned_to)
        waiting = await _waiting(uow.session, staff.only_assigned_to)
    return render_page(
        request, "panel/orders/exchange.html", section="exchange", rows=rows, waiting=waiting,
        fmt=Formats.for_request(request),
    )  # fmt: skip


async def _waiting(session: AsyncSession, only_assigned_to: int | None) -> list[OrderRow]:
    """Paid orders of kinds that use the exchange, not offered to executors yet."""
    query = (
        select(Order.id)
        .join(OrderKind, OrderKind.id == Order.kind_id)
        .where(Order.status == OrderStatus.PAID, OrderKind.uses_exchange.is_(True))
        .order_by(Order.deadline.is_(None), Order.deadline, Order.id)
        .limit(WAITING_LIMIT)
    )
    query = query.where(order_visible(only_assigned_to))
    return await order_rows(session, list(await session.scalars(query)))
