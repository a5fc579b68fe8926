"""The owner's settings through HTTP: who may open them, general settings, discount tiers,
staff accounts and the channel status page. Order kinds and notice templates are in
test_settings_kinds.py and test_settings_notices.py."""

from __future__ import annotations

import re

import sqlalchemy as sa

from core import orders
from core.models import ChannelIdentity, Client, DiscountTier, Executor, OrderKind, StaffRole, User
from core.settings_store import DIGEST_TIME, MANAGERS_SEE_ALL, get_setting
from inbox.conversations import order_thread
from inbox.models import ConversationKind, OutboxItem, OutboxStatus
from inbox.replies import reply
from runtime.demo import fill_demo
from tests import builders
from tests.panel.conftest import AddStaff, OpenPanel, Panel, csrf_in
from webapp.access.guard import PANEL_ROUTES
from webapp.access.permissions import Permission
from webapp.access.sessions import find_staff, start_session


async def test_a_manager_is_refused_every_settings_route_and_sees_no_settings_link(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.MANAGER, "m@desk.example")
    await panel.sign_in("m@desk.example")
    routes = [
        route
        for route in panel.client.app[PANEL_ROUTES]  # type: ignore[index]
        if route.path.startswith("/settings")
    ]

    assert {route.permission for route in routes} == {Permission.SETTINGS, Permission.STAFF}
    assert len(routes) >= 12
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        response = await panel.client.request(
            route.method, path, data={"csrf_token": panel.csrf}, allow_redirects=False
        )
        assert response.status == 403, (route, response.status)
        if route.method == "GET":
            html = await response.text()
            assert "Нет доступа" in html and 'data-section="settings"' not in html


