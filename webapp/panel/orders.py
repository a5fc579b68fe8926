"""The orders list: status tabs with counts, filters (deadline, manager, kind, client) and
sorting, on a table that stacks on a phone. Also where every order page adds its routes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.models import OrderKind
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES, STAFF
from webapp.panel import exchange, intake, order_actions, order_card, order_money
from webapp.panel.inputs import parse_id
from webapp.panel.order_access import managers
from webapp.panel.order_format import TAB_LABELS, Formats
from webapp.panel.render import panel_locale, render_page
from webapp.queries import (
    OrderFilters,
    OrderSort,
    OrderTab,
    client_quick_search,
    order_page,
)

PAGE_SIZE = 50
DUE_CHOICES = ("overdue", "today", "week")


def add_orders_routes(panel: PanelRoutes) -> None:
    panel.get("/orders", orders_list, Permission.ORDERS, name="orders")
    intake.add_intake_routes(panel)  # before /orders/{order_id}: "new" is not an id
    order_card.add_card_routes(panel)
    order_actions.add_action_routes(panel)
    order_money.add_money_routes(panel)
    exchange.add_exchange_routes(panel)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The list's query string, read leniently: anything unknown is ignored."""

    tab: OrderTab = OrderTab.NEW
    sort: OrderSort = OrderSort.CREATED
    manager: str = ""  # a user id, "me", or "" for everybody
    kind: int | None = None
    due: str = ""
    client: int | None = None
    q: str = ""
    page: int = 1

    @classmethod
    def read(cls, request: web.Request) -> ListQuery:
        query = request.query
        tab = query.get("tab", "")
        sort = query.get("sort", "")
        manager = query.get("manager", "")
        due = query.get("due", "")
        return cls(
            tab=OrderTab(tab) if tab in OrderTab.__members__.values() else OrderTab.NEW,
            sort=OrderSort(sort) if sort in OrderSort.__members__.values() else OrderSort.CREATED,
            manager=manager if manager == "me" or parse_id(manager) else "",
            kind=_number(query.get("kind")),
            due=due if due in DUE_CHOICES else "",
            client=_number(query.get("client")),
            q=query.get("q", "").strip()[:100],
            page=max(1, _number(query.get("page")) or 1),
        )

    def link(self, **changes: object) -> str:
        """This list with some parameters changed (a tab keeps the filters, drops the page)."""
        values = {
            "tab": self.tab.value, "sort": self.sort.value, "manager": self.manager,
            "kind": self.kind, "due": self.due, "client": self.client, "q": self.q,
            "page": self.page,
        } | changes  # fmt: skip
        if values["page"] == 1:
            values.pop("page")
        kept = {key: value for key, value in values.items() if value not in (None, "")}
        return "/orders?" + urlencode(kept)


async def orders_list(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    services = request.app[SERVICES]
    locale = panel_locale(request)
    now = utcnow()
    query = ListQuery.read(request)
    async with services.uow() as uow:
        session = uow.session
        hits = await client_quick_search(session, query.q) if query.q and not query.client else []
        client_id = query.client or (hits[0].client_id if len(hits) == 1 else None)
        nobody = bool(query.q) and not query.client and not hits
        filters = _filters(
            query, staff.user_id, staff.only_assigned_to, client_id, now, services.tz
        )
        if nobody:
            filters = OrderFilters(client_id=0, only_assigned_to=staff.only_assigned_to)
        page = await order_page(
            session, tab=query.tab, sort=query.sort, filters=filters, page=query.page,
            limit=PAGE_SIZE,
        )  # fmt: skip
        kinds = await _kinds(session)
        people = await managers(session)
    return render_page(
        request,
        "panel/orders/list.html",
        section="orders",
        page=page,
        query=query,
        tabs=[(tab, TAB_LABELS[tab]) for tab in OrderTab],
        kinds=kinds,
        managers=people,
        hits=hits if len(hits) > 1 else [],
        nobody=nobody,
        fmt=Formats(locale, services.tz, now),
    )


def _filters(
    query: ListQuery, me: int, only_assigned_to: int | None, client_id: int | None,
    now: datetime, tz: object,
) -> OrderFilters:  # fmt: skip
    manager_id = me if query.manager == "me" else _number(query.manager)
    deadline_from, deadline_to = _due_window(query.due, now, tz)
    return OrderFilters(
        manager_id=manager_id,
        kind_ids=(query.kind,) if query.kind else (),
        client_id=client_id,
        deadline_from=deadline_from,
        deadline_to=deadline_to,
        only_assigned_to=only_assigned_to,
    )


def _due_window(due: str, now: datetime, tz: object) -> tuple[datetime | None, datetime | None]:
    """overdue: before now; today: until the end of today; week: within seven days."""
    if due == "overdue":
        return None, now
    if due == "today":
        local = now.astimezone(tz)  # type: ignore[arg-type]
        end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
        return None, end
    if due == "week":
        return None, now + timedelta(days=7)
    return None, None


async def _kinds(session: AsyncSession) -> list[tuple[int, str]]:
    rows = await session.execute(select(OrderKind.id, OrderKind.name).order_by(OrderKind.position))
    return [(kind_id, name) for kind_id, name in rows]


def _number(raw: str | None) -> int | None:
    return parse_id(raw)
