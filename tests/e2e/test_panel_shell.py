"""Signing in and out of the panel in a real browser, in Russian, on a desktop and a phone."""

from __future__ import annotations

from playwright.async_api import expect

from core.models import StaffRole
from tests.e2e.conftest import LivePanel


async def test_a_manager_signs_in_sees_the_panel_in_russian_and_signs_out(live: LivePanel) -> None:
    email = await live.add_staff(StaffRole.MANAGER, "anna@desk.example", "Анна")
    page = await live.new_page()

    await page.goto(live.url)
    await expect(page.get_by_role("heading", name="Войти")).to_be_visible()
    await live.screenshot(page, "login")
    await live.sign_in(page, email, "wrong-password-1", succeeds=False)
    await expect(page.get_by_role("alert")).to_have_text("Неверный e-mail или пароль.")
    await live.sign_in(page, email)

    assert page.url == live.url + "inbox"
    await expect(page.locator(".topbar .who")).to_contain_text("Анна · Менеджер")
    await expect(page.locator("nav.sections")).not_to_contain_text("Настройки")
    await page.get_by_role("button", name="Выйти").click()
    await page.wait_for_url(live.url + "login")
    await page.goto(live.url + "inbox")
    assert page.url.startswith(live.url + "login?next=")


async def test_the_panel_fits_a_phone(live: LivePanel) -> None:
    page = await live.signed_in_page(StaffRole.OWNER, phone=True)

    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    await expect(page.locator("nav.sections")).to_contain_text("Входящие")


async def test_signing_out_on_one_page_sends_its_other_tabs_to_sign_in(live: LivePanel) -> None:
    email = await live.add_staff(StaffRole.MANAGER, "anna@desk.example")
    page = await live.new_page()
    await live.sign_in(page, email)
    other_tab = await page.context.new_page()
    await other_tab.goto(live.url + "inbox")
    await other_tab.wait_for_timeout(300)  # its socket is open

    await page.get_by_role("button", name="Выйти").click()

    await other_tab.wait_for_url(lambda url: "/login?next=" in url)
