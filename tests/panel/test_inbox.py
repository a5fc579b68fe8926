"""The unified inbox page through HTTP: order of rows, unread marks per staff member,
waiting time, filters and search, the htmx fragments, and the restriction of managers who
see only their own conversations."""

from __future__ import annotations

import re

from core.i18n import gettext
from core.lifecycle import STATUS_LABELS
from tests.panel.conftest import AddStaff, OpenPanel, Panel
from tests.panel.inbox_helpers import Desk, desk, inbox_rows, restrict_managers


async def _inbox(panel: Panel, query: str = "", **headers: str) -> str:
    response = await panel.client.get("/inbox" + query, headers=headers)
    assert response.status == 200, await response.text()
    return await response.text()


async def _signed_in(panel: Panel, email: str) -> None:
    response = await panel.sign_in(email)
    assert response.status == 303


async def test_conversations_come_newest_first_with_channel_order_unread_and_waiting_time(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene: Desk = await desk(panel.container, add_staff)
    await _signed_in(panel, "maria@desk.example")

    rows = inbox_rows(await _inbox(panel))

    assert list(rows) == [scene.lead, scene.thread_b, scene.thread_a]
    row_a = rows[scene.thread_a]
    assert f"№{scene.order_a.number}" in row_a
    assert gettext(STATUS_LABELS[scene.order_a.status], "ru") in row_a
    assert "Анна Смирнова" in row_a and "Когда будет готово?" in row_a
    assert 'class="ch ch-loopback"' in row_a
    assert 'class="badge unread"' in row_a and "ждёт" in row_a
    assert "ch-email" in rows[scene.thread_b] and "ждёт" not in rows[scene.thread_b]
    assert "Иван:" in rows[scene.thread_b]  # Ivan's answer is the latest there
    assert "Лид" in rows[scene.lead] and "ch-vk" in rows[scene.lead]


async def test_a_staff_answer_is_shown_with_its_authors_name_and_you_only_for_your_own(
    panel: Panel, open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    """Every staff member's answer was prefixed "Вы:", whoever was looking."""
    scene = await desk(panel.container, add_staff)  # Ivan answered Boris last
    await _signed_in(panel, "maria@desk.example")

    for_maria = inbox_rows(await _inbox(panel))[scene.thread_b]
    async with open_panel() as other:
        await _signed_in(other, "ivan@desk.example")
        for_ivan = inbox_rows(await _inbox(other))[scene.thread_b]

    assert "Иван:" in for_maria and "Вы:" not in for_maria
    assert "Вы:" in for_ivan and "Иван:" not in for_ivan


async def test_reading_a_thread_clears_its_unread_mark_for_that_person_only(
    panel: Panel, open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    await _signed_in(panel, "maria@desk.example")

    thread = await panel.client.get(f"/conversations/{scene.thread_a}/thread")
    assert thread.status == 200

    assert "badge unread" not in inbox_rows(await _inbox(panel))[scene.thread_a]
    async with open_panel() as other:
        await _signed_in(other, "ivan@desk.example")
        assert "badge unread" in inbox_rows(await _inbox(other))[scene.thread_a]


async def test_filters_narrow_the_list_and_live_in_the_url(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    await _signed_in(panel, "maria@desk.example")

    async def ids(query: str) -> list[int]:
        return list(inbox_rows(await _inbox(panel, query)))

    assert await ids("?channel=email") == [scene.thread_b]
    assert await ids("?unanswered=1") == [scene.lead, scene.thread_a]
    assert await ids("?mine=1") == [scene.thread_a]
    assert await ids("?status=lead") == [scene.lead]
    assert await ids(f"?status={scene.order_b.status.value}&channel=email") == [scene.thread_b]
    page = await _inbox(panel, "?channel=email&unanswered=1")
    assert (
        '<option value="email" selected>' in page and 'name="unanswered" value="1" checked' in page
    )


async def test_the_channel_filter_offers_only_channels_this_installation_has(
    panel: Panel, add_staff: AddStaff
) -> None:
    """It offered Viber, VK and site chat on every desk, though none of them exists."""
    await desk(panel.container, add_staff)  # people on loopback, e-mail and VK
    await _signed_in(panel, "maria@desk.example")
    configured = panel.container.channels.names()

    page = await _inbox(panel)

    select = page.split('<select name="channel"', 1)[1].split("</select>", 1)[0]
    offered = re.findall(r'<option value="(\w+)"', select)
    assert sorted(offered) == sorted({"email", "vk", "loopback", *configured})
    assert "viber" not in offered and "site" not in offered
    assert "Viber" not in select and "Чат на сайте" not in select


async def test_search_finds_by_text_order_number_name_phone_and_email(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    await _signed_in(panel, "maria@desk.example")

    async def ids(q: str) -> list[int]:
        return list(inbox_rows(await _inbox(panel, "?q=" + q)))

    assert await ids("счёт") == [scene.thread_b]
    assert await ids(f"№{scene.order_a.number}") == [scene.thread_a]
    assert await ids("Кузнецова") == [scene.lead]
    assert await ids("912 345 67 89") == [scene.thread_a]
    assert await ids("boris@example") == [scene.thread_b]
    assert await ids("нет такого") == []


async def test_a_search_that_finds_nothing_says_so_with_what_was_searched(
    panel: Panel, add_staff: AddStaff
) -> None:
    """It said "no conversations here", as if the inbox were empty."""
    await desk(panel.container, add_staff)
    await _signed_in(panel, "maria@desk.example")

    page = await _inbox(panel, "?q=Пиццерия")

    assert "По запросу «Пиццерия» ничего не найдено." in page
    assert "Здесь пока нет переписок." not in page


async def test_htmx_gets_the_list_alone_and_show_more_pages_on(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    await _signed_in(panel, "maria@desk.example")

    fragment = await _inbox(
        panel, "?channel=vk", **{"HX-Request": "true", "HX-Target": "inbox-list"}
    )
    assert fragment.lstrip().startswith('<div id="inbox-list"')
    assert "<html" not in fragment and 'hx-get="/inbox?channel=vk"' in fragment
    assert list(inbox_rows(fragment)) == [scene.lead]

    from webapp.panel import inbox as inbox_page

    size, inbox_page.PAGE_SIZE = inbox_page.PAGE_SIZE, 2
    try:
        first = await _inbox(panel)
        assert list(inbox_rows(first)) == [scene.lead, scene.thread_b]
        more = first.split('id="inbox-more"')[1].split('hx-get="')[1].split('"')[0]
        rest = await _inbox(
            panel, more.removeprefix("/inbox").replace("&amp;", "&"),
            **{"HX-Request": "true", "HX-Target": "inbox-more"},
        )  # fmt: skip
    finally:
        inbox_page.PAGE_SIZE = size
    assert list(inbox_rows(rest)) == [scene.thread_a] and "<h1>" not in rest


async def test_a_restricted_manager_sees_only_their_own_and_unassigned_conversations(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    await restrict_managers(panel.container)
    await _signed_in(panel, "maria@desk.example")

    assert scene.thread_b not in inbox_rows(await _inbox(panel))
    assert scene.thread_a in inbox_rows(await _inbox(panel))
    for path in ("", "/thread", "/messages"):
        response = await panel.client.get(f"/conversations/{scene.thread_b}{path}")
        assert response.status == 404, path
    refused = await panel.post(f"/conversations/{scene.thread_b}/reply", {"text": "Привет"})
    assert refused.status == 404
    assert (await panel.client.get(f"/conversations/{scene.thread_a}")).status == 200
    assert scene.thread_b not in inbox_rows(await _inbox(panel, "?q=счёт"))
