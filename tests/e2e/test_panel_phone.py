"""The panel on a 390 px phone with the demo's data (`pult demo`): the inbox fits the
screen with executors' names readable, and the order card scrolls as one page, so the
thread's composer can be reached."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.async_api import Page, expect

from core.models import StaffRole
from inbox.models import Conversation, ConversationKind
from runtime.demo import fill_demo
from tests.e2e.conftest import PHONE, LivePanel

# The boxes around the composer that scroll on their own (overflow auto/scroll with a
# height limit): inside one, the composer is out of reach below the messages.
SCROLL_BOXES = """() => {
  const found = [];
  for (let e = document.querySelector('.composer').parentElement; e; e = e.parentElement) {
    const style = getComputedStyle(e);
    if (e !== document.documentElement && e !== document.body
        && /(auto|scroll)/.test(style.overflowY) && style.maxHeight !== 'none') {
      found.push(e.tagName + '.' + e.className);
    }
  }
  return found;
}"""
CLIPPED_NAMES = """() => [...document.querySelectorAll('.inbox-who')]
  .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > innerWidth)
  .map(e => e.textContent)"""


async def _phone(live: LivePanel) -> Page:
    await fill_demo(live.container)
    return await live.signed_in_page(StaffRole.OWNER, phone=True)


async def test_the_phone_inbox_fits_the_screen_and_shows_executors_names(
    live: LivePanel,
) -> None:
    """It was 418 px wide on a 390 px screen and cut executors' names off."""
    page = await _phone(live)
    await page.goto(live.url + "inbox")
    await expect(page.locator(".inbox-row").first).to_be_visible()

    width = await page.evaluate("document.documentElement.scrollWidth")
    clipped = await page.evaluate(CLIPPED_NAMES)
    executor_rows = page.locator(".inbox-row", has=page.locator(".badge.kind"))

    assert width <= PHONE["width"]
    assert clipped == []
    assert await executor_rows.count() > 0
    await live.screenshot(page, "inbox-phone")


async def test_the_phone_order_card_scrolls_as_one_page_down_to_the_composer(
    live: LivePanel,
) -> None:
    """The card nested two scroll boxes, and the composer stayed out of reach."""
    page = await _phone(live)
    async with live.container.sessions() as session:
        order_id = await session.scalar(
            sa.select(Conversation.order_id)
            .where(Conversation.kind == ConversationKind.CLIENT)
            .order_by(Conversation.last_message_at.desc())
            .limit(1)
        )
    await page.goto(live.url + f"orders/{order_id}")
    composer = page.locator(".composer textarea[name=text]").first
    await expect(composer).to_be_attached()

    boxes = await page.evaluate(SCROLL_BOXES)
    await composer.scroll_into_view_if_needed()
    await expect(composer).to_be_in_viewport()
    width = await page.evaluate("document.documentElement.scrollWidth")

    assert boxes == []
    assert width <= PHONE["width"]
