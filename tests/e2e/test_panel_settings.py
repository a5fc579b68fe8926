"""People and settings in a real browser: a manager is refused the owner's settings; the
owner changes the digest time and a discount tier and sees them saved; an application is
approved in the panel and the applicant gets the notice through the worker's outbox."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from core.models import ChannelIdentity, Executor, ExecutorStatus, StaffRole
from core.staff import create_user
from inbox.conversations import add_message, application_conversation
from inbox.models import Direction
from runtime.demo import fill_demo
from tests.e2e.conftest import PASSWORD, LivePanel


async def test_a_manager_is_refused_the_owners_settings(live: LivePanel) -> None:
    page = await live.signed_in_page(StaffRole.MANAGER)

    await expect(page.locator("nav.sections")).to_contain_text("Исполнители")
    await expect(page.locator("nav.sections")).not_to_contain_text("Настройки")
    for path in ("settings", "settings/kinds", "settings/staff", "settings/channels"):
        response = await page.goto(live.url + path)
        assert response is not None and response.status == 403
        await expect(page.get_by_role("heading", name="Нет доступа")).to_be_visible()


async def test_the_owner_changes_the_digest_time_and_a_discount_tier(live: LivePanel) -> None:
    page = await live.signed_in_page(StaffRole.OWNER)

    await page.get_by_role("link", name="Настройки").click()
    await page.get_by_label("Время ежедневной сводки").fill("7:45")
    await page.locator("[data-test=general] [data-test=save]").click()
    await expect(page.get_by_role("status")).to_have_text("Сохранено.")
    await expect(page.get_by_label("Время ежедневной сводки")).to_have_value("07:45")

    await page.get_by_role("link", name="Скидки").click()
    await page.locator("input[name=threshold-new]").fill("30000")
    await page.locator("input[name=percent-new]").fill("3")
    await page.locator("[data-test=discounts] [data-test=save]").click()
    await expect(page.get_by_role("status")).to_have_text("Сохранено.")
    tier = page.locator("input[name^=percent-]:not([name=percent-new])")
    await expect(tier).to_have_value("3")
    await tier.fill("4,5")
    await page.locator("[data-test=discounts] [data-test=save]").click()
    await expect(page.locator("input[name^=percent-]:not([name=percent-new])")).to_have_value(
        "4,50"
    )
    await page.reload()
    await expect(page.locator("input[name^=threshold-]:not([name=threshold-new])")).to_have_value(
        "30000"
    )


async def test_an_approved_applicant_hears_it_and_the_pages_look_right(live: LivePanel) -> None:
    await fill_demo(live.container)
    async with live.container.uow() as uow:
        session = uow.session
        applicant = Executor(
            name="Мария Новикова", status=ExecutorStatus.APPLICANT, phone="+79995550011",
            experience="Преподаю экономику, пишу курсовые 4 года",
        )  # fmt: skip
        session.add(applicant)
        await session.flush()
        session.add(
            ChannelIdentity(
                channel="loopback", external_id="maria", chat_id="maria",
                executor_id=applicant.id, locale="ru",
            )
        )  # fmt: skip
        conversation = await application_conversation(session, applicant.id)
        await add_message(
            session, conversation, Direction.IN,
            "Заявка на работу у нас\nИмя: Мария Новикова\nНавыки: Экономика\nОбразцы: 0",
            channel="loopback", author_executor_id=applicant.id,
        )  # fmt: skip
        await create_user(session, "boss@desk.example", "Елена Руководитель", "owner", PASSWORD)
        await uow.commit()
    page = await live.new_page()
    await live.sign_in(page, "boss@desk.example")

    await page.get_by_role("link", name="Исполнители").click()
    await expect(page.locator("[data-test=executors]")).to_contain_text("Мария Новикова")
    await live.screenshot(page, "executors")
    await page.get_by_role("link", name="Мария Новикова").click()
    await expect(page.locator("[data-test=application]")).to_contain_text("Навыки: Экономика")
    await live.screenshot(page, "executor-application")
    await page.get_by_role("button", name="Одобрить").click()
    await expect(page.get_by_role("status")).to_contain_text("Заявка одобрена")
    await expect(page.locator("[data-test=status]")).to_have_text("Работает с нами")
    await _delivered(live, "Ваша заявка одобрена")

    await page.get_by_role("link", name="Клиенты").click()
    await page.get_by_role("link", name="Оплачено всего").click()
    await expect(page.locator("[data-test=clients] tbody tr").first).to_be_visible()
    await live.screenshot(page, "clients")
    await page.locator("[data-test=clients] tbody tr a").first.click()
    await expect(page.locator("[data-test=client-money]")).to_contain_text("Оплачено всего")

    await page.goto(live.url + "settings/channels")
    await expect(page.locator("[data-test=channel-loopback]")).to_contain_text("подключён")
    await live.screenshot(page, "channels")
    await page.goto(live.url + "settings/kinds")
    await page.get_by_role("link", name="Студенческая работа").click()
    await expect(page.locator("[data-test=field-row]").first).to_be_visible()
    await live.screenshot(page, "settings")
    await page.get_by_role("link", name="Сотрудники").click()
    await expect(page.locator("[data-test=staff]")).to_contain_text("Елена Руководитель")
    await live.screenshot(page, "settings-staff")

    phone = await live.new_page(phone=True)
    await live.sign_in(phone, "boss@desk.example")
    for path, name in (("executors?tab=active", "executors-phone"), ("settings", "settings-phone")):
        await phone.goto(live.url + path)
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        await live.screenshot(phone, name)


async def _delivered(live: LivePanel, start: str) -> None:
    """The worker's dispatcher sends the queued notice through the loopback channel."""
    for _ in range(100):
        if any(sent.text.startswith(start) for sent in live.loopback.sent):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not delivered: {[sent.text for sent in live.loopback.sent]}")


async def test_a_notice_text_is_previewed_while_typing(live: LivePanel) -> None:
    page = await live.signed_in_page(StaffRole.OWNER)
    await page.goto(live.url + "settings/notices")
    notice = page.locator("[data-test=notice-paid]")
    text = notice.locator("textarea[name=text-ru]")

    await text.fill("Оплата заказа №{number} пришла, к оплате осталось {due}.")
    await expect(notice.locator("#preview-paid-ru [data-test=preview]")).to_have_text(
        "Оплата заказа №1042 пришла, к оплате осталось 6\u00a0250\u00a0₽."
    )
    await text.fill("Заказ №{nomer}")
    await expect(notice.locator("#preview-paid-ru [data-test=preview-error]")).to_contain_text(
        "Неизвестная подстановка {nomer}"
    )
    await text.fill("Спасибо за оплату заказа №{number}!")
    await notice.get_by_role("button", name="Сохранить").click()
    await expect(page.locator("[data-test=notice-paid] [role=status]")).to_have_text("Сохранено.")
    await expect(page.locator("[data-test=notice-paid] textarea[name=text-ru]")).to_have_value(
        "Спасибо за оплату заказа №{number}!"
    )
    await live.screenshot(page, "settings-notices")
