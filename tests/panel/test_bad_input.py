"""Inputs that PostgreSQL refuses (an id beyond 32 bits, U+0000 in a text) or that Python
cannot convert (5,000 digits) answer a clear 4xx or an inline error, never a 500
(webapp/panel/inputs.py, applied by the panel guard and its one form reader)."""

from __future__ import annotations

import sqlalchemy as sa
from aiohttp import FormData

from core.models import Executor, OrderKind, Skill, StaffRole, executor_skills
from inbox.models import Message
from tests import builders
from tests.panel.conftest import AddStaff, Panel
from tests.panel.inbox_helpers import desk

HUGE = "99999999999"  # beyond 2**31 - 1: PostgreSQL's INTEGER overflows
TWENTY = "9" * 20
FIVE_THOUSAND = "9" * 5000  # beyond Python's int() digit limit (4,300)


async def test_ids_beyond_32_bits_in_paths_queries_and_forms_are_not_found_not_500(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    await add_staff(StaffRole.OWNER, "owner@desk.example")
    async with panel.container.sessions() as session:
        author = await builders.executor(session, "Пётр Автор")
        await session.commit()
        author_id = author.id
    await panel.sign_in("owner@desk.example")

    not_found = {
        path: (await panel.client.get(path, allow_redirects=False)).status
        for path in (
            f"/orders/{HUGE}", f"/clients/{HUGE}", f"/executors/{HUGE}",
            f"/conversations/{HUGE}", f"/conversations/{HUGE}/thread", f"/files/{HUGE}",
            f"/settings/kinds/{HUGE}", f"/orders/{TWENTY}", f"/clients/{FIVE_THOUSAND}",
        )
    }  # fmt: skip
    queries = {
        path: (await panel.client.get(path, allow_redirects=False)).status
        for path in (
            f"/orders?kind={HUGE}&client={HUGE}&manager={HUGE}&page={FIVE_THOUSAND}",
            f"/orders/new?client={HUGE}&kind={HUGE}", f"/orders/new/fields?kind={HUGE}",
            f"/clients?page={FIVE_THOUSAND}",
            f"/conversations/{scene.thread_a}/messages?before={HUGE}",
            f"/conversations/{scene.thread_a}/forward?message={HUGE}",
            f"/inbox?before={TWENTY}-{HUGE}", f"/inbox?before=1-{HUGE}",
            f"/inbox?more=1&before={TWENTY}-1",
        )
    }  # fmt: skip
    posts = {
        path: (await panel.post(path, data)).status
        for path, data in (
            (f"/executors/{HUGE}/approve", {}),
            (f"/settings/staff/{HUGE}/role", {"role": "manager"}),
            (f"/orders/{HUGE}/status/close", {}),
            (f"/executors/{author_id}/skills", {"skill": HUGE, "capacity": "2"}),
            (f"/orders/{scene.order_a.id}/manager", {"manager": HUGE}),
            (f"/orders/{scene.order_a.id}/assign", {"bid": HUGE, "executor": HUGE}),
            (f"/conversations/{scene.thread_a}/retry", {"outbox_id": HUGE}),
            ("/settings/discounts", {"tier": HUGE, f"threshold-{HUGE}": "1"}),
            ("/orders/new", {"kind": HUGE, "client_id": HUGE}),
        )
    }  # fmt: skip

    assert set(not_found.values()) == {404}, not_found
    assert all(status < 500 for status in queries.values()), queries
    assert all(status < 500 for status in posts.values()), posts
    assert posts[f"/executors/{HUGE}/approve"] == 404
    async with panel.container.sessions() as session:
        skills = list(await session.scalars(sa.select(executor_skills.c.skill_id)))
    assert skills == []


async def test_numbers_with_twenty_or_five_thousand_digits_are_inline_errors_with_input_kept(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.OWNER, "owner@desk.example")
    async with panel.container.sessions() as session:
        author = await builders.executor(session, "Пётр Автор")
        kind_id = await session.scalar(sa.select(OrderKind.id).where(OrderKind.code == "print_job"))
        await session.commit()
        author_id = author.id
    await panel.sign_in("owner@desk.example")

    capacity = [
        await panel.post(f"/executors/{author_id}/skills", {"capacity": digits})
        for digits in (TWENTY, FIVE_THOUSAND, "²")
    ]
    prepayment = [
        await panel.post("/settings", {"digest_time": "09:00", "prepayment": digits})
        for digits in (TWENTY, FIVE_THOUSAND)
    ]
    kind = await panel.post(
        f"/settings/kinds/{kind_id}",
        {"action": "save", "name": "Печать", "prepayment": FIVE_THOUSAND,
         "guarantee_days": TWENTY, "steps": ""},
    )  # fmt: skip

    for response in capacity:
        assert response.status == 422
        assert "от 0 до" in await response.text()
    assert f'name="capacity" min="0" max="100" value="{TWENTY}"' in await capacity[0].text()
    for response in prepayment:
        assert 400 <= response.status < 500
        assert "от 0 до 100" in await response.text()
    assert kind.status == 422
    async with panel.container.sessions() as session:
        stored = await session.get(Executor, author_id)
        assert stored is not None and stored.capacity == 3


async def test_nul_characters_are_dropped_from_searches_replies_skills_and_kind_steps(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    await add_staff(StaffRole.OWNER, "owner@desk.example")
    async with panel.container.sessions() as session:
        author = await builders.executor(session, "Пётр Автор")
        await session.commit()
        author_id = author.id
    await panel.sign_in("owner@desk.example")

    searches = {
        path: await panel.client.get(path, allow_redirects=False)
        for path in (
            "/inbox?q=Ан%00на", "/clients?q=Ан%00на", "/orders?q=%00", "/executors?q=%00",
            "/orders/new/clients?client_q=Ан%00на", "/inbox?q=%00",
        )
    }  # fmt: skip
    reply = await panel.post(
        f"/conversations/{scene.thread_a}/reply", {"text": "Готово\x00, пришлю вечером"}
    )
    multipart = FormData({"csrf_token": panel.csrf, "text": "Ещё\x00 одно"})
    streamed = await panel.client.post(
        f"/conversations/{scene.thread_a}/reply", data=multipart,
        headers={"X-CSRF-Token": panel.csrf}, allow_redirects=False,
    )  # fmt: skip
    skills = await panel.post(
        f"/executors/{author_id}/skills", {"capacity": "2", "new_skill": "Чер\x00тежи"}
    )
    kind = await panel.post(
        "/settings/kinds/new",
        {"action": "save", "name": "Ре\x00монт", "prepayment": "30", "guarantee_days": "0",
         "steps": "visit\x00\nrepair", "field": "0", "f0-key": "address",
         "f0-label": "Ад\x00рес", "f0-type": "text"},
    )  # fmt: skip

    assert {path: r.status for path, r in searches.items()} == dict.fromkeys(searches, 200)
    assert "Анна Смирнова" in await searches["/clients?q=Ан%00на"].text()
    assert reply.status < 400 and streamed.status < 400
    assert skills.status < 400
    assert kind.status < 400, await kind.text()
    async with panel.container.sessions() as session:
        texts = list(
            await session.scalars(
                sa.select(Message.text).where(Message.conversation_id == scene.thread_a)
            )
        )
        skill_names = list(await session.scalars(sa.select(Skill.name)))
        kinds = {
            row.name: row.execution_steps for row in await session.scalars(sa.select(OrderKind))
        }
    assert "Готово, пришлю вечером" in texts and "Ещё одно" in texts
    assert "Чертежи" in skill_names
    assert kinds["Ремонт"] == ["visit", "repair"]
