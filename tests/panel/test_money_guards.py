"""Guards on the money a manager types on the order card: an executor's price above the
client's needs a confirmation that says the loss, absurd amounts are refused, an
overpayment far above what is due needs a confirmation of its own, and a bad amount is shown
next to the form it came from with what was typed kept."""

from __future__ import annotations

import sqlalchemy as sa

from core.models import Order, OrderStatus, Payment, StaffRole
from tests import builders
from tests.panel.conftest import AddStaff, Panel
from tests.panel.orders_scene import advance, new_order, order_in_db, sign_in_as

PRICE = 855_000  # 8 550 ₽: a student paper, 50 % prepayment (4 275 ₽)


async def _author(panel: Panel) -> int:
    async with panel.container.uow() as uow:
        author = await builders.executor(uow.session, "Автор Быстров")
        await uow.commit()
        return author.id


async def _payments(panel: Panel, order_id: int) -> list[int]:
    async with panel.container.uow() as uow:
        found = await uow.session.scalars(
            sa.select(Payment.amount).where(Payment.order_id == order_id)
        )
        return list(found)


async def test_an_executor_price_above_the_client_price_needs_a_confirmation(
    panel: Panel, add_staff: AddStaff
) -> None:
    # 20 000 ₽ against 8 550 ₽ was accepted without a word.
    order_id = await new_order(panel.container)
    await advance(panel.container, order_id, "quote", "accept", "pay", price=PRICE)
    author = await _author(panel)
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    form = {"executor": str(author), "price": "20000"}

    asked = await panel.post(f"/orders/{order_id}/assign", form)
    page = await asked.text()
    assert asked.status == 200 and 'data-test="confirm"' in page
    assert (
        "Цена исполнителя 20\xa0000\xa0₽ выше цены для клиента 8\xa0550\xa0₽: заказ принесёт "
        "убыток 11\xa0450\xa0₽." in page
    )
    assert f'action="/orders/{order_id}/assign"' in page and 'value="20000"' in page
    assert (await order_in_db(panel.container, order_id)).executor_id is None

    done = await panel.post(f"/orders/{order_id}/assign", {**form, "confirmed": "1"})
    assert done.status == 303
    assigned = await order_in_db(panel.container, order_id)
    assert (assigned.executor_id, assigned.executor_price) == (author, 2_000_000)


async def test_an_executor_price_within_the_client_price_is_assigned_at_once(
    panel: Panel, add_staff: AddStaff
) -> None:
    order_id = await new_order(panel.container)
    await advance(panel.container, order_id, "quote", "accept", "pay", price=PRICE)
    author = await _author(panel)
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    done = await panel.post(
        f"/orders/{order_id}/assign", {"executor": str(author), "price": "5000"}
    )
    assert done.status == 303
    assert (await order_in_db(panel.container, order_id)).executor_price == 500_000


async def test_an_absurd_price_is_refused_on_the_same_form_with_the_typed_value_kept(
    panel: Panel, add_staff: AddStaff
) -> None:
    # 99 999 999 999 999 ₽ was accepted; a bad price sent the manager to another page.
    order_id = await new_order(panel.container)
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)

    huge = await panel.post(f"/orders/{order_id}/money/quote", {"price": "99999999999999"})
    page = await huge.text()
    assert huge.status == 422
    assert '<section class="card money">' in page  # the order card itself, not another page
    assert (
        '<p class="error" role="alert" id="quote-error" data-test="money-error">Это больше, чем '
        "Pult принимает одной суммой: не более 100\xa0000\xa0000\xa0₽.</p>" in page
    )
    assert 'name="price" inputmode="decimal" required value="99999999999999"' in page

    wrong = await panel.post(
        f"/orders/{order_id}/money/quote", {"price": "дорого", "discount": "5"}
    )
    page = await wrong.text()
    assert wrong.status == 422 and 'id="quote-error"' in page
    assert "Укажите сумму в рублях числом, например 1500." in page
    assert 'value="дорого"' in page and 'value="5"' in page
    unchanged = await order_in_db(panel.container, order_id)
    assert unchanged.status is OrderStatus.NEW and unchanged.client_price is None


async def test_a_bad_payment_amount_stays_in_the_payment_form(
    panel: Panel, add_staff: AddStaff
) -> None:
    order_id = await new_order(panel.container)
    await advance(panel.container, order_id, "quote", "accept", price=PRICE)
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    wrong = await panel.post(f"/orders/{order_id}/payments", {"amount": "много", "method": "card"})
    page = await wrong.text()
    assert wrong.status == 422 and 'id="payment-error"' in page
    assert 'value="много"' in page
    assert '<option value="card" selected>' in page
    assert await _payments(panel, order_id) == []


async def test_an_overpayment_far_above_what_is_due_needs_its_own_confirmation(
    panel: Panel, add_staff: AddStaff
) -> None:
    # 100 000 ₽ on an 8 550 ₽ order needed only the usual confirmation.
    order_id = await new_order(panel.container)
    await advance(panel.container, order_id, "quote", "accept", price=PRICE)  # 4 275 ₽ due
    await sign_in_as(panel, add_staff, StaffRole.MANAGER)
    form = {"amount": "100000", "method": "cash", "confirmed": "1"}

    asked = await panel.post(f"/orders/{order_id}/payments", form)
    page = await asked.text()
    assert asked.status == 200 and 'data-test="confirm"' in page
    assert (
        "Это на 95\xa0725\xa0₽ больше, чем сейчас к оплате (4\xa0275\xa0₽); остаток останется "
        "на балансе клиента." in page
    )
    assert "Проверьте сумму: подтверждение запишет эту переплату как есть." in page
    assert 'name="overpayment" value="9572500"' in page
    assert await _payments(panel, order_id) == []

    done = await panel.post(f"/orders/{order_id}/payments", {**form, "overpayment": "9572500"})
    assert done.status == 303
    assert await _payments(panel, order_id) == [10_000_000]
    paid = await order_in_db(panel.container, order_id)
    assert isinstance(paid, Order) and paid.status is OrderStatus.PAID
