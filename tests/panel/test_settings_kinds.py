"""The order kinds editor through HTTP: what is saved is the schema the bots' wizard reads
(the same FieldSpec.from_json + parse_answer), mistakes come back in Russian with the input
kept, and a built-in kind sent back unchanged keeps its message ids (its translations)."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiohttp import ClientResponse

from core import orders
from core.kinds import FieldSpec, FieldType
from core.models import OrderKind, OrderStatus, StaffRole
from core.transitions import Actor
from handlers.answers import TOO_LARGE, Invalid, parse_answer
from inbox.channel import SharedContact
from tests import builders
from tests.chat import Chat, labels, texts
from tests.panel.conftest import AddStaff, Panel

NEW_KIND = {
    "name": "Печать фото",
    "prepayment": "30",
    "guarantee_days": "3",
    "is_active": "1",
    "steps": "",
    "field": ["0", "1"],
    "f0-label": "Сколько фотографий?",
    "f0-key": "photos",
    "f0-type": "integer",
    "f0-required": "1",
    "f0-min": "1",
    "f0-max": "500",
    "f1-label": "Формат",
    "f1-key": "format",
    "f1-type": "choice",
    "f1-required": "1",
    "f1-choices": "10x15\nA4",
}


class FormFields(HTMLParser):
    """The values a browser would post from the first form on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "input" and "name" in a:
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields.append((a["name"], ""))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, value = self.fields[-1]
            self.fields[-1] = (name, value + data)


