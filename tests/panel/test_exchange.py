"""The exchange board over HTTP: jobs on the exchange with their live bids, the paid ones
waiting to go on it, putting a job on and taking it off."""

from __future__ import annotations

from core import exchange
from core.models import Order, OrderStatus, StaffRole
from tests import builders
from tests.panel.conftest import AddStaff, Panel
from tests.panel.orders_scene import advance, new_order, order_in_db, sign_in_as


async def test_the_board_shows_bids_and_waiting_jobs_and_puts_them_on_and_off(
    panel: Panel, add_staff: AddStaff
) -> None:
    offered = await new_order(panel.container, client_name="Анна Биржевая")
    waiting = await new_order(panel.container, client_name="Борис Ждущий")
    await advance(panel.container, offered, "quote", "accept", "pay", "publish")
    await advance(panel.container, waiting, "quote", "accept", "pay")
    async with panel.container.uow() as uow:
        order = await uow.session.get(Order, offered)
        assert order is not None
        for name, price in (("Ольга", 400_000), ("Павел", 350_000)):
            executor = await builders.executor(uow.session, name)
            await exchange.place_bid(uow.session, order, executor, price)
        await uow.commit()
    numbers = {oid: (await order_in_db(panel.container, oid)).number for oid in (offered, waiting)}
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)

    board = await (await panel.client.get("/exchange")).text()
    published = await panel.post(
        f"/orders/{waiting}/exchange/publish", {"price": "2500", "back": "/exchange"}
    )
    withdrawn = await panel.post(f"/orders/{offered}/exchange/withdraw", {"back": "/exchange"})
    after = await (await panel.client.get("/exchange")).text()

    on_board, queue = board.split('class="stack waiting"')
    assert f'data-order="{numbers[offered]}"' in on_board
    assert '<td data-test="bids">2 · <span class="small">лучшая 3\xa0500\xa0₽</span>' in on_board
    assert f'data-order="{numbers[waiting]}"' in queue
    assert (published.status, published.headers["Location"]) == (303, "/exchange")
    assert withdrawn.status == 303
    moved_on = await order_in_db(panel.container, waiting)
    assert (moved_on.status, moved_on.exchange_price) == (OrderStatus.ON_EXCHANGE, 250_000)
    assert (await order_in_db(panel.container, offered)).status is OrderStatus.PAID
    on_board, queue = after.split('class="stack waiting"')
    assert f'data-order="{numbers[waiting]}"' in on_board and "2\xa0500\xa0₽" in on_board
    assert f'data-order="{numbers[offered]}"' in queue


async def test_an_operator_has_no_exchange(panel: Panel, add_staff: AddStaff) -> None:
    order_id = await new_order(panel.container)
    await advance(panel.container, order_id, "quote", "accept", "pay")
    await sign_in_as(panel, add_staff, StaffRole.OPERATOR)

    board = await panel.client.get("/exchange")
    publish = await panel.post(f"/orders/{order_id}/exchange/publish")

    assert (board.status, publish.status) == (403, 403)
    assert (await order_in_db(panel.container, order_id)).status is OrderStatus.PAID