async def test_general_settings_are_saved_and_a_wrong_time_comes_back_with_the_input(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")

    saved = await panel.post(
        "/settings", {"digest_time": "8:30", "managers_see_all": "1", "prepayment": "30"}
    )
    wrong = await panel.post(
        "/settings", {"digest_time": "25:99", "managers_see_all": "1", "prepayment": "30"}
    )

    assert saved.status == 303
    page = await (await panel.client.get("/settings")).text()
    assert 'value="08:30"' in page and 'value="30"' in page
    assert wrong.status == 422
    html = await wrong.text()
    assert 'value="25:99"' in html and "Введите время как ЧЧ:ММ" in html
    async with panel.container.uow() as uow:
        assert await get_setting(uow.session, DIGEST_TIME) == "08:30"  # the wrong one not kept


async def test_managers_see_all_off_restricts_managers_to_their_own_work(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.OWNER, "o@desk.example")
    manager_id = await add_staff(StaffRole.MANAGER, "m@desk.example")
    await panel.sign_in("o@desk.example")

    response = await panel.post("/settings", {"digest_time": "09:00", "prepayment": "50"})

    assert response.status == 303
    async with panel.container.uow() as uow:
        assert await get_setting(uow.session, MANAGERS_SEE_ALL) is False
        manager = await uow.session.get(User, manager_id)
        assert manager is not None
        token = await start_session(uow.session, manager, address="127.0.0.1", user_agent="t")
        staff = await find_staff(uow.session, token)
        await uow.commit()
    assert staff is not None and staff.only_assigned_to == manager_id
    await panel.post("/settings", {"digest_time": "09:00", "prepayment": "50",
                                   "managers_see_all": "1"})  # fmt: skip
    async with panel.container.uow() as uow:
        staff = await find_staff(uow.session, token)
    assert staff is not None and staff.only_assigned_to is None


async def test_discount_tiers_are_edited_and_quotes_use_them(
    panel: Panel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")

    added = await panel.post("/settings/discounts", {"threshold-new": "50 000", "percent-new": "5"})
    async with panel.container.uow() as uow:
        tier = await uow.session.scalar(sa.select(DiscountTier))
        assert tier is not None
        tier_id = tier.id
    changed = await panel.post(
        "/settings/discounts",
        {"tier": str(tier_id), f"threshold-{tier_id}": "0", f"percent-{tier_id}": "7,5"},
    )
    wrong = await panel.post(
        "/settings/discounts",
        {"tier": str(tier_id), f"threshold-{tier_id}": "0", f"percent-{tier_id}": "7,5",
         "threshold-new": "100000", "percent-new": "сто"},
    )  # fmt: skip

    assert added.status == 303 and changed.status == 303
    assert wrong.status == 422 and 'value="сто"' in await wrong.text()
    async with panel.container.uow() as uow:
        tiers = (await uow.session.execute(
            sa.select(DiscountTier.threshold, DiscountTier.discount_bp)
        )).all()  # fmt: skip
        assert [tuple(t) for t in tiers] == [(0, 750)]
        order, manager = await builders.paper_order(uow.session)
        await orders.quote_order(uow.session, order, manager, 1_000_000)
        assert (order.discount_bp, order.client_price) == (750, 925_000)
    page = await (await panel.client.get("/settings/discounts")).text()
    assert 'value="7,50"' in page


async def test_an_added_staff_member_signs_in_with_the_one_time_password_shown_once(
    panel: Panel, open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")

    response = await panel.post(
        "/settings/staff", {"name": "Ольга Оператор", "email": "Olga@Desk.example",
                            "role": "operator"}
    )  # fmt: skip
    html = await response.text()
    duplicate = await panel.post(
        "/settings/staff", {"name": "Ещё", "email": "olga@desk.example", "role": "manager"}
    )

    assert response.status == 200
    match = re.search(r'data-test="one-time-password">([^<]+)<', html)
    assert match is not None
    listing = await (await panel.client.get("/settings/staff")).text()
    assert match[1] not in listing and "olga@desk.example" in listing
    assert duplicate.status == 422 and "Сотрудник с адресом olga@desk.example уже есть" in (
        await duplicate.text()
    )
    async with open_panel() as browser:
        signed = await browser.sign_in("olga@desk.example", match[1])
        assert signed.status == 303 and signed.headers["Location"] == "/account/password"


async def test_the_last_owner_can_be_neither_deactivated_nor_demoted(
    panel: Panel, add_staff: AddStaff
) -> None:
    owner_id = await add_staff(StaffRole.OWNER, "o@desk.example")
    manager_id = await add_staff(StaffRole.MANAGER, "m@desk.example")
    await panel.sign_in("o@desk.example")

    closed = await panel.post(f"/settings/staff/{owner_id}/deactivate")
    demoted = await panel.post(f"/settings/staff/{owner_id}/role", {"role": "manager"})
    promoted = await panel.post(f"/settings/staff/{manager_id}/role", {"role": "owner"})
    deactivated = await panel.post(f"/settings/staff/{manager_id}/deactivate")

    assert closed.status == 409 and demoted.status == 409
    assert "последний активный руководитель" in await closed.text()
    assert promoted.status == 303 and deactivated.status == 303
    async with panel.container.uow() as uow:
        owner = await uow.session.get(User, owner_id)
        other = await uow.session.get(User, manager_id)
        assert owner is not None and owner.is_active and owner.role is StaffRole.OWNER
        assert other is not None and not other.is_active and other.role is StaffRole.OWNER


async def test_the_channel_page_shows_failed_deliveries_and_the_last_error(
    panel: Panel, add_staff: AddStaff
) -> None:
    async with panel.container.uow() as uow:
        client = await builders.client(uow.session)
        identity = ChannelIdentity(channel="telegram", external_id="42", client_id=client.id)
        uow.session.add(identity)
        await uow.session.flush()
        uow.session.add(
            OutboxItem(
                identity_id=identity.id, channel="telegram", chat_id="42",
                payload={"text": "x"}, status=OutboxStatus.FAILED, attempts=5,
                last_error="blocked_by_user",
            )
        )  # fmt: skip
        await uow.commit()
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")

    html = await (await panel.client.get("/settings/channels")).text()

    card = html[html.index('data-test="channel-telegram"') :]
    assert "получатель заблокировал бота" in card
    assert re.search(r'data-test="failed">1<', card)
    assert "не настроен" in card  # no Telegram token in the test settings
    assert csrf_in(html)


async def test_a_reply_for_an_unconfigured_channel_shows_on_the_channel_page_in_words(
    panel: Panel, add_staff: AddStaff
) -> None:
    # It showed "LookupError" (the exception's name) after seven tracebacks.
    async with panel.container.uow() as uow:
        order, _manager = await builders.paper_order(uow.session)
        uow.session.add(ChannelIdentity(channel="telegram", external_id="42", chat_id="42",
                                        client_id=order.client_id))  # fmt: skip
        thread = await order_thread(uow.session, order, ConversationKind.CLIENT)
        await reply(uow.session, thread, "Заказ готов", author_user_id=1)
        await uow.commit()
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")

    html = await (await panel.client.get("/settings/channels")).text()

    card = html[html.index('data-test="channel-telegram"') :]
    assert re.search(r'data-test="last-error">Telegram не подключён ', card)
    assert re.search(r'data-test="failed">1<', card)
    assert "LookupError" not in html and "not_connected" not in html


async def test_every_people_and_settings_page_renders_in_both_languages(
    panel: Panel, add_staff: AddStaff
) -> None:
    await fill_demo(panel.container)
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")
    async with panel.container.uow() as uow:
        executor_id = await uow.session.scalar(sa.select(sa.func.min(Executor.id)))
        client_id = await uow.session.scalar(sa.select(sa.func.min(Client.id)))
        kind_id = await uow.session.scalar(sa.select(sa.func.min(OrderKind.id)))
    pages = [
        "/executors", "/executors?tab=active", f"/executors/{executor_id}", "/clients",
        "/clients?sort=debt", f"/clients/{client_id}", "/settings", "/settings/discounts",
        "/settings/kinds", "/settings/kinds/new", f"/settings/kinds/{kind_id}",
        "/settings/notices", "/settings/staff", "/settings/channels",
    ]  # fmt: skip
    for path in pages:
        for lang, word in (("ru", "Выйти"), ("en", "Sign out")):
            separator = "&" if "?" in path else "?"
            response = await panel.client.get(f"{path}{separator}lang={lang}")
            html = await response.text()
            assert response.status == 200, (path, lang)
            assert f'<html lang="{lang}">' in html and word in html, (path, lang)
