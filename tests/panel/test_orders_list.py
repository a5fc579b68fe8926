"""The orders list over HTTP: status tabs with counts, filters, deadline warnings and the
rule that a restricted manager sees only their own orders."""

from __future__ import annotations

import re
from datetime import timedelta

from core.db import utcnow
from core.models import StaffRole
from runtime.demo import fill_demo
from tests.panel.conftest import AddStaff, Panel
from tests.panel.orders_scene import new_order, restrict_managers, sign_in_as
from webapp.queries import OrderTab

_ROW = re.compile(r'<tr data-order="(\d+)"')
_COUNT = re.compile(r'data-count="([a-z_]+)">(\d+)<')


def numbers(html: str) -> list[int]:
    return [int(number) for number in _ROW.findall(html)]


def counts(html: str) -> dict[str, int]:
    return {tab: int(count) for tab, count in _COUNT.findall(html)}


async def test_each_tab_lists_its_orders_and_every_tab_shows_its_count(
    panel: Panel, add_staff: AddStaff
) -> None:
    await fill_demo(panel.container)
    await sign_in_as(panel, add_staff, StaffRole.OWNER)

    first = await (await panel.client.get("/orders")).text()
    in_work = await (await panel.client.get("/orders?tab=in_work")).text()
    archive = await (await panel.client.get("/orders?tab=archive")).text()

    # The demo has one order in every status; drafts are in no tab.
    assert counts(first) == {
        "new": 2, "evaluating": 3, "awaiting_payment": 1, "on_exchange": 3,
        "in_work": 7, "review": 1, "ready": 3, "archive": 5,
    }  # fmt: skip
    assert set(counts(first)) == {tab.value for tab in OrderTab}
    assert len(numbers(first)) == 2
    assert len(numbers(in_work)) == 7
    assert len(numbers(archive)) == 5
    assert "Отменён" in archive or "Отменен" in archive
    assert 'aria-current="page">В работе' in in_work
    english = await (await panel.client.get("/orders?tab=in_work&lang=en")).text()
    assert 'aria-current="page">In work' in english and "No orders here." not in english


async def test_filters_by_kind_manager_client_and_deadline_and_sorts_by_deadline(
    panel: Panel, add_staff: AddStaff
) -> None:
    me = await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    other = await add_staff(StaffRole.MANAGER, "other@orders.example", name="Другой")
    now = utcnow()
    late = await new_order(panel.container, manager_id=me, deadline=now - timedelta(hours=3))
    soon = await new_order(panel.container, manager_id=other, deadline=now + timedelta(hours=5))
    later = await new_order(
        panel.container, kind="print_job", client_name="Борис Печатник",
        deadline=now + timedelta(days=20),
    )  # fmt: skip
    number = {oid: await _number(panel, oid) for oid in (late, soon, later)}

    by_deadline = await _get(panel, "/orders?sort=deadline")
    mine = await _get(panel, "/orders?manager=me")
    theirs = await _get(panel, f"/orders?manager={other}")
    overdue = await _get(panel, "/orders?due=overdue")
    prints = await _get(panel, f"/orders?kind={await _kind_id(panel, 'print_job')}")
    boris = await _get(panel, "/orders?q=Бор")

    assert numbers(by_deadline) == [number[late], number[soon], number[later]]
    assert numbers(mine) == [number[late]]
    assert numbers(theirs) == [number[soon]]
    assert numbers(overdue) == [number[late]]
    assert numbers(prints) == [number[later]]
    assert numbers(boris) == [number[later]]
    assert counts(boris)["new"] == 1
    assert f'<tr data-order="{number[late]}" class="due-overdue">' in by_deadline
    assert f'<tr data-order="{number[soon]}" class="due-soon">' in by_deadline
    assert f'<tr data-order="{number[later]}">' in by_deadline
    assert "просрочен" in by_deadline


async def test_a_restricted_manager_sees_only_their_orders_and_gets_404_for_another(
    panel: Panel, add_staff: AddStaff
) -> None:
    await restrict_managers(panel.container)
    me = await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    other = await add_staff(StaffRole.MANAGER, "other@orders.example")
    mine = await new_order(panel.container, manager_id=me)
    theirs = await new_order(panel.container, manager_id=other)

    listed = await _get(panel, "/orders")
    own_card = await panel.client.get(f"/orders/{mine}")
    their_card = await panel.client.get(f"/orders/{theirs}")
    their_status = await panel.client.get(f"/orders/{theirs}/status")
    their_action = await panel.post(f"/orders/{theirs}/status/start_evaluation")

    assert numbers(listed) == [await _number(panel, mine)]
    assert own_card.status == 200
    assert their_card.status == 404
    assert their_status.status == 404
    assert their_action.status == 404


async def _get(panel: Panel, path: str) -> str:
    response = await panel.client.get(path)
    assert response.status == 200, await response.text()
    return await response.text()


async def _number(panel: Panel, order_id: int) -> int:
    from tests.panel.orders_scene import order_in_db

    return (await order_in_db(panel.container, order_id)).number


async def _kind_id(panel: Panel, code: str) -> int:
    from tests import builders

    async with panel.container.uow() as uow:
        return (await builders.kind(uow.session, code)).id
