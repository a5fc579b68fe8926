"""Status-notice templates through HTTP: the live preview fills a sample order in, an
unknown placeholder is refused with a clear message, and a saved text is the one
handlers.notices sends (and "back to the default" restores the text in code)."""

from __future__ import annotations

from core.models import StaffRole
from core.settings_store import get_value
from handlers.notices import notice_template
from tests.panel.conftest import AddStaff, Panel


async def _owner(panel: Panel, add_staff: AddStaff) -> None:
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")


async def test_the_preview_fills_in_a_sample_order(panel: Panel, add_staff: AddStaff) -> None:
    await _owner(panel, add_staff)

    response = await panel.post(
        "/settings/notices/preview",
        {"lang": "ru", "text-ru": "Заказ №{number} готов, к оплате {due}."},
        headers={"HX-Request": "true"},
    )

    assert response.status == 200
    html = await response.text()
    assert "Заказ №1042 готов, к оплате 6\u00a0250\u00a0₽." in html
    assert "<html" not in html  # a fragment for htmx


async def test_an_unknown_placeholder_gets_a_clear_error_in_preview_and_on_save(
    panel: Panel, add_staff: AddStaff
) -> None:
    await _owner(panel, add_staff)

    preview = await panel.post(
        "/settings/notices/preview", {"lang": "ru", "text-ru": "Заказ №{nubmer} оплачен"}
    )
    saved = await panel.post(
        "/settings/notices",
        {"name": "paid", "text-ru": "Заказ №{nubmer} оплачен", "text-en": "Order {number} paid"},
    )
    broken = await panel.post(
        "/settings/notices", {"name": "paid", "text-ru": "Заказ №{number оплачен", "text-en": ""}
    )

    assert preview.status == 200  # htmx swaps only successful answers
    assert 'data-test="preview-error"' in await preview.text()
    assert "Неизвестная подстановка {nubmer}" in await preview.text()
    assert "{number}" in await preview.text()  # says what may be used
    assert saved.status == 422
    page = await saved.text()
    assert "Неизвестная подстановка {nubmer}" in page and "Заказ №{nubmer} оплачен" in page
    assert broken.status == 422 and "скобки не парные" in await broken.text()
    async with panel.container.uow() as uow:
        assert await get_value(uow.session, "notice.paid") is None


async def test_a_saved_text_is_what_clients_get_and_the_default_comes_back(
    panel: Panel, add_staff: AddStaff
) -> None:
    await _owner(panel, add_staff)

    saved = await panel.post(
        "/settings/notices",
        {"name": "paid", "text-ru": "Спасибо! Оплата по заказу №{number} получена.",
         "text-en": "Thanks! Order {number} is paid."},
    )  # fmt: skip
    async with panel.container.uow() as uow:
        russian = await notice_template(uow.session, "student_paper", "paid", None, "ru")
        english = await notice_template(uow.session, "student_paper", "paid", None, "en")
    reset = await panel.post("/settings/notices", {"name": "paid", "action": "reset"})
    async with panel.container.uow() as uow:
        default = await notice_template(uow.session, "student_paper", "paid", None, "ru")
    page = await (await panel.client.get("/settings/notices")).text()

    assert saved.status == 303 and reset.status == 303
    assert russian == "Спасибо! Оплата по заказу №{number} получена."
    assert english == "Thanks! Order {number} is paid."
    assert default is not None and default.startswith("Оплата по заказу №{number} получена")
    assert 'data-test="notice-step.en_route"' in page


async def test_empty_texts_switch_a_notice_off(panel: Panel, add_staff: AddStaff) -> None:
    await _owner(panel, add_staff)

    saved = await panel.post(
        "/settings/notices", {"name": "assigned", "text-ru": "", "text-en": ""}
    )

    assert saved.status == 303
    async with panel.container.uow() as uow:
        assert await notice_template(uow.session, "print_job", "assigned", None, "ru") is None
    unknown = await panel.post("/settings/notices", {"name": "nonsense", "text-ru": "x"})
    assert unknown.status == 400
