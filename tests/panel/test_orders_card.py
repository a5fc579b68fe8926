"""The order card over HTTP: only the allowed actions per role and status, status actions
that move the order (with the audit trail), the confirmation before money moves, recording
a payment, assigning a bid, changing the manager, and editing the fields."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from core import exchange, ledger
from core.db import utcnow
from core.models import (
    AccountKind,
    Bid,
    BidStatus,
    LedgerTransaction,
    Order,
    OrderStatus,
    StaffRole,
)
from runtime.demo import fill_demo
from tests import builders
from tests.panel.conftest import AddStaff, Panel
from tests.panel.orders_scene import (
    advance,
    events_of,
    new_order,
    order_in_db,
    ready_with_half_prepaid,
    sign_in_as,
)

_ACTIONS = re.compile(r'data-action="([a-z_-]+)"')


def actions(html: str) -> set[str]:
    return set(_ACTIONS.findall(html))


async def card(panel: Panel, order_id: int) -> str:
    response = await panel.client.get(f"/orders/{order_id}")
    assert response.status == 200, await response.text()
    return await response.text()


async def test_the_card_shows_a_manager_the_moves_of_the_status_and_an_operator_no_money(
    panel: Panel, add_staff: AddStaff, open_panel: object
) -> None:
    order_id = await new_order(panel.container)
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    as_manager = await card(panel, order_id)

    async with open_panel() as desk:  # type: ignore[operator]
        await sign_in_as(desk, add_staff, StaffRole.OPERATOR)
        as_operator = await (await desk.client.get(f"/orders/{order_id}")).text()
        cancel = await desk.post(f"/orders/{order_id}/money/cancel", {"confirmed": "1"})
        quote = await desk.post(f"/orders/{order_id}/money/quote", {"price": "1000"})
        paid = await desk.post(f"/orders/{order_id}/payments", {"amount": "10", "method": "cash"})
        moved = await desk.post(f"/orders/{order_id}/status/start_evaluation")

    assert actions(as_manager) == {"start_evaluation", "quote", "cancel", "take-over"}
    assert "Начать оценку" in as_manager and "Отменить заказ" in as_manager
    assert 'data-test="record-payment"' in as_manager
    assert actions(as_operator) == set()
    assert 'data-test="record-payment"' not in as_operator
    assert 'data-test="fields-form"' in as_operator  # the operator edits the fields
    assert (cancel.status, quote.status, paid.status, moved.status) == (403, 403, 403, 403)
    assert (await order_in_db(panel.container, order_id)).status is OrderStatus.NEW


async def test_a_status_action_moves_the_order_and_writes_the_history(
    panel: Panel, add_staff: AddStaff
) -> None:
    order_id = await new_order(panel.container)
    manager = await sign_in_as(panel, add_staff, StaffRole.MANAGER)

    response = await panel.post(f"/orders/{order_id}/status/start_evaluation")
    html = await card(panel, order_id)

    assert response.status == 303
    assert response.headers["Location"] == f"/orders/{order_id}?done=moved"
    assert (await order_in_db(panel.container, order_id)).status is OrderStatus.EVALUATING
    last = (await events_of(panel.container, order_id))[-1]
    assert (last.action, last.from_status, last.to_status) == (
        "start_evaluation",
        "new",
        "evaluating",
    )
    assert last.actor_user_id == manager
    assert "Начата оценка" in html and "Новый → На оценке" in html
    assert actions(html) == {"quote", "cancel", "take-over"}
    # The same action again is refused by the rules and said so on the card.
    again = await panel.post(f"/orders/{order_id}/status/start_evaluation")
    assert again.headers["Location"] == f"/orders/{order_id}?error=wrong_status"
    refused = await (await panel.client.get(again.headers["Location"])).text()
    assert "В текущем статусе заказа это действие невозможно." in refused


async def test_a_quote_is_confirmed_before_it_is_set(panel: Panel, add_staff: AddStaff) -> None:
    order_id = await new_order(panel.container)  # a student paper: 50 % prepayment
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)

    asked = await panel.post(
        f"/orders/{order_id}/money/quote", {"price": "12 500", "discount": "10"}
    )
    page = await asked.text()
    unchanged = await order_in_db(panel.container, order_id)
    done = await panel.post(
        f"/orders/{order_id}/money/quote", {"price": "12 500", "discount": "10", "confirmed": "1"}
    )
    wrong = await panel.post(f"/orders/{order_id}/money/quote", {"price": "дорого"})

    assert asked.status == 200 and 'data-test="confirm"' in page
    assert "11\xa0250\xa0₽" in page and "5\xa0625\xa0₽" in page  # price after 10 %, prepayment
    assert unchanged.status is OrderStatus.NEW and unchanged.client_price is None
    assert done.status == 303
    quoted = await order_in_db(panel.container, order_id)
    assert quoted.status is OrderStatus.QUOTED
    assert (quoted.list_price, quoted.discount_bp, quoted.client_price) == (
        1_250_000,
        1000,
        1_125_000,
    )
    assert quoted.prepayment_amount == 562_500
    assert wrong.status == 422
    assert "Укажите сумму в рублях числом" in await wrong.text()


async def test_recording_a_payment_changes_what_is_due_and_books_ledger_lines(
    panel: Panel, add_staff: AddStaff
) -> None:
    order_id = await new_order(panel.container)
    await advance(panel.container, order_id, "quote", "accept", price=1_000_000)
    await sign_in_as(panel, add_staff, StaffRole.OWNER)
    before = await card(panel, order_id)

    asked = await panel.post(f"/orders/{order_id}/payments", {"amount": "5000", "method": "card"})
    done = await panel.post(
        f"/orders/{order_id}/payments", {"amount": "5000", "method": "card", "confirmed": "1"}
    )
    after = await card(panel, order_id)

    assert '<dd data-test="money-due">5\xa0000\xa0₽</dd>' in before
    assert asked.status == 200 and "Карта: 5\xa0000\xa0₽" in await asked.text()
    assert done.status == 303 and done.headers["Location"].endswith("done=paid")
    assert (await order_in_db(panel.container, order_id)).status is OrderStatus.PAID
    assert '<dd data-test="money-due">0\xa0₽</dd>' in after
    assert 'data-ledger="hold_prepayment"' in after  # the top-up is the client's, not the order's
    assert '5\xa0000\xa0₽ · Карта · <span class="muted">получен</span>' in after
    async with panel.container.uow() as uow:
        operations = set(
            await uow.session.scalars(
                sa.select(LedgerTransaction.operation).where(LedgerTransaction.order_id == order_id)
            )
        )
    assert "hold_prepayment" in operations


async def test_assigning_a_bid_gives_the_job_to_the_bidder(
    panel: Panel, add_staff: AddStaff
) -> None:
    order_id = await new_order(panel.container, details={"topic": "Тема", "pages": 20})
    await advance(panel.container, order_id, "quote", "accept", "pay", "publish")
    async with panel.container.uow() as uow:
        order = await uow.session.get(Order, order_id)
        cheap = await exchange.place_bid(
            uow.session, order, await builders.executor(uow.session, "Ольга"), 300_000
        )
        await exchange.place_bid(
            uow.session, order, await builders.executor(uow.session, "Павел"), 450_000
        )
        await uow.commit()
        cheap_id = cheap.id
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    before = await card(panel, order_id)

    response = await panel.post(f"/orders/{order_id}/assign", {"bid": str(cheap_id)})
    after = await card(panel, order_id)

    assert before.count('data-action="assign-bid"') == 2
    assert response.status == 303
    assigned = await order_in_db(panel.container, order_id)
    assert assigned.status is OrderStatus.ASSIGNED and assigned.executor_price == 300_000
    async with panel.container.uow() as uow:
        query = sa.select(Bid.id, Bid.status).where(Bid.order_id == order_id)
        statuses = {bid_id: status for bid_id, status in await uow.session.execute(query)}
    assert statuses[cheap_id] is BidStatus.WON
    assert sorted(statuses.values()) == sorted([BidStatus.WON, BidStatus.LOST])
    assert 'data-test="executor"><a href="/executors/' in after and "Ольга" in after
    assert "Назначен исполнитель" in after


async def test_only_the_owner_changes_the_manager(
    panel: Panel, add_staff: AddStaff, open_panel: object
) -> None:
    order_id = await new_order(panel.container)
    other = await add_staff(StaffRole.MANAGER, "second@orders.example", name="Второй Менеджер")
    await sign_in_as(panel, add_staff, StaffRole.OWNER)

    changed = await panel.post(f"/orders/{order_id}/manager", {"manager": str(other)})
    async with open_panel() as desk:  # type: ignore[operator]
        await sign_in_as(desk, add_staff, StaffRole.MANAGER)
        refused = await desk.post(f"/orders/{order_id}/manager", {"manager": "none"})

    assert changed.status == 303 and refused.status == 403
    assert (await order_in_db(panel.container, order_id)).manager_id == other
    assert (await events_of(panel.container, order_id))[-1].action == "change_manager"
    assert "Второй Менеджер" in await card(panel, order_id)


async def test_an_edit_with_a_past_date_comes_back_with_a_message_and_the_input_kept(
    panel: Panel, add_staff: AddStaff
) -> None:
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()
    order_id = await new_order(
        panel.container, details={"topic": "Старая тема", "pages": 20, "deadline": tomorrow}
    )
    await sign_in_as(panel, add_staff, StaffRole.OPERATOR)
    form = {
        "title": "Курсовая", "f_discipline": "Экономика", "f_work_type": "Coursework",
        "f_topic": "Новая тема", "f_pages": "40", "f_deadline": "2020-01-10",
    }  # fmt: skip

    wrong = await panel.post(f"/orders/{order_id}/fields", form)
    page = await wrong.text()
    too_many = await panel.post(
        f"/orders/{order_id}/fields", form | {"f_deadline": tomorrow, "f_pages": "900"}
    )
    saved = await panel.post(f"/orders/{order_id}/fields", form | {"f_deadline": tomorrow})

    assert wrong.status == 422
    assert "Эта дата уже прошла" in page
    assert 'value="Новая тема"' in page and 'value="2020-01-10"' in page and 'value="40"' in page
    assert too_many.status == 422 and "Число должно быть не больше 300" in await too_many.text()
    assert saved.status == 303
    order = await order_in_db(panel.container, order_id)
    assert order.details["topic"] == "Новая тема" and order.details["pages"] == 40
    assert order.title == "Курсовая"
    assert order.deadline is not None and order.deadline.date().isoformat() == tomorrow
    last = (await events_of(panel.container, order_id))[-1]
    assert last.action == "edit_fields" and last.data["changed"]["pages"] == [20, 40]
    history = (await card(panel, order_id)).split('class="card history"')[1]
    assert "Данные заказа изменены" in history and "Количество страниц" in history


async def test_a_deadline_kept_as_it_was_stays_exact_even_when_it_has_passed(
    panel: Panel, add_staff: AddStaff
) -> None:
    passed = utcnow() - timedelta(days=1)
    order_id = await new_order(panel.container, deadline=passed, details={"topic": "Т", "pages": 5})
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    page = await card(panel, order_id)
    shown = re.search(r'name="f_deadline" type="date" value="([0-9-]+)"', page)
    assert shown is not None  # filled from the order's deadline: the answers had none
    form = {
        "title": "Т", "f_discipline": "Экономика", "f_work_type": "Essay", "f_topic": "Т",
        "f_pages": "6", "f_deadline": shown[1],
    }  # fmt: skip

    saved = await panel.post(f"/orders/{order_id}/fields", form)

    assert saved.status == 303
    order = await order_in_db(panel.container, order_id)
    assert order.deadline == passed and order.details["pages"] == 6


async def test_every_demo_order_opens_for_every_role_with_the_buttons_its_rules_allow(
    panel: Panel, add_staff: AddStaff, open_panel: object
) -> None:
    await fill_demo(panel.container)
    async with panel.container.uow() as uow:
        found = (await uow.session.execute(sa.select(Order.id, Order.status))).all()
    for role in StaffRole:
        async with open_panel() as browser:  # type: ignore[operator]
            await sign_in_as(browser, add_staff, role, f"{role.value}@demo-cards.example")
            for order_id, status in found:
                page = await browser.client.get(f"/orders/{order_id}")
                block = await browser.client.get(f"/orders/{order_id}/status")
                assert (page.status, block.status) == (200, 200), (role, status)
                shown = actions(await page.text())
                if role is StaffRole.OPERATOR:
                    assert shown == set(), status
                elif status in (OrderStatus.CLOSED, OrderStatus.CANCELLED):
                    assert shown == set(), (role, status)
                else:
                    assert "cancel" in shown, (role, status)


async def test_a_manager_takes_on_an_order_nobody_manages_but_not_anothers(
    panel: Panel, add_staff: AddStaff
) -> None:
    me = await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    other = await add_staff(StaffRole.MANAGER, "busy@orders.example")
    free = await new_order(panel.container)
    taken = await new_order(panel.container, manager_id=other)

    shown = actions(await card(panel, free))
    took = await panel.post(f"/orders/{free}/take-over")
    refused = await panel.post(f"/orders/{taken}/take-over")

    assert "take-over" in shown and "take-over" not in actions(await card(panel, taken))
    assert took.status == 303 and refused.status == 409
    assert (await order_in_db(panel.container, free)).manager_id == me
    assert (await order_in_db(panel.container, taken)).manager_id == other


async def _order_money(panel: Panel, order_id: int) -> tuple[int, int, int]:
    async with panel.container.uow() as uow:
        money = await ledger.order_money(uow.session, order_id, "RUB")
    return money.held, money.charged, money.accrued


async def test_closing_an_order_with_a_debt_asks_first_and_the_card_shows_the_debt(
    panel: Panel, add_staff: AddStaff
) -> None:
    # №1002 was delivered with "client still owes 4,275 ₽", then closed with no question.
    order_id = await ready_with_half_prepaid(panel.container)
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)

    asked = await (await panel.post(f"/orders/{order_id}/money/deliver")).text()
    assert "Списывается сейчас (удержанное по заказу и с баланса клиента): 5\xa0000\xa0₽." in asked
    assert "Клиент ещё должен за этот заказ 5\xa0000\xa0₽." in asked
    delivered = await panel.post(f"/orders/{order_id}/money/deliver", {"confirmed": "1"})
    assert delivered.status == 303
    assert await _order_money(panel, order_id) == (0, 500_000, 600_000)
    shown = await card(panel, order_id)
    assert '<dd data-test="debt" class="debt">5\xa0000\xa0₽</dd>' in shown
    assert '<dd data-test="money-debt" class="debt">5\xa0000\xa0₽</dd>' in shown

    question = await panel.post(f"/orders/{order_id}/status/close")
    page = await question.text()
    assert question.status == 200 and 'data-test="confirm"' in page
    assert "Клиент ещё должен за этот заказ 5\xa0000\xa0₽." in page
    assert f'action="/orders/{order_id}/status/close"' in page
    assert (await order_in_db(panel.container, order_id)).status is OrderStatus.DELIVERED
    closed = await panel.post(f"/orders/{order_id}/status/close", {"confirmed": "1"})
    assert closed.status == 303
    assert (await order_in_db(panel.container, order_id)).status is OrderStatus.CLOSED
    # The debt stays on the closed order's card, and the payment form is there to settle it.
    after = await card(panel, order_id)
    assert '<dd data-test="money-debt" class="debt">5\xa0000\xa0₽</dd>' in after
    assert 'data-test="record-payment"' in after


async def test_cancelling_after_delivery_offers_to_reverse_the_charge(
    panel: Panel, add_staff: AddStaff
) -> None:
    order_id = await ready_with_half_prepaid(panel.container)
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    await panel.post(f"/orders/{order_id}/money/deliver", {"confirmed": "1"})

    asked = await (await panel.post(f"/orders/{order_id}/money/cancel")).text()
    assert "С клиента уже списано за этот заказ 5\xa0000\xa0₽." in asked
    assert 'data-test="reverse-charge"' in asked
    done = await panel.post(f"/orders/{order_id}/money/cancel", {"confirmed": "1", "reverse": "1"})

    assert done.status == 303
    assert (await order_in_db(panel.container, order_id)).status is OrderStatus.CANCELLED
    held, charged, _ = await _order_money(panel, order_id)
    assert (held, charged) == (0, 0)
    async with panel.container.uow() as uow:
        order = await uow.session.get(Order, order_id)
        assert order is not None
        free = await ledger.balance(uow.session, AccountKind.CLIENT_BALANCE, order.client_id, "RUB")
        assert free == 500_000
        assert await ledger.unbalanced_transaction_ids(uow.session) == []
