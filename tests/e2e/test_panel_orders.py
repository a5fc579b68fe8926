"""The order pages in a real browser: a manager moves an order by its status buttons (with the
confirmation where money moves), an operator takes a phone order for a new client through
the intake form, and the pages with demo data on a desktop and a phone (screenshots)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.async_api import expect

from core import exchange, orders
from core.db import utcnow
from core.models import ActorRole, Client, Executor, Order, OrderKind, OrderStatus, StaffRole
from core.transitions import Actor
from runtime.demo import fill_demo
from tests.e2e.conftest import LivePanel


async def _paper_order(live: LivePanel) -> tuple[int, int]:
    async with live.container.uow() as uow:
        session = uow.session
        client = Client(name="Вера Звонкова", phone="+79161112233")
        session.add(client)
        await session.flush()
        kind = (
            await session.scalars(sa.select(OrderKind).where(OrderKind.code == "student_paper"))
        ).one()
        order = await orders.create_order(
            session, kind=kind, client_id=client.id, actor=Actor.client(client.id),
            details={"topic": "Логистика склада", "pages": 25}, title="Логистика склада",
            deadline=utcnow() + timedelta(days=5),
        )  # fmt: skip
        await uow.commit()
        return order.id, order.number


async def _status(live: LivePanel, order_id: int) -> OrderStatus:
    async with live.container.uow() as uow:
        order = await uow.session.get(Order, order_id)
        assert order is not None
        return order.status


async def test_a_manager_moves_an_order_by_its_buttons_confirming_the_price(
    live: LivePanel,
) -> None:
    order_id, number = await _paper_order(live)
    page = await live.signed_in_page(StaffRole.MANAGER)
    await page.goto(live.url + "orders")
    await page.get_by_role("link", name=f"№{number}").first.click()
    status = page.locator("#order-status [data-status]")
    await expect(status).to_have_text("Новый")

    await page.get_by_role("button", name="Начать оценку").click()
    await expect(status).to_have_text("На оценке")
    await expect(page.get_by_role("status")).to_have_text("Готово.")
    await page.locator(".quote-form input[name=price]").fill("12 000")
    await page.locator(".quote-form button[data-action=quote]").click()
    await expect(page.locator("[data-test=confirm]")).to_contain_text("12\xa0000\xa0₽")
    assert await _status(live, order_id) is OrderStatus.EVALUATING  # nothing moved yet
    await page.get_by_role("button", name="Подтвердить").click()

    await expect(status).to_have_text("Цена предложена")
    await expect(page.locator("[data-test=client-price]")).to_have_text("12\xa0000\xa0₽")
    await expect(page.locator(".history")).to_contain_text("Назначена цена")
    assert await _status(live, order_id) is OrderStatus.QUOTED


async def test_an_operator_creates_an_order_for_a_new_client(live: LivePanel) -> None:
    async with live.container.uow() as uow:
        uow.session.add(Client(name="Иван Знакомый", phone="+79165550011"))
        await uow.commit()
    page = await live.signed_in_page(StaffRole.OPERATOR, email="operator@desk.example")
    await page.goto(live.url + "orders")
    await page.get_by_role("link", name="Новый заказ").click()

    await page.get_by_label("Найти клиента").fill("916 555")
    await expect(page.locator("#client-hits")).to_contain_text("Иван Знакомый")
    await page.get_by_label("Найти клиента").fill("Смир")
    await expect(page.locator("#client-hits")).to_contain_text("Никого не нашли")
    await page.get_by_label("Имя", exact=True).fill("Ольга Смирнова")
    await page.get_by_label("Телефон", exact=True).fill("8 926 123-45-67")
    await page.select_option("select[name=kind]", label="Печать")
    await expect(page.locator("[name=f_quantity]")).to_be_visible()
    await page.select_option("select[name=f_product]", label="Визитки")
    await page.fill("[name=f_quantity]", "500")
    await page.fill("[name=f_size]", "90×50 мм")
    await page.fill("[name=f_deadline]", (utcnow() + timedelta(days=4)).date().isoformat())
    await page.fill("[name=comment]", "Заберёт сама")
    await live.screenshot(page, "intake")
    await page.get_by_role("button", name="Создать заказ").click()

    await expect(page.get_by_role("status")).to_have_text("Заказ создан.")
    await expect(page.locator(".people")).to_contain_text("Ольга Смирнова")
    await expect(page.locator("#order-status [data-status]")).to_have_text("Новый")
    async with live.container.uow() as uow:
        client = (
            await uow.session.scalars(sa.select(Client).where(Client.name == "Ольга Смирнова"))
        ).one()
        order = (
            await uow.session.scalars(sa.select(Order).where(Order.client_id == client.id))
        ).one()
        assert client.phone == "+79261234567"
        assert order.details["quantity"] == 500 and order.details["comment"] == "Заберёт сама"


async def test_the_order_pages_with_demo_data_on_a_desktop_and_a_phone(live: LivePanel) -> None:
    await fill_demo(live.container)
    async with live.container.uow() as uow:
        session = uow.session
        order = (
            await session.scalars(sa.select(Order).where(Order.title.endswith("Реформы Петра I")))
        ).one()
        author = (
            await session.scalars(sa.select(Executor).where(Executor.name == "Сергей Новиков"))
        ).one()
        await exchange.place_bid(session, order, author, 350_000, comment="Сдам за 4 дня")
        await uow.commit()
        order_id, number = order.id, order.number
    page = await live.signed_in_page(StaffRole.OWNER)

    await page.goto(live.url + "orders?tab=in_work&sort=deadline")
    await expect(page.locator("table.orders tbody tr")).to_have_count(7)
    await live.screenshot(page, "orders")
    await page.goto(live.url + f"orders/{order_id}")
    await expect(page.locator(".bids")).to_contain_text("Сергей Новиков")
    await expect(page.locator(".thread-card")).to_have_count(2)
    await expect(page.locator(".thread").first).not_to_contain_text("Загрузка")
    await live.screenshot(page, "order-card")
    await page.goto(live.url + "exchange")
    await expect(page.locator(f'tr[data-order="{number}"] [data-test=bids]')).to_contain_text("1")
    await live.screenshot(page, "exchange")

    phone = await live.new_page(phone=True)
    await live.sign_in(phone, "owner@desk.example")
    await phone.goto(live.url + f"orders/{order_id}")
    await expect(phone.locator("#order-status [data-status]")).to_have_text("На бирже")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await live.screenshot(phone, "order-card-phone")
    await phone.goto(live.url + "orders")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def either(request: pytest.FixtureRequest) -> LivePanel:
    """The embedded installation, or PostgreSQL with the Redis bus between processes."""
    name = "live" if request.param == "sqlite" else "live_postgres"
    panel: LivePanel = request.getfixturevalue(name)
    return panel


async def test_the_status_shown_follows_a_move_made_elsewhere_without_a_reload(
    either: LivePanel,
) -> None:
    live = either
    order_id, _ = await _paper_order(live)
    page = await live.signed_in_page(StaffRole.MANAGER)
    await page.goto(live.url + f"orders/{order_id}")
    status = page.locator("#order-status [data-status]")
    await expect(status).to_have_text("Новый")
    await page.evaluate("window.pultMarker = 1")  # gone if the page reloads

    async with live.container.uow() as uow:  # e.g. a colleague in another browser
        order = await uow.session.get(Order, order_id)
        assert order is not None
        await orders.start_evaluation(uow.session, order, Actor(ActorRole.MANAGER))
        await uow.commit()

    await expect(status).to_have_text("На оценке", timeout=3000)
    assert await page.evaluate("window.pultMarker") == 1
