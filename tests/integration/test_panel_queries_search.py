"""The panel's search (webapp/queries/search.py) and the operator's quick client search, on
SQLite and PostgreSQL: order numbers, phones in any format, names in any case, e-mails and
message texts, and a restricted manager's view."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ChannelIdentity
from tests.integration import panel_scene as scene
from webapp.queries import client_quick_search, search


async def test_an_order_number_in_any_spelling(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    number = desk.order_a.number
    for typed in (str(number), f"#{number}", f"№ {number}"):
        result = await search(session, typed, viewer_id=desk.maria.id)
        assert [o.order_id for o in result.orders] == [desk.order_a.id], typed
        assert [(h.row.conversation_id, h.matched) for h in result.conversations] == [
            (desk.thread_a.id, "order")
        ]
    assert (await search(session, "999999", viewer_id=desk.maria.id)).orders == []


@pytest.mark.parametrize(
    "typed",
    ["+7 (912) 345-67-89", "89123456789", "79123456789", "912-345-67", "(912) 345"],
)
async def test_a_phone_in_any_format_finds_the_client(session: AsyncSession, typed: str) -> None:
    desk = await scene.desk(session)  # Анна's phone is stored as "8 (912) 345-67-89"
    result = await search(session, typed, viewer_id=desk.maria.id)
    assert [(c.client_id, c.matched) for c in result.clients] == [(desk.anna.id, "phone")]
    assert [h.row.conversation_id for h in result.conversations] == [desk.thread_a.id]


async def test_a_phone_proved_on_a_channel_identity_counts(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    session.add(
        ChannelIdentity(
            channel="viber",
            external_id="v1",
            client_id=desk.vera.id,
            phone="+79031234567",
            phone_verified=True,
        )
    )
    await session.flush()
    result = await search(session, "8 903 123 45 67", viewer_id=desk.maria.id)
    assert [c.client_id for c in result.clients] == [desk.vera.id]
    assert [h.row.conversation_id for h in result.conversations] == [desk.lead.id]


async def test_a_name_in_any_case_and_an_email(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    for typed in ("смирнова", "СМИРН", "Анна Смир"):
        result = await search(session, typed, viewer_id=desk.maria.id)
        assert [(c.client_id, c.matched) for c in result.clients] == [(desk.anna.id, "client")]
    result = await search(session, "boris@exa", viewer_id=desk.maria.id)
    assert [(c.client_id, c.matched) for c in result.clients] == [(desk.boris.id, "email")]
    assert [h.row.conversation_id for h in result.conversations] == [desk.thread_b.id]


async def test_a_name_surname_first_with_initials_and_a_company_name(
    session: AsyncSession,
) -> None:
    """ "Попов Алексей", "Попов А" and the company's name found nothing for Алексей Попов."""
    desk = await scene.desk(session)
    popov = await scene.client(session, "Алексей Попов", channel="telegram")
    popov.company = "ООО «СтройМонтаж»"
    thread = await scene.client_thread(session, await scene.order(session, popov, desk.maria))
    await scene.inbound(session, thread, "Машина будет к 9:00?")
    await session.flush()

    async def found(typed: str) -> list[tuple[int, str]]:
        result = await search(session, typed, viewer_id=desk.maria.id)
        assert [h.row.conversation_id for h in result.conversations] == [thread.id], typed
        return [(c.client_id, c.matched) for c in result.clients]

    for typed in ("Попов Алексей", "попов алексей", "Попов А", "Попов А.", "А. Попов"):
        assert await found(typed) == [(popov.id, "client")], typed
    for typed in ("СтройМонтаж", "строй"):  # SQLite: the usual spellings only
        assert await found(typed) == [(popov.id, "company")], typed
    nobody = await search(session, "Попов Б", viewer_id=desk.maria.id)
    assert nobody.clients == [] and nobody.conversations == []


async def test_message_text_with_a_snippet(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    long = "Добрый день. " * 20 + "Нужна презентация к докладу. " + "Спасибо! " * 20
    message_id = await scene.inbound(session, desk.thread_a, long)
    result = await search(session, "ПРЕЗЕНТАЦ", viewer_id=desk.maria.id)
    (hit,) = result.conversations
    assert (hit.row.conversation_id, hit.matched, hit.message_id) == (
        desk.thread_a.id,
        "text",
        message_id,
    )
    assert hit.snippet is not None and "презентация к докладу" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    # "счёт" is in the client's message and in Ivan's answer of one conversation: one hit.
    result = await search(session, "счёт", viewer_id=desk.maria.id)
    assert [h.row.conversation_id for h in result.conversations] == [desk.thread_b.id]


async def test_internal_notes_and_like_wildcards_find_nothing(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    assert (await search(session, "скидку", viewer_id=desk.maria.id)).conversations == []
    for typed in ("%", "___", "%%%", "  "):
        result = await search(session, typed, viewer_id=desk.maria.id)
        assert (result.conversations, result.clients, result.orders) == ([], [], []), typed


async def test_a_restricted_manager_finds_only_their_own(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    mine = await search(session, "счёт", viewer_id=desk.maria.id, only_assigned_to=desk.maria.id)
    assert mine.conversations == []
    theirs = await search(session, "счёт", viewer_id=desk.ivan.id, only_assigned_to=desk.ivan.id)
    assert [h.row.conversation_id for h in theirs.conversations] == [desk.thread_b.id]
    number = str(desk.order_b.number)
    assert (await search(session, number, viewer_id=1, only_assigned_to=desk.maria.id)).orders == []
    assert (
        await search(session, "Борис", viewer_id=1, only_assigned_to=desk.maria.id)
    ).clients == []


async def test_quick_search_by_first_letters_or_phone_digits(session: AsyncSession) -> None:
    desk = await scene.desk(session)
    assert [c.client_id for c in await client_quick_search(session, "смир")] == [desk.anna.id]
    assert [c.client_id for c in await client_quick_search(session, "Ан")] == [desk.anna.id]
    assert [c.client_id for c in await client_quick_search(session, "вер")] == [desk.vera.id]
    assert await client_quick_search(session, "мирн") == []  # not the start of a word
    hits = await client_quick_search(session, "916 111")
    assert [(c.client_id, c.matched) for c in hits] == [(desk.boris.id, "phone")]
    assert [c.client_id for c in await client_quick_search(session, "+7 912")] == [desk.anna.id]
