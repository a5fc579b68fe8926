"""Clients: the list sortable by last order, total paid, balance, debt or name, with search,
and the client card (contacts, money, discount, every order and conversation)."""

from __future__ import annotations

from aiohttp import web

from core.i18n import N_
from core.orders import client_discount_bp
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES, STAFF
from webapp.panel.inputs import parse_count
from webapp.panel.people_format import Format
from webapp.panel.render import render_page
from webapp.queries import ClientSort, client_card, client_page

PAGE_SIZE = 50
CURRENCY = "RUB"

SORT_LABELS = {
    ClientSort.NAME: N_("Name"),
    ClientSort.LAST_ORDER: N_("Last order"),
    ClientSort.TOTAL_PAID: N_("Total paid"),
    ClientSort.BALANCE: N_("Balance"),
    ClientSort.DEBT: N_("Debt"),
}
# Sorting by a money figure tells the figure's order: only for who may read money.
MONEY_SORTS = frozenset({ClientSort.TOTAL_PAID, ClientSort.BALANCE, ClientSort.DEBT})


def add_client_routes(panel: PanelRoutes) -> None:
    panel.get("/clients", clients_list, Permission.CLIENTS, name="clients")
    panel.get("/clients/{id:\\d+}", client_view, Permission.CLIENTS, name="client")


def _fmt(request: web.Request) -> Format:
    return Format.for_request(request)


async def clients_list(request: web.Request) -> web.StreamResponse:
    try:
        sort = ClientSort(request.query.get("sort", ClientSort.LAST_ORDER.value))
    except ValueError:
        sort = ClientSort.LAST_ORDER
    query = request.query.get("q", "").strip()[:100]
    page_number = _page_number(request.query.get("page", "1"))
    staff = request[STAFF]
    money = staff.can(Permission.READ_MONEY)
    if sort in MONEY_SORTS and not money:
        sort = ClientSort.LAST_ORDER
    sorts = {key: label for key, label in SORT_LABELS.items() if money or key not in MONEY_SORTS}
    async with request.app[SERVICES].uow() as uow:
        page = await client_page(
            uow.session, sort=sort, query=query, limit=PAGE_SIZE,
            offset=(page_number - 1) * PAGE_SIZE, currency=CURRENCY,
            only_assigned_to=staff.only_assigned_to,
        )  # fmt: skip
    pages = max(1, -(-page.total // PAGE_SIZE))
    return render_page(
        request, "panel/people/clients.html", section="clients", page=page, sort=sort,
        sorts=sorts, query=query, page_number=page_number, pages=pages, fmt=_fmt(request),
    )  # fmt: skip


async def client_view(request: web.Request) -> web.StreamResponse:
    client_id = int(request.match_info["id"])
    staff = request[STAFF]
    async with request.app[SERVICES].uow() as uow:
        # A manager restricted to their own work sees only their clients (the list's rule).
        card = await client_card(
            uow.session, client_id, viewer_id=staff.user_id, currency=CURRENCY,
            only_assigned_to=staff.only_assigned_to,
        )  # fmt: skip
        if card is None:
            raise web.HTTPNotFound(text="No such client")
        money = staff.can(Permission.READ_MONEY)
        discount = await client_discount_bp(uow.session, client_id, CURRENCY) if money else 0
    merged = request.query.get("merged", "")
    return render_page(
        request, "panel/people/client.html", section="clients", card=card, discount=discount,
        fmt=_fmt(request), merged=merged[:10] if merged.isdigit() else None,
    )  # fmt: skip


def _page_number(text: str) -> int:
    number = parse_count(text, max_digits=5)
    return max(1, min(number, 10_000)) if number is not None else 1
