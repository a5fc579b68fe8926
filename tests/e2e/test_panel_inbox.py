"""The inbox in a real browser: a message received through the messaging core appears in the
open inbox within two seconds without a reload (on the embedded set-up and on PostgreSQL +
Redis), a reply typed in the panel is delivered through the loopback test channel, and
the inbox fits a phone."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

from playwright.async_api import Page, expect
from sqlalchemy import select

from core.models import StaffRole, User
from inbox.bus import MESSAGE_CREATED
from inbox.channel import Incoming
from inbox.conversations import lead_conversation
from runtime.demo import fill_demo
from tests.e2e.conftest import LivePanel
from tests.integration import panel_scene

LIVE_WITHIN_MS = 2_000
_ids = itertools.count(1)


async def _client_with_order(live: LivePanel, manager_email: str, name: str) -> str:
    """A client on the loopback channel with an order of this manager, who already wrote
    once; returns the client's chat id."""
    async with live.container.sessions() as session:
        manager = await session.scalar(select(User).where(User.email == manager_email))
        client = await panel_scene.client(session, name, channel="loopback")
        order = await panel_scene.order(session, client, manager, title="Курсовая по праву")
        thread = await panel_scene.client_thread(session, order)
        await panel_scene.inbound(session, thread, "Добрый день!", channel="loopback")
        await session.commit()
        return f"loopback-{client.id}"


async def _receive(live: LivePanel, chat_id: str, text: str) -> None:
    await live.container.receiver.receive(
        Incoming(channel="loopback", sender_id=chat_id, chat_id=chat_id,
                 message_id=f"e2e-{next(_ids)}", text=text)
    )  # fmt: skip


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


async def _socket_open(live: LivePanel) -> None:
    """The page's socket has subscribed (its handler runs right after the upgrade)."""
    await _until(lambda: live.container.bus.subscriber_count(MESSAGE_CREATED) >= 1)


async def _more_conversations(live: LivePanel, manager_email: str) -> None:
    """Other channels' conversations, for a screenshot that shows what the inbox is for."""
    async with live.container.sessions() as session:
        manager = await session.scalar(select(User).where(User.email == manager_email))
        assert manager is not None
        boris = await panel_scene.client(session, "Борис Петров", channel="email",
                                         email="boris@example.ru")  # fmt: skip
        order = await panel_scene.order(session, boris, manager, title="Реферат по истории")
        thread = await panel_scene.client_thread(session, order)
        await panel_scene.inbound(session, thread, "Пришлите, пожалуйста, счёт", channel="email")
        await panel_scene.answer(session, thread, "Счёт во вложении, спасибо!", manager)
        vera = await panel_scene.client(session, "Вера Кузнецова", channel="vk")
        lead = await lead_conversation(session, vera.id)
        await panel_scene.inbound(session, lead, "Сколько стоит дипломная работа?", channel="vk")
        igor = await panel_scene.client(session, "Игорь Соколов", channel="telegram")
        order = await panel_scene.order(session, igor, manager, title="Контрольная")
        thread = await panel_scene.client_thread(session, order)
        await panel_scene.inbound(
            session, thread, "Добавил методичку, посмотрите", channel="telegram"
        )
        await session.commit()


async def _open_inbox(
    live: LivePanel, *, phone: bool = False, more: bool = False
) -> tuple[Page, str]:
    email = await live.add_staff(StaffRole.MANAGER, "olga@desk.example", "Ольга")
    chat = await _client_with_order(live, email, "Анна Смирнова")
    if more:
        await _more_conversations(live, email)
    page = await live.new_page(phone=phone)
    await live.sign_in(page, email)
    await page.goto(live.url + "inbox")
    await _socket_open(live)
    return page, chat


async def test_a_received_message_shows_up_in_the_open_inbox_without_reload(
    live: LivePanel,
) -> None:
    page = await _message_appears_live(live, more=True)
    await live.screenshot(page, "inbox")


async def test_a_received_message_shows_up_live_on_postgresql_and_redis(
    live_postgres: LivePanel,
) -> None:
    await _message_appears_live(live_postgres)


async def _message_appears_live(live: LivePanel, *, more: bool = False) -> Page:
    page, chat = await _open_inbox(live, more=more)
    await expect(page.locator(".inbox-row")).to_have_count(4 if more else 1)
    await page.evaluate("window.notReloaded = true")

    await _receive(live, chat, "Когда будет готова курсовая?")

    newest = page.locator(".inbox-row").first
    await expect(newest).to_contain_text("Когда будет готова курсовая?", timeout=LIVE_WITHIN_MS)
    await expect(newest.locator(".badge.unread")).to_have_text("2")
    assert await page.evaluate("window.notReloaded === true")
    return page


async def test_a_reply_typed_in_the_panel_is_delivered_through_the_test_channel(
    live: LivePanel,
) -> None:
    page, chat = await _open_inbox(live)
    await page.locator(".inbox-row a").first.click()
    await expect(page.locator(".msg-in")).to_contain_text("Добрый день!")

    await page.fill(".composer textarea[name=text]", "Будет готова в пятницу")
    await page.get_by_role("button", name="Отправить", exact=True).click()

    await expect(page.locator(".msg-out")).to_contain_text("Будет готова в пятницу")
    await _until(lambda: any(sent.text == "Будет готова в пятницу" for sent in live.loopback.sent))
    assert live.loopback.sent[-1].chat_id == chat
    # The delivery is announced on the socket and the thread shows it without a reload.
    await expect(page.locator(".msg-out .msg-delivery")).to_contain_text("Отправлено")
    await expect(page.locator(".composer textarea[name=text]")).to_have_value("")
    await _receive(live, chat, "Спасибо!")
    await expect(page.locator(".msg-in").last).to_contain_text("Спасибо!", timeout=LIVE_WITHIN_MS)
    await live.screenshot(page, "conversation")


async def test_the_inbox_and_a_conversation_fit_a_phone(live: LivePanel) -> None:
    """With the demo's data (a one-row inbox hid that a long row was 418 px wide)."""
    await fill_demo(live.container)
    page = await live.signed_in_page(StaffRole.MANAGER, phone=True)
    await page.goto(live.url + "inbox")
    await expect(page.locator(".inbox-row").first).to_be_visible()
    assert await page.locator(".inbox-row").count() > 10
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390

    await page.locator(".inbox-row a").first.click()
    await expect(page.locator(".composer textarea[name=text]")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await live.screenshot(page, "conversation-phone")


async def test_search_and_filters_narrow_the_list_in_place_and_survive_a_reload(
    live: LivePanel,
) -> None:
    page, _chat = await _open_inbox(live, more=True)
    await expect(page.locator(".inbox-row")).to_have_count(4)
    await page.evaluate("window.notReloaded = true")

    await page.fill("input[name=q]", "методичку")
    await expect(page.locator(".inbox-row")).to_have_count(1)
    await expect(page.locator(".inbox-row")).to_contain_text("Игорь Соколов")
    assert await page.evaluate("window.notReloaded === true")
    await page.fill("input[name=q]", "")
    await expect(page.locator(".inbox-row")).to_have_count(4)
    await page.select_option("select[name=channel]", "vk")
    await expect(page.locator(".inbox-row")).to_have_count(1)
    assert "channel=vk" in page.url

    await page.reload()
    await expect(page.locator(".inbox-row")).to_have_count(1)
    await expect(page.locator(".inbox-row")).to_contain_text("Вера Кузнецова")
    await expect(page.locator("select[name=channel]")).to_have_value("vk")
