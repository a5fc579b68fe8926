"""The inbox read model (webapp/queries/inbox.py) on SQLite and PostgreSQL: ordering and
keyset pages, unread counts per viewer, waiting time, every filter and the restriction of a
manager to their own conversations."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import OrderStatus
from inbox.models import ConversationKind, Direction
from tests.integration import panel_scene as scene
from webapp.queries import InboxCursor, InboxFilters, inbox_page, inbox_rows


async def test_newest_activity_first_without_internal_notes(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    page = await inbox_page(session, viewer_id=desk.maria.id)
    assert [r.conversation_id for r in page.rows] == [
        desk.lead.id,
        desk.thread_b.id,
        desk.thread_a.id,
    ]
    assert page.next_cursor is None
    lead, b, a = page.rows
    assert (lead.kind, lead.counterpart_name, lead.order_id, lead.channel) == (
        ConversationKind.LEAD,
        "Вера Кузнецова",
        None,
        "vk",
    )
    assert (a.order_number, a.order_status, a.order_title, a.manager_name) == (
        desk.order_a.number,
        OrderStatus.NEW,
        "Курсовая по экономике",
        "Мария",
    )
    assert (b.channel, b.last_message_preview, b.last_message_direction) == (
        "email",
        "Счёт во вложении",
        Direction.OUT,
    )


async def test_keyset_pages_cover_every_row_once(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    first = await inbox_page(session, viewer_id=desk.maria.id, limit=2)
    assert first.next_cursor is not None
    token = first.next_cursor.token()
    second = await inbox_page(
        session, viewer_id=desk.maria.id, limit=2, before=InboxCursor.parse(token)
    )
    assert InboxCursor.parse(token) == first.next_cursor
    assert [r.conversation_id for r in first.rows + second.rows] == [
        desk.lead.id,
        desk.thread_b.id,
        desk.thread_a.id,
    ]
    assert second.next_cursor is None
    assert InboxCursor.parse("garbage") is None


async def test_a_new_message_moves_its_conversation_to_the_top(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    await scene.inbound(session, desk.thread_a, "Алло?")
    page = await inbox_page(session, viewer_id=desk.maria.id)
    assert page.rows[0].conversation_id == desk.thread_a.id
    assert page.rows[0].last_message_preview == "Алло?"


async def test_unread_counts_belong_to_each_viewer(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    second = await scene.inbound(session, desk.thread_a, "Ау, есть кто?")
    await scene.read_up_to(session, desk.maria, desk.thread_a.id, second)
    await scene.inbound(session, desk.thread_a, "Жду ответа")

    def unread(rows: list) -> int:  # type: ignore[type-arg]
        return next(r.unread for r in rows if r.conversation_id == desk.thread_a.id)

    assert unread((await inbox_page(session, viewer_id=desk.maria.id)).rows) == 1
    assert unread((await inbox_page(session, viewer_id=desk.ivan.id)).rows) == 3
    # Our own answer is not unread for anyone.
    rows = await inbox_rows(session, [desk.thread_b.id], viewer_id=desk.maria.id)
    assert rows[0].unread == 1


async def test_waiting_since_runs_from_the_last_unanswered_message(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    (a,) = await inbox_rows(session, [desk.thread_a.id], viewer_id=desk.maria.id)
    (b,) = await inbox_rows(session, [desk.thread_b.id], viewer_id=desk.maria.id)
    assert a.waiting_since == desk.thread_a.last_inbound_at and a.waiting_since is not None
    assert b.waiting_since is None  # Ivan answered after the client wrote

    await scene.answer(session, desk.thread_a, "Завтра", desk.maria)
    (a,) = await inbox_rows(session, [desk.thread_a.id], viewer_id=desk.maria.id)
    assert a.waiting_since is None
    await scene.inbound(session, desk.thread_a, "Спасибо, а во сколько?")
    (a,) = await inbox_rows(session, [desk.thread_a.id], viewer_id=desk.maria.id)
    assert a.waiting_since == desk.thread_a.last_inbound_at


async def _ids(session: AsyncSession, viewer: int, **filters: object) -> list[int]:
    page = await inbox_page(session, viewer_id=viewer, filters=InboxFilters(**filters))  # type: ignore[arg-type]
    return [row.conversation_id for row in page.rows]


async def test_each_filter(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    maria, a, b, lead = desk.maria.id, desk.thread_a.id, desk.thread_b.id, desk.lead.id
    assert await _ids(session, maria, channel="telegram") == [a]
    assert await _ids(session, maria, channel="email") == [b]
    assert await _ids(session, maria, channel="viber") == []
    assert await _ids(session, maria, statuses=(OrderStatus.NEW,)) == [b, a]
    assert await _ids(session, maria, statuses=(OrderStatus.CLOSED, OrderStatus.PAID)) == []
    assert await _ids(session, maria, assigned_to_me=True) == [a]
    assert await _ids(session, desk.ivan.id, assigned_to_me=True) == [b]
    assert await _ids(session, maria, unanswered=True) == [lead, a]
    assert await _ids(session, maria, kinds=(ConversationKind.LEAD,)) == [lead]
    assert await _ids(session, maria, kinds=(ConversationKind.NOTES,)) == [desk.notes_a.id]
    assert await _ids(session, maria, unanswered=True, assigned_to_me=True) == [a]


async def test_the_channel_is_that_of_the_latest_inbound_message(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    await scene.inbound(session, desk.thread_a, "Пишу с почты", channel="email")
    assert await _ids(session, desk.maria.id, channel="telegram") == []
    assert await _ids(session, desk.maria.id, channel="email") == [
        desk.thread_a.id,
        desk.thread_b.id,
    ]


async def test_a_restricted_manager_sees_theirs_and_nobodys(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    ivan, maria = desk.ivan.id, desk.maria.id
    # Вера's lead is nobody's yet: every restricted manager sees it; "mine" does not.
    assert await _ids(session, ivan, only_assigned_to=ivan) == [desk.lead.id, desk.thread_b.id]
    assert await _ids(session, maria, only_assigned_to=maria) == [desk.lead.id, desk.thread_a.id]
    assert await _ids(session, ivan, assigned_to_me=True) == [desk.thread_b.id]
    # The client's responsible manager takes the lead.
    desk.vera.manager_id = ivan
    await session.flush()
    assert await _ids(session, maria, only_assigned_to=maria) == [desk.thread_a.id]
    assert await _ids(session, ivan, assigned_to_me=True) == [desk.lead.id, desk.thread_b.id]
    # The order's manager wins over the conversation's and the client's.
    desk.order_a.manager_id = ivan
    await session.flush()
    assert await _ids(session, maria, only_assigned_to=maria) == []
    assert desk.thread_a.id in await _ids(session, ivan, only_assigned_to=ivan)


async def test_previews_are_short_and_on_one_line(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    await scene.inbound(session, desk.thread_a, "Первая строка\n\nвторая   строка " + "я" * 300)
    (row,) = await inbox_rows(session, [desk.thread_a.id], viewer_id=desk.maria.id)
    assert row.last_message_preview.startswith("Первая строка вторая строка яя")
    assert len(row.last_message_preview) == 120 and row.last_message_preview.endswith("…")
