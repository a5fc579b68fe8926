"""One visibility rule (webapp/queries/visibility.py): a manager whom "managers see all" (off)
restricts sees nothing of another manager's orders, conversations and clients through any
list, search or prefilled form, while their own and nobody's work stays in view."""

from __future__ import annotations

from core.models import Client, Order
from inbox.conversations import order_thread
from inbox.models import ConversationKind
from tests import builders
from tests.integration import panel_scene
from tests.panel.conftest import AddStaff, Panel
from tests.panel.inbox_helpers import Desk, desk, restrict_managers

BORIS = ("Борис Петров", "boris@example.ru")  # Ivan's client (what is typed is echoed)


async def _work_for_one_executor(panel: Panel, scene: Desk) -> tuple[int, int, int]:
    """The executor works on Ivan's order B and Maria's order A; returns (executor id,
    the executor's thread on B, the executor's thread on A)."""
    async with panel.container.sessions() as session:
        author = await builders.executor(session, "Пётр Автор")
        threads = []
        for order_id in (scene.order_b.id, scene.order_a.id):
            order = await session.get(Order, order_id)
            assert order is not None
            order.executor_id = author.id
            thread = await order_thread(session, order, ConversationKind.EXECUTOR)
            await panel_scene.inbound(session, thread, "Взялся", channel="loopback")
            threads.append(thread.id)
        await session.commit()
        return author.id, threads[0], threads[1]


async def test_a_restricted_manager_finds_nothing_of_another_managers_work_in_any_list(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    author, ivans_thread, marias_thread = await _work_for_one_executor(panel, scene)
    async with panel.container.sessions() as session:
        order_b = await session.get(Order, scene.order_b.id)
        assert order_b is not None
        boris_id = order_b.client_id
        boris = await session.get(Client, boris_id)
        assert boris is not None
        boris.phone = "+79001112233"
        await session.commit()
    await restrict_managers(panel.container)
    await panel.sign_in("maria@desk.example")

    executor_card = await (await panel.client.get(f"/executors/{author}")).text()
    quick = [
        await (await panel.client.get("/orders/new/clients", params={"client_q": q})).text()
        for q in ("Борис", "Бор", "boris")
    ]
    prefilled = await (await panel.client.get(f"/orders/new?client={boris_id}")).text()
    posted = await panel.post(
        "/orders/new",
        {"kind": str(scene.order_b.kind_id), "client_id": str(boris_id), "topic": "x"},
    )
    probes = {
        "clients": await (await panel.client.get("/clients", params={"q": "Борис"})).text(),
        "search": await (await panel.client.get("/inbox", params={"q": "Борис"})).text(),
        "number": await (
            await panel.client.get("/inbox", params={"q": str(scene.order_b.number)})
        ).text(),
        "orders": await (await panel.client.get("/orders")).text(),
        "exchange": await (await panel.client.get("/exchange")).text(),
    }
    client_card = await panel.client.get(f"/clients/{boris_id}")
    same_phone = await panel.post(
        "/orders/new",
        {"kind": str(scene.order_b.kind_id), "new_name": "Борис", "new_phone": "89001112233"},
    )

    assert f"/orders/{scene.order_b.id}" not in executor_card
    assert f"/conversations/{ivans_thread}" not in executor_card
    # Her own work with the same executor is still there.
    assert f"/orders/{scene.order_a.id}" in executor_card
    assert f"/conversations/{marias_thread}" in executor_card
    for html in (*quick, prefilled):
        assert f'name="client_id" value="{boris_id}"' not in html
        assert all(part not in html for part in BORIS), html
    assert posted.status == 422  # Boris is no client of hers: pick or enter one
    assert f'name="client_id" value="{boris_id}"' not in await posted.text()
    for name, html in probes.items():
        assert f'/orders/{scene.order_b.id}"' not in html, name
        assert f'/conversations/{scene.thread_b}"' not in html, name
        assert all(part not in html for part in BORIS), name
    assert client_card.status == 404
    assert same_phone.status == 422
    same_phone_page = await same_phone.text()
    assert "клиента другого менеджера" in same_phone_page
    assert all(part not in same_phone_page for part in BORIS)


async def test_an_unrestricted_manager_still_finds_everyones_work(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    author, ivans_thread, _marias_thread = await _work_for_one_executor(panel, scene)
    await panel.sign_in("maria@desk.example")

    executor_card = await (await panel.client.get(f"/executors/{author}")).text()
    quick = await (await panel.client.get("/orders/new/clients", params={"client_q": "Бор"})).text()

    assert f"/orders/{scene.order_b.id}" in executor_card
    assert f"/conversations/{ivans_thread}" in executor_card
    assert "Борис" in quick and "boris@example.ru" in quick
