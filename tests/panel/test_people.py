"""Executors and clients pages through HTTP: deciding applications notifies the applicant
through the outbox, blocking takes an executor out of the job feed, the client list sorts
by money, and the cards link to orders and conversations."""

from __future__ import annotations

import re

import sqlalchemy as sa

from core import ledger, orders
from core.exchange import ExecutorNotEligible, take_job
from core.ledger import Source
from core.models import (
    ChannelIdentity,
    Client,
    DiscountTier,
    Executor,
    ExecutorStatus,
    Skill,
    StaffRole,
)
from core.settings_store import MANAGERS_SEE_ALL, set_setting
from handlers.feed import matching_executors
from handlers.reactions import APPROVED, REJECTED
from inbox.conversations import add_message, application_conversation
from inbox.models import Direction, OutboxItem
from tests import builders
from tests.panel.conftest import AddStaff, Panel


async def _applicant(panel: Panel, name: str = "Пётр Авторов") -> tuple[int, int]:
    """An applicant as the bot files one: the executor, their chat, their answers."""
    async with panel.container.uow() as uow:
        session = uow.session
        skill = Skill(name="Экономика")
        executor = Executor(
            name=name, status=ExecutorStatus.APPLICANT, phone="+79990001122",
            experience="Пишу курсовые 5 лет", skills=[skill],
        )  # fmt: skip
        session.add(executor)
        await session.flush()
        identity = ChannelIdentity(
            channel="telegram", external_id=f"tg-{executor.id}", chat_id=f"tg-{executor.id}",
            executor_id=executor.id, locale="ru",
        )  # fmt: skip
        session.add(identity)
        conversation = await application_conversation(session, executor.id)
        await add_message(
            session, conversation, Direction.IN,
            "Заявка на работу у нас\nИмя: Пётр Авторов\nНавыки: Экономика",
            channel="telegram", author_executor_id=executor.id,
        )  # fmt: skip
        await uow.commit()
        return executor.id, identity.id


async def _outbox_texts(panel: Panel, identity_id: int) -> list[str]:
    async with panel.container.uow() as uow:
        payloads = await uow.session.scalars(
            sa.select(OutboxItem.payload).where(OutboxItem.identity_id == identity_id)
        )
        return [payload["text"] for payload in payloads]


async def _status(panel: Panel, executor_id: int) -> ExecutorStatus:
    async with panel.container.uow() as uow:
        executor = await uow.session.get(Executor, executor_id)
        assert executor is not None
        return executor.status


async def test_an_application_is_listed_with_its_answers_and_approval_notifies_the_applicant(
    panel: Panel, add_staff: AddStaff
) -> None:
    executor_id, identity_id = await _applicant(panel)
    await add_staff(StaffRole.MANAGER, "m@desk.example")
    await panel.sign_in("m@desk.example")

    listing = await (await panel.client.get("/executors?tab=applicant")).text()
    card = await (await panel.client.get(f"/executors/{executor_id}")).text()
    response = await panel.post(f"/executors/{executor_id}/approve")

    assert f'href="/executors/{executor_id}"' in listing and "Пётр Авторов" in listing
    assert "Навыки: Экономика" in card and "Пишу курсовые 5 лет" in card
    assert re.search(r'href="/conversations/\d+"', card)
    assert response.status == 303
    assert await _status(panel, executor_id) is ExecutorStatus.ACTIVE
    texts = await _outbox_texts(panel, identity_id)
    assert len(texts) == 1 and texts[0].startswith("Ваша заявка одобрена")
    assert texts[0] != APPROVED  # translated for the applicant
    after = await (await panel.client.get(response.headers["Location"])).text()
    assert "заявитель получит уведомление" in after or "уведомлен" in after


async def test_rejection_keeps_the_reason_for_the_desk_and_sends_a_polite_refusal(
    panel: Panel, add_staff: AddStaff
) -> None:
    executor_id, identity_id = await _applicant(panel)
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")

    response = await panel.post(f"/executors/{executor_id}/reject", {"reason": "Нет образцов"})
    again = await panel.post(f"/executors/{executor_id}/reject", {"reason": "ещё раз"})

    assert response.status == 303
    assert again.status == 409  # decided already: a clear message, no second notice
    assert await _status(panel, executor_id) is ExecutorStatus.BLOCKED
    texts = await _outbox_texts(panel, identity_id)
    assert len(texts) == 1 and "Нет образцов" not in texts[0]
    assert texts[0] != REJECTED and texts[0].startswith("Спасибо за заявку")
    card = await (await panel.client.get(f"/executors/{executor_id}")).text()
    assert "Нет образцов" in card


async def test_blocking_takes_the_executor_out_of_the_feed_and_unblocking_brings_them_back(
    panel: Panel, add_staff: AddStaff
) -> None:
    async with panel.container.uow() as uow:
        order, _ = await builders.order_on_exchange(uow.session, price=500_000)
        author = await builders.executor(uow.session, "Автор Блок")
        author.approved_at = author.created_at
        await uow.commit()
        order_id, author_id = order.id, author.id
    await add_staff(StaffRole.MANAGER, "m@desk.example")
    await panel.sign_in("m@desk.example")

    assert await _offered(panel, order_id, author_id)
    blocked = await panel.post(f"/executors/{author_id}/block")
    assert blocked.status == 303
    assert not await _offered(panel, order_id, author_id)
    async with panel.container.uow() as uow:
        order = await orders.get_order(uow.session, order_id)
        author = await uow.session.get(Executor, author_id)
        assert author is not None
        try:
            await take_job(uow.session, order, author)
        except ExecutorNotEligible:
            pass
        else:
            raise AssertionError("a blocked executor took a job")
    listing = await (await panel.client.get("/executors?tab=blocked")).text()
    assert "Автор Блок" in listing

    assert (await panel.post(f"/executors/{author_id}/unblock")).status == 303
    assert await _status(panel, author_id) is ExecutorStatus.ACTIVE
    assert await _offered(panel, order_id, author_id)


