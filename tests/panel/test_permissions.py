"""The permission matrix, route by route: every panel route is tried by every role (and by
nobody signed in), and the answer must be what the role's permissions say."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core.models import StaffRole, User
from runtime.demo import fill_demo
from tests.panel.conftest import AddStaff, Panel
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