def _form_data(data: dict[str, str | list[str]]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in data.items():
        pairs += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    return pairs


async def _owner(panel: Panel, add_staff: AddStaff) -> None:
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")


async def _post(panel: Panel, path: str, pairs: list[tuple[str, str]]) -> ClientResponse:
    return await panel.client.post(
        path, data=[("csrf_token", panel.csrf), *pairs], allow_redirects=False
    )


async def test_a_new_kind_with_a_number_range_is_what_the_wizard_validates_against(
    panel: Panel, add_staff: AddStaff
) -> None:
    await _owner(panel, add_staff)

    response = await _post(panel, "/settings/kinds/new", _form_data(NEW_KIND))

    assert response.status == 303
    async with panel.container.uow() as uow:
        kind = await uow.session.scalar(sa.select(OrderKind).where(OrderKind.name == "Печать фото"))
        uow.session.expunge_all()
    assert kind is not None
    assert (kind.prepayment_percent, kind.guarantee_days, kind.is_active) == (30, 3, True)
    assert (kind.uses_exchange, kind.needs_review) == (False, False)
    fields = [FieldSpec.from_json(data) for data in kind.fields]  # as handlers/wizard.py reads
    photos, paper = fields
    assert (photos.key, photos.type, photos.min, photos.max) == (
        "photos",
        FieldType.INTEGER,
        1,
        500,
    )
    assert paper.choices == ("10x15", "A4")
    now, tz = datetime(2026, 11, 30, 12, tzinfo=UTC), ZoneInfo("Europe/Moscow")
    assert parse_answer(photos, "120", now=now, tz=tz, choices={}) == 120
    with pytest.raises(Invalid) as too_many:
        parse_answer(photos, "501", now=now, tz=tz, choices={})
    assert too_many.value.message == TOO_LARGE
    listing = await (await panel.client.get("/settings/kinds")).text()
    assert "Печать фото" in listing


async def test_a_kind_with_mistakes_comes_back_in_russian_with_what_was_typed(
    panel: Panel, add_staff: AddStaff
) -> None:
    await _owner(panel, add_staff)
    wrong = {**NEW_KIND, "f0-min": "50", "f0-max": "5", "f1-key": "photos", "steps": "В пути"}

    response = await _post(panel, "/settings/kinds/new", _form_data(wrong))

    assert response.status == 422
    html = await response.text()
    assert "Ничего не сохранено" in html
    assert "Минимум больше максимума." in html
    assert "Ключ photos есть у двух полей." in html
    assert "Этап В пути" in html
    assert 'value="Сколько фотографий?"' in html and 'value="50"' in html
    async with panel.container.uow() as uow:
        count = await uow.session.scalar(
            sa.select(sa.func.count()).where(OrderKind.name == "Печать фото")
        )
    assert count == 0


async def test_add_a_field_keeps_the_form_and_adds_an_empty_row(
    panel: Panel, add_staff: AddStaff
) -> None:
    await _owner(panel, add_staff)

    response = await _post(
        panel, "/settings/kinds/new", _form_data({**NEW_KIND, "action": "add_field"})
    )

    html = await response.text()
    assert response.status == 200
    assert html.count('data-test="field-row"') == 3 and 'value="Сколько фотографий?"' in html


async def test_a_builtin_kind_sent_back_unchanged_keeps_its_message_ids(
    panel: Panel, add_staff: AddStaff
) -> None:
    await _owner(panel, add_staff)
    async with panel.container.uow() as uow:
        kind = await uow.session.scalar(
            sa.select(OrderKind).where(OrderKind.code == "student_paper")
        )
        assert kind is not None
        kind_id, before = kind.id, kind.fields
        name_before, steps_before = kind.name, kind.execution_steps

    page = await (await panel.client.get(f"/settings/kinds/{kind_id}")).text()
    form = FormFields()
    form.feed(page[page.index('data-test="kind-form"') :])
    fields = [(name, value) for name, value in form.fields if name != "csrf_token"]
    response = await _post(panel, f"/settings/kinds/{kind_id}", [*fields, ("action", "save")])

    assert "Количество страниц" in page  # shown in Russian
    assert response.status == 303, await response.text()
    async with panel.container.uow() as uow:
        kind = await uow.session.get(OrderKind, kind_id)
        assert kind is not None
        assert kind.fields == before
        assert (kind.name, kind.execution_steps) == (name_before, steps_before)


async def test_a_step_where_orders_stand_cannot_be_removed(
    panel: Panel, add_staff: AddStaff
) -> None:
    await _owner(panel, add_staff)
    async with panel.container.uow() as uow:
        trip = await builders.kind(uow.session, "trip")
        client = await builders.client(uow.session)
        order = await orders.create_order(
            uow.session, kind=trip, client_id=client.id, actor=Actor.client(client.id)
        )
        # Test data: a trip standing on a step (the driver's flow moves real ones there).
        order.status, order.step = OrderStatus.IN_PROGRESS, "en_route"
        await uow.commit()
        trip_id = trip.id
    page = await (await panel.client.get(f"/settings/kinds/{trip_id}")).text()
    form = FormFields()
    form.feed(page[page.index('data-test="kind-form"') :])
    fields = [(n, v) for n, v in form.fields if n not in ("csrf_token", "steps")]

    response = await _post(
        panel, f"/settings/kinds/{trip_id}", [*fields, ("steps", "accepted\nfinished")]
    )

    assert response.status == 422
    assert "находятся на этапе en_route" in await response.text()


async def test_a_range_on_a_text_field_is_refused_rather_than_dropped(
    panel: Panel, add_staff: AddStaff
) -> None:
    await _owner(panel, add_staff)
    wrong = {**NEW_KIND, "f1-type": "text", "f1-min": "3", "f1-choices": ""}

    response = await _post(panel, "/settings/kinds/new", _form_data(wrong))

    assert response.status == 422
    assert "Диапазон бывает только у числового поля." in await response.text()


async def test_the_bot_asks_a_kind_saved_in_the_editor_from_the_next_order_on(
    panel: Panel, add_staff: AddStaff
) -> None:
    await _owner(panel, add_staff)
    assert (await _post(panel, "/settings/kinds/new", _form_data(NEW_KIND))).status == 303
    container = panel.container
    chat = Chat(container.sessions, container.receiver)  # the real pipeline and wizard
    await chat.send("/start")
    await chat.send("Анна Петрова")
    await chat.send(contact=SharedContact("+7 916 123-45-67", "Анна", own=True))

    kinds = await chat.press("Новый заказ")
    asked = await chat.press("Печать фото")
    too_many = await chat.send("501")
    next_field = await chat.send("120")

    assert "Печать фото" in labels(kinds[0])
    assert asked[0].text.startswith("Сколько фотографий?")
    assert texts(too_many)[0] == "Число должно быть не больше 500."
    assert next_field[0].text.startswith("Формат") and labels(next_field[0])[:2] == ["10x15", "A4"]