async def _offered(panel: Panel, order_id: int, executor_id: int) -> bool:
    async with panel.container.uow() as uow:
        order = await orders.get_order(uow.session, order_id)
        found = await uow.session.scalars(matching_executors(order))
        return executor_id in set(found)


async def test_skills_and_capacity_are_edited_and_bad_capacity_is_refused(
    panel: Panel, add_staff: AddStaff
) -> None:
    executor_id, _ = await _applicant(panel)
    await add_staff(StaffRole.MANAGER, "m@desk.example")
    await panel.sign_in("m@desk.example")

    saved = await panel.post(
        f"/executors/{executor_id}/skills", {"new_skill": "Право", "capacity": "5"}
    )
    wrong = await panel.post(f"/executors/{executor_id}/skills", {"capacity": "много"})

    assert saved.status == 303 and wrong.status == 422
    assert "Вместимость" in await wrong.text() or "от 0 до" in await wrong.text()
    async with panel.container.uow() as uow:
        executor = await uow.session.get(Executor, executor_id)
        assert executor is not None
        assert [s.name for s in executor.skills] == ["Право"] and executor.capacity == 5


async def _client_with_money(panel: Panel, name: str, top_up: int) -> int:
    async with panel.container.uow() as uow:
        client = await builders.client(uow.session, name)
        if top_up:
            await ledger.top_up(uow.session, client.id, top_up, "RUB", Source.desk("main"))
        await uow.commit()
        return client.id


async def test_clients_sort_by_total_paid_and_by_balance(panel: Panel, add_staff: AddStaff) -> None:
    small = await _client_with_money(panel, "Борис Малый", 100_000)
    big = await _client_with_money(panel, "Вера Большая", 900_000)
    none = await _client_with_money(panel, "Анна Ноль", 0)
    # A manager: money sorts need READ_MONEY, which an operator does not have.
    await add_staff(StaffRole.MANAGER, "m@desk.example")
    await panel.sign_in("m@desk.example")

    by_paid = await (await panel.client.get("/clients?sort=total_paid")).text()
    by_balance = await (await panel.client.get("/clients?sort=balance")).text()
    by_name = await (await panel.client.get("/clients?sort=name")).text()
    found = await (await panel.client.get("/clients?q=Вера")).text()

    def order_of(html: str) -> list[int]:
        return [int(i) for i in re.findall(r'data-client="(\d+)"', html)]

    assert order_of(by_paid) == [big, small, none]
    assert order_of(by_balance) == [big, small, none]
    assert order_of(by_name) == [none, small, big]
    assert order_of(found) == [big]
    assert "9\u00a0000\u00a0₽" in by_paid


async def test_the_client_card_links_every_order_and_shows_money_and_discount(
    panel: Panel, add_staff: AddStaff
) -> None:
    async with panel.container.uow() as uow:
        session = uow.session
        order, _ = await builders.paper_order(session)
        await ledger.top_up(session, order.client_id, 2_000_000, "RUB", Source.desk("main"))
        # Charged money counts towards the discount tiers (core.ledger.charged_total).
        await ledger.hold_prepayment(session, order.id, order.client_id, 1_500_000, "RUB")
        await ledger.charge(session, order.id, order.client_id, 1_500_000, "RUB")
        session.add(DiscountTier(currency="RUB", threshold=1_000_000, discount_bp=500))
        await uow.commit()
        client_id, order_id = order.client_id, order.id
    await add_staff(StaffRole.MANAGER, "m@desk.example")
    await panel.sign_in("m@desk.example")

    html = await (await panel.client.get(f"/clients/{client_id}")).text()
    missing = await panel.client.get("/clients/999999")

    assert f'href="/orders/{order_id}"' in html
    assert "20\u00a0000\u00a0₽" in html  # total paid
    money = html[html.index("client-money") :]
    assert "<dd>5\u00a0000\u00a0₽</dd>" in money  # the balance left after the charge
    assert "<dd>5 %</dd>" in money  # the discount tier reached
    assert missing.status == 404


async def test_a_restricted_manager_sees_only_their_clients(
    panel: Panel, add_staff: AddStaff
) -> None:
    manager_id = await add_staff(StaffRole.MANAGER, "m@desk.example")
    mine = await _client_with_money(panel, "Мой Клиент", 0)
    other = await _client_with_money(panel, "Чужой Клиент", 0)
    async with panel.container.uow() as uow:
        row = await uow.session.get(Client, mine)
        assert row is not None
        row.manager_id = manager_id
        await set_setting(uow.session, MANAGERS_SEE_ALL, False)
        await uow.commit()
    await panel.sign_in("m@desk.example")

    listing = await (await panel.client.get("/clients")).text()
    assert f'data-client="{mine}"' in listing and f'data-client="{other}"' not in listing
    assert (await panel.client.get(f"/clients/{other}")).status == 404
    assert (await panel.client.get(f"/clients/{mine}")).status == 200


async def test_an_operator_may_not_decide_applications(panel: Panel, add_staff: AddStaff) -> None:
    executor_id, identity_id = await _applicant(panel)
    await add_staff(StaffRole.OPERATOR, "op@desk.example")
    await panel.sign_in("op@desk.example")

    response = await panel.post(f"/executors/{executor_id}/approve")

    assert response.status == 403
    assert await _status(panel, executor_id) is ExecutorStatus.APPLICANT
    assert await _outbox_texts(panel, identity_id) == []
