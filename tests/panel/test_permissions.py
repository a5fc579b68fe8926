"""The permission matrix, route by route: every panel route is tried by every role (and by
nobody signed in), and the answer must be what the role's permissions say."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core.i18n import gettext
from core.models import Client, Order, StaffRole, User
from runtime.demo import fill_demo
from tests.panel.conftest import AddStaff, Panel
from tests.panel.orders_scene import ready_with_half_prepaid
from webapp.access.guard import PANEL_ROUTES, SESSION_COOKIE
from webapp.access.permissions import ROLE_PERMISSIONS, Permission
from webapp.access.sessions import start_session

P = Permission


def test_the_matrix_keeps_settings_with_the_owner_and_money_from_the_operator() -> None:
    owner, manager, operator = (ROLE_PERMISSIONS[role] for role in StaffRole)

    assert owner == frozenset(Permission)
    assert {P.SETTINGS, P.STAFF, P.REASSIGN} & manager == set()
    assert {P.ORDERS, P.REPLY, P.ORDER_STATUS, P.MONEY, P.ASSIGN, P.EXECUTORS} <= manager
    assert {P.MONEY, P.ORDER_STATUS, P.ASSIGN, P.SETTINGS, P.EXECUTORS} & operator == set()
    assert {P.INBOX, P.REPLY, P.INTAKE, P.ORDERS, P.CLIENTS} <= operator


async def test_every_route_answers_every_role_as_the_matrix_says(
    panel: Panel, add_staff: AddStaff
) -> None:
    await fill_demo(panel.container)  # so that /orders/{id} and the like find something
    users = {role: await add_staff(role, f"{role.value}@matrix.example") for role in StaffRole}
    routes = panel.client.app[PANEL_ROUTES]  # type: ignore[index]
    assert len(routes) >= 4
    seen: list[tuple[str, str, StaffRole, int]] = []
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        anonymous = await panel.client.request(route.method, path, allow_redirects=False)
        assert anonymous.status in (303, 401), (route, anonymous.status)
        for role, user_id in users.items():
            token, csrf = await _session_for(panel, user_id)
            response = await panel.client.request(
                route.method, path, cookies={SESSION_COOKIE: token},
                headers={"X-CSRF-Token": csrf}, allow_redirects=False,
            )  # fmt: skip
            seen.append((route.method, route.path, role, response.status))
            if route.permission in ROLE_PERMISSIONS[role]:
                assert response.status not in (401, 403), (route, role)
                assert response.status < 500, (route, role, await response.text())
            else:
                assert response.status == 403, (route, role, response.status)
    forbidden = {(method, path, role) for method, path, role, status in seen if status == 403}
    if any(route.path == "/settings" for route in routes):
        assert ("GET", "/settings", StaffRole.MANAGER) in forbidden


async def _session_for(panel: Panel, user_id: int) -> tuple[str, str]:
    async with panel.container.uow() as uow:
        user = await uow.session.scalar(sa.select(User).where(User.id == user_id))
        assert user is not None
        token = await start_session(uow.session, user, address="127.0.0.1", user_agent="test")
        await uow.commit()
    from webapp.access.sessions import find_staff

    async with panel.container.uow() as uow:
        staff = await find_staff(uow.session, token)
    assert staff is not None
    return token, staff.csrf_token


@pytest.mark.parametrize("role", list(StaffRole))
async def test_the_navigation_shows_only_what_the_role_may_open(
    panel: Panel, add_staff: AddStaff, role: StaffRole
) -> None:
    user_id = await add_staff(role, f"{role.value}@nav.example")
    token, _ = await _session_for(panel, user_id)
    html = await (await panel.client.get("/inbox", cookies={SESSION_COOKIE: token})).text()

    shown = set(re.findall(r'data-section="([a-z]+)"', html))
    expected = {
        section
        for section, permission in (
            ("inbox", P.INBOX), ("orders", P.ORDERS), ("exchange", P.EXCHANGE),
            ("executors", P.EXECUTORS), ("clients", P.CLIENTS), ("settings", P.SETTINGS),
        )
        if permission in ROLE_PERMISSIONS[role]
    }  # fmt: skip
    assert shown == expected


# Labels of money an operator must not see (the client's quoted price aside), in the
# panel's language; each is looked for as a whole label in the markup.
MONEY_LABELS = (
    "List price", "Prepayment", "Exchange price", "Executor price", "Due now", "Client's debt",
    "Payments", "Prepaid and held", "Charged", "Ledger lines", "Balance", "Debt", "Total paid",
    "Record payment", "Money",
)  # fmt: skip


def _money_shown(html: str) -> set[str]:
    found = set()
    for label in MONEY_LABELS:
        text = re.escape(gettext(label, "ru"))
        if re.search(rf">\s*{text}\s*[<:(]|\"{text}\"", html):
            found.add(label)
    return found


async def test_an_operator_sees_no_money_on_any_page_a_manager_sees_it_on(
    panel: Panel, add_staff: AddStaff
) -> None:
    # README: operators have no money; the clients list sorted by paid total, balance and
    # debt, and the order card showed prices and payments.
    await fill_demo(panel.container)
    await ready_with_half_prepaid(panel.container, deliver=True)  # a debt on the card
    async with panel.container.uow() as uow:
        order_ids = list(await uow.session.scalars(sa.select(Order.id).order_by(Order.id)))
        client_ids = list(await uow.session.scalars(sa.select(Client.id).order_by(Client.id)))
    pages = ["/clients", "/orders", "/orders/new", "/inbox"]
    pages += [f"/clients/{i}" for i in client_ids]
    pages += [f"/orders/{i}" for i in order_ids] + [f"/orders/{i}/status" for i in order_ids]
    pages += [f"/clients?sort={sort}" for sort in ("total_paid", "balance", "debt")]
    tokens = {}
    for role in (StaffRole.MANAGER, StaffRole.OPERATOR):
        user_id = await add_staff(role, f"{role.value}@money.example")
        tokens[role] = (await _session_for(panel, user_id))[0]

    seen_by_manager: set[str] = set()
    for path in pages:
        as_operator = await panel.client.get(
            path, cookies={SESSION_COOKIE: tokens[StaffRole.OPERATOR]}
        )
        assert as_operator.status == 200, path
        assert _money_shown(await as_operator.text()) == set(), path
        as_manager = await panel.client.get(
            path, cookies={SESSION_COOKIE: tokens[StaffRole.MANAGER]}
        )
        seen_by_manager |= _money_shown(await as_manager.text())
    # The labels are real: a manager meets every one of them on the same pages.
    assert seen_by_manager == set(MONEY_LABELS)

    # A money sort asked for by an operator sorts by the last order instead.
    cookies = {SESSION_COOKIE: tokens[StaffRole.OPERATOR]}
    by_debt = await (await panel.client.get("/clients?sort=debt", cookies=cookies)).text()
    default = await (await panel.client.get("/clients", cookies=cookies)).text()
    assert re.findall(r'data-client="(\d+)"', by_debt) == re.findall(
        r'data-client="(\d+)"', default
    )


def test_reading_money_is_a_permission_of_the_owner_and_the_manager_only() -> None:
    assert {role for role in StaffRole if P.READ_MONEY in ROLE_PERMISSIONS[role]} == {
        StaffRole.OWNER,
        StaffRole.MANAGER,
    }
