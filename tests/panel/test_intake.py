"""The operator's intake form over HTTP: a new client typed in, an existing one found by
the first digits of the phone or letters of the name, wrong input coming back with the
typed values kept, and attached files becoming the order's materials."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import sqlalchemy as sa
from aiohttp import FormData

from core.db import utcnow
from core.models import Client, FilePurpose, Order, OrderStatus, StaffRole, StoredFile
from tests import builders
from tests.panel.conftest import AddStaff, Panel
from tests.panel.orders_scene import clients_named, events_of, sign_in_as


async def _kind_id(panel: Panel, code: str) -> int:
    async with panel.container.uow() as uow:
        return (await builders.kind(uow.session, code)).id


def _paper_fields(deadline: str) -> dict[str, str]:
    return {
        "f_discipline": "Экономика", "f_work_type": "Coursework",
        "f_topic": "Оборотный капитал", "f_pages": "30", "f_deadline": deadline,
    }  # fmt: skip


async def _only_order(panel: Panel) -> Order:
    async with panel.container.uow() as uow:
        order = (await uow.session.scalars(sa.select(Order))).one()
        uow.session.expunge(order)
        return order


async def test_an_operator_creates_an_order_for_a_new_client(
    panel: Panel, add_staff: AddStaff
) -> None:
    operator = await sign_in_as(panel, add_staff, StaffRole.OPERATOR)
    form_page = await (await panel.client.get("/orders/new")).text()
    deadline = (utcnow() + timedelta(days=10)).date().isoformat()

    response = await panel.post(
        "/orders/new",
        {"kind": str(await _kind_id(panel, "student_paper")), "new_name": "Пётр Новиков",
         "new_phone": "8 (903) 555-12-34", "new_email": "Petr@Example.RU",
         "comment": "Звонил в 14:00"} | _paper_fields(deadline),
    )  # fmt: skip

    assert 'data-test="intake-form"' in form_page and "Оборотный" not in form_page
    assert response.status == 303
    order = await _only_order(panel)
    assert response.headers["Location"] == f"/orders/{order.id}?done=created"
    [client] = await clients_named(panel.container, "Пётр Новиков")
    assert (client.phone, client.email) == ("+79035551234", "petr@example.ru")
    assert order.client_id == client.id and order.status is OrderStatus.NEW
    assert order.details["topic"] == "Оборотный капитал" and order.details["pages"] == 30
    assert order.details["comment"] == "Звонил в 14:00"
    assert order.deadline is not None and order.manager_id is None  # an operator's call
    assert order.title == "Студенческая работа: Оборотный капитал"
    [created] = await events_of(panel.container, order.id)
    assert (created.action, created.actor_user_id) == ("create", operator)
    card = await (await panel.client.get(response.headers["Location"])).text()
    assert "Заказ создан." in card and "Пётр Новиков" in card


async def test_an_existing_client_is_found_by_the_first_phone_digits_and_by_name(
    panel: Panel, add_staff: AddStaff
) -> None:
    async with panel.container.uow() as uow:
        known = await builders.client(uow.session, "Иван Петров")  # +79161234567
        await builders.client(uow.session, "Мария Кузнецова")
        await uow.commit()
        known_id = known.id
    manager = await sign_in_as(panel, add_staff, StaffRole.MANAGER)

    by_phone = await (await panel.client.get("/orders/new/clients?client_q=916 123")).text()
    by_name = await (await panel.client.get("/orders/new/clients?client_q=Пет")).text()
    nobody = await (await panel.client.get("/orders/new/clients?client_q=Щукин")).text()
    response = await panel.post(
        "/orders/new",
        {"kind": str(await _kind_id(panel, "print_job")), "client_id": str(known_id),
         "f_product": "Business cards", "f_quantity": "1000", "f_size": "90×50",
         "f_deadline": (utcnow() + timedelta(days=5)).date().isoformat()},
    )  # fmt: skip

    assert "Иван Петров" in by_phone and "Мария Кузнецова" in by_phone  # same test phone
    assert f'value="{known_id}"' in by_name and "Мария" not in by_name
    assert "Никого не нашли" in nobody
    assert response.status == 303
    order = await _only_order(panel)
    assert order.client_id == known_id and order.manager_id == manager
    assert order.details["product"] == "Business cards" and order.details["quantity"] == 1000
    async with panel.container.uow() as uow:
        assert await uow.session.scalar(sa.select(sa.func.count(Client.id))) == 2


async def test_wrong_input_comes_back_with_messages_and_everything_typed(
    panel: Panel, add_staff: AddStaff
) -> None:
    await sign_in_as(panel, add_staff, StaffRole.OPERATOR)
    typed = {
        "kind": str(await _kind_id(panel, "student_paper")), "new_name": "Ольга",
        "new_phone": "12-34", "comment": "перезвонить",
    } | _paper_fields("2020-03-01") | {"f_pages": "много"}  # fmt: skip

    response = await panel.post("/orders/new", typed)
    page = await response.text()
    no_client = await panel.post("/orders/new", typed | {"new_name": "", "new_phone": ""})

    assert response.status == 422
    assert "Исправьте отмеченные поля." in page
    assert "Эта дата уже прошла" in page and "Телефон указан неверно" in page
    assert 'data-error="pages"' in page
    assert 'value="Ольга"' in page and 'value="12-34"' in page and 'value="много"' in page
    assert 'value="Оборотный капитал"' in page and ">перезвонить</textarea>" in page
    assert no_client.status == 422
    assert "Выберите клиента из списка или впишите имя нового клиента." in await no_client.text()
    async with panel.container.uow() as uow:
        assert await uow.session.scalar(sa.select(sa.func.count(Order.id))) == 0


async def test_a_kinds_fields_are_drawn_from_its_schema_and_files_become_materials(
    panel: Panel, add_staff: AddStaff
) -> None:
    await sign_in_as(panel, add_staff, StaffRole.OPERATOR)
    trip = await _kind_id(panel, "trip")
    fields = await (await panel.client.get(f"/orders/new/fields?kind={trip}")).text()
    when = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT10:30")
    form = FormData()
    for name, value in {
        "csrf_token": panel.csrf, "kind": str(trip), "new_name": "ООО Ромашка",
        "f_request_type": "Cargo transportation", "f_pickup": "Москва, Складочная, 1",
        "f_scheduled_at": when,
    }.items():  # fmt: skip
        form.add_field(name, value)
    # 3 MB: past aiohttp's default 1 MiB body limit, within the file store's.
    scan = b"%PDF-1.4 route\n" + b"0" * 3_000_000
    form.add_field("files", scan, filename="route.pdf", content_type="application/pdf")

    response = await panel.client.post("/orders/new", data=form, allow_redirects=False)

    assert 'name="f_pickup"' in fields and 'type="datetime-local"' in fields
    assert 'name="f_topic"' not in fields
    assert response.status == 303, await response.text()
    order = await _only_order(panel)
    assert order.scheduled_at is not None
    async with panel.container.uow() as uow:
        stored = (await uow.session.scalars(sa.select(StoredFile))).one()
        uow.session.expunge(stored)
    assert (stored.order_id, stored.purpose, stored.original_name) == (
        order.id, FilePurpose.MATERIAL, "route.pdf",
    )  # fmt: skip
    card = await (await panel.client.get(f"/orders/{order.id}")).text()
    assert f'href="/files/{stored.id}">route.pdf' in card


async def test_the_new_order_link_on_a_clients_card_opens_intake_with_the_client_chosen(
    panel: Panel, add_staff: AddStaff
) -> None:
    """docs/panel.md promised a "new order" link on the client card that no page had: the
    test follows the link from the card rather than typing its URL."""
    async with panel.container.uow() as uow:
        known = await builders.client(uow.session, "Иван Петров")
        await uow.commit()
        known_id = known.id
    await sign_in_as(panel, add_staff, StaffRole.OPERATOR)

    card = await (await panel.client.get(f"/clients/{known_id}")).text()
    link = re.search(
        r'<a class="button" href="([^"]+)" data-test="client-new-order">Новый заказ', card
    )
    assert link is not None, "the client card has no new order link"
    chosen = await (await panel.client.get(html.unescape(link[1]))).text()
    unknown = await panel.client.get("/orders/new?client=999999")

    assert f'name="client_id" value="{known_id}" checked> Иван Петров · +79161234567' in chosen
    assert unknown.status == 200 and 'name="client_id"' not in await unknown.text()
