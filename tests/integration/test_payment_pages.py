"""The fake gateway's payment page on the real web app, served over HTTP on loopback: the
client pays or cancels there, and the order and the ledger follow."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bots.payments import FakePaymentProvider, ManualPaymentProvider, PaymentProviders
from core import ledger, orders, payments
from core.models import AccountKind, LedgerTransaction, Payment, PaymentStatus
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from tests import builders
from webapp.app import create_app
from webapp.payments import add_payment_routes

BASE_URL = "http://pult.test"
NBSP = "\u00a0"


@pytest.fixture
def serve(
    tmp_path: Path, database_url: str
) -> Callable[[PaymentProviders], AbstractAsyncContextManager[tuple[TestClient, Container]]]:
    @asynccontextmanager
    async def serve(providers: PaymentProviders) -> AsyncIterator[tuple[TestClient, Container]]:
        env = {"PULT_DATA_DIR": str(tmp_path / "var"), "PULT_DATABASE_URL": database_url}
        container = await bootstrap(load_settings(env, env_file=None))
        app = create_app(container)
        add_payment_routes(app, providers, container.uow)
        try:
            async with TestClient(TestServer(app)) as client:
                yield client, container
        finally:
            await container.close()

    return serve


Serve = Callable[[PaymentProviders], AbstractAsyncContextManager[tuple[TestClient, Container]]]


async def start(container: Container, fake: FakePaymentProvider) -> tuple[int, Payment, str]:
    """An order awaiting its 2 500 ₽ prepayment and a fake payment for it; the page's path."""
    async with container.uow() as uow:
        order, manager = await builders.paper_order(uow.session)
        await orders.quote_order(uow.session, order, manager, 500_000)
        await orders.accept_quote(uow.session, order, manager)
        payment = await payments.start_payment(uow.session, order, fake)
        await uow.commit()
    assert payment.confirmation_url is not None
    return order.id, payment, urlsplit(payment.confirmation_url).path


async def state(container: Container, order_id: int, payment_id: int) -> tuple[str, str, int]:
    async with container.uow() as uow:
        order = await orders.get_order(uow.session, order_id)
        payment = await uow.session.get(Payment, payment_id)
        assert payment is not None
        moves = await uow.session.scalar(select(func.count(LedgerTransaction.id)))
        return order.status.value, payment.status.value, int(moves or 0)


async def test_paying_on_the_page_marks_the_order_paid(serve: Serve) -> None:
    fake = FakePaymentProvider(BASE_URL)
    async with serve(PaymentProviders(fake, ManualPaymentProvider())) as (client, container):
        order_id, payment, path = await start(container, fake)

        page = await client.get(path)
        html = await page.text()
        assert page.status == 200
        assert "Тестовая оплата" in html
        assert f"Сумма: <strong>2{NBSP}500{NBSP}₽</strong>" in html
        assert "Предоплата по заказу №" in html
        assert 'value="pay">Оплатить</button>' in html

        paid = await client.post(path, data={"action": "pay"})
        assert paid.status == 200
        assert paid.history[0].status == 303
        assert "Платёж получен" in await paid.text()
        assert "Оплатить" not in await paid.text()
        assert await state(container, order_id, payment.id) == ("paid", "succeeded", 2)

        # Pressing again (a reload, a double click) books nothing more.
        again = await client.post(path, data={"action": "pay"})
        assert "Платёж получен" in await again.text()
        assert await state(container, order_id, payment.id) == ("paid", "succeeded", 2)
        async with container.uow() as uow:
            held = await ledger.balance(uow.session, AccountKind.ORDER_HOLD, order_id, "RUB")
        assert held == 250_000


async def test_canceling_on_the_page_moves_no_money(serve: Serve) -> None:
    fake = FakePaymentProvider(BASE_URL)
    async with serve(PaymentProviders(fake)) as (client, container):
        order_id, payment, path = await start(container, fake)

        canceled = await client.post(path, data={"action": "cancel"})

        assert "Платёж отменён" in await canceled.text()
        assert await state(container, order_id, payment.id) == ("awaiting_payment", "canceled", 0)
        # A canceled payment cannot be paid afterwards.
        await client.post(path, data={"action": "pay"})
        assert await state(container, order_id, payment.id) == ("awaiting_payment", "canceled", 0)


async def test_the_page_speaks_english_on_request(serve: Serve) -> None:
    fake = FakePaymentProvider(BASE_URL)
    async with serve(PaymentProviders(fake)) as (client, container):
        _, _, path = await start(container, fake)

        html = await (await client.get(path + "?lang=en")).text()
        assert "Test payment" in html
        assert "Amount: <strong>₽2,500</strong>" in html
        paid = await client.post(path + "?lang=en", data={"action": "pay"})
        assert "Payment received" in await paid.text()


async def test_an_unknown_payment_is_not_found(serve: Serve) -> None:
    async with serve(PaymentProviders(FakePaymentProvider(BASE_URL))) as (client, _):
        shown = await client.get("/pay/fake/fake-nothing")
        posted = await client.post("/pay/fake/fake-nothing", data={"action": "pay"})
        html = await shown.text()

    assert (shown.status, posted.status) == (404, 404)
    assert "Платёж не найден" in html


async def test_an_unknown_action_is_a_bad_request(serve: Serve) -> None:
    fake = FakePaymentProvider(BASE_URL)
    async with serve(PaymentProviders(fake)) as (client, container):
        order_id, payment, path = await start(container, fake)
        response = await client.post(path, data={"action": "refund"})

        assert response.status == 400
        assert await state(container, order_id, payment.id) == ("awaiting_payment", "pending", 0)
        stored = fake.get(payment.external_id or "")
        assert stored is not None and stored.status is PaymentStatus.PENDING


async def test_without_the_fake_provider_there_is_no_fake_page(serve: Serve) -> None:
    async with serve(PaymentProviders(ManualPaymentProvider())) as (client, _):
        response = await client.get("/pay/fake/fake-anything")
        html = await response.text()

    assert response.status == 404
    assert "Тестовая оплата" not in html
