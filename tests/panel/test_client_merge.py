"""Merging two client cards of one person by hand (issue 11, item 20): owner and manager
only, from the card that stays, after a confirmation page; orders, channels, conversations
and the free balance (through the ledger) move, the other card is deleted, a note says so."""

from __future__ import annotations

import sqlalchemy as sa

from core import ledger, orders
from core.ledger import Source
from core.models import ChannelIdentity, Client, StaffRole
from core.models.money import AccountKind, LedgerTransaction
from core.models.orders import Order, OrderEvent
from core.transitions import Actor
from inbox.conversations import add_message, lead_conversation
from inbox.models import Conversation, ConversationKind, Direction, Message
from tests import builders
from tests.panel.conftest import AddStaff, Panel


async def _two_cards(panel: Panel) -> tuple[int, int, int]:
    """The walk-in typed in by an operator, and the same person as a bot lead with money,
    an order and a first message."""
    async with panel.container.uow() as uow:
        session = uow.session
        card = Client(name="Попов Алексей", phone="+79161234567")
        bot = Client(name="Лёша", email="popov@example.ru")
        session.add_all([card, bot])
        await session.flush()
        session.add(ChannelIdentity(channel="telegram", external_id="555", client_id=bot.id))
        paper = await builders.kind(session, "student_paper")
        order = await orders.create_order(
            session, kind=paper, client_id=bot.id, actor=Actor.client(bot.id), title="Флаеры"
        )
        await ledger.top_up(session, bot.id, 120_000, "RUB", Source.desk("main"))
        for client_id, text in ((card.id, "звонил в офис"), (bot.id, "здравствуйте")):
            lead = await lead_conversation(session, client_id)
            await add_message(session, lead, Direction.IN, text)
        await uow.commit()
        return card.id, bot.id, order.id


async def test_a_manager_merges_a_duplicate_card_after_confirming(
    panel: Panel, add_staff: AddStaff
) -> None:
    keep, gone, order_id = await _two_cards(panel)
    await add_staff(StaffRole.MANAGER, "m@desk.example", name="Мария Менеджер")
    await panel.sign_in("m@desk.example")

    card = await (await panel.client.get(f"/clients/{keep}")).text()
    assert f'href="/clients/{keep}/merge"' in card
    choose = await (await panel.client.get(f"/clients/{keep}/merge")).text()
    assert "Лёша" not in choose  # neither the same phone, e-mail nor name: by number
    compare = await panel.client.get(f"/clients/{keep}/merge?other={gone}")
    page = await compare.text()
    assert compare.status == 200 and "Лёша" in page and "1\u00a0200\u00a0₽" in page

    unconfirmed = await panel.post(f"/clients/{keep}/merge", {"other": str(gone)})
    assert unconfirmed.status == 422
    async with panel.container.uow() as uow:
        assert await uow.session.get(Client, gone) is not None  # nothing happened

    done = await panel.post(f"/clients/{keep}/merge", {"other": str(gone), "confirm": "yes"})
    assert (done.status, done.headers["Location"]) == (303, f"/clients/{keep}?merged={gone}")
    after = await (await panel.client.get(done.headers["Location"])).text()
    assert f"Карточка клиента №{gone} объединена с этой." in after
    async with panel.container.uow() as uow:
        session = uow.session
        kept = await session.get(Client, keep)
        assert kept is not None
        contacts = (kept.name, kept.phone, kept.email)
        order_client = await session.scalar(sa.select(Order.client_id).where(Order.id == order_id))
        identity_client = await session.scalar(sa.select(ChannelIdentity.client_id))
        leads = list(
            await session.execute(
                sa.select(Conversation.id, Conversation.client_id).where(
                    Conversation.kind == ConversationKind.LEAD
                )
            )
        )
        lead_texts = list(
            await session.scalars(
                sa.select(Message.text)
                .where(Message.conversation_id == leads[0].id)
                .order_by(Message.id)
            )
        )
        move_clients = list(
            await session.scalars(
                sa.select(LedgerTransaction.client_id).where(
                    LedgerTransaction.operation == "move_balance"
                )
            )
        )
        free = await ledger.balance(session, AccountKind.CLIENT_BALANCE, keep, "RUB")
        left = await ledger.balance(session, AccountKind.CLIENT_BALANCE, gone, "RUB")
        audited = await session.scalar(
            sa.select(OrderEvent.data).where(OrderEvent.action == "client_merged")
        )
        unbalanced = await ledger.unbalanced_transaction_ids(session)
    assert await _gone(panel, gone)
    # The e-mail is taken from the other card; nothing on the kept one is overwritten.
    assert contacts == ("Попов Алексей", "+79161234567", "popov@example.ru")
    assert (order_client, identity_client) == (keep, keep)
    assert [lead.client_id for lead in leads] == [keep]
    assert lead_texts[:2] == ["звонил в офис", "здравствуйте"]
    assert "Мария Менеджер" in lead_texts[-1] and "1\u00a0200\u00a0₽" in lead_texts[-1]
    assert (free, left, move_clients) == (120_000, 0, [keep])
    assert audited == {"from_client": gone, "to_client": keep}
    assert unbalanced == []


async def _gone(panel: Panel, client_id: int) -> bool:
    async with panel.container.uow() as uow:
        return await uow.session.get(Client, client_id) is None


async def test_an_operator_may_not_merge_clients_and_sees_no_link(
    panel: Panel, add_staff: AddStaff
) -> None:
    keep, gone, _ = await _two_cards(panel)
    await add_staff(StaffRole.OPERATOR, "op@desk.example")
    await panel.sign_in("op@desk.example")

    card = await (await panel.client.get(f"/clients/{keep}")).text()
    page = await panel.client.get(f"/clients/{keep}/merge?other={gone}")
    merged = await panel.post(f"/clients/{keep}/merge", {"other": str(gone), "confirm": "yes"})

    assert "/merge" not in card
    assert (page.status, merged.status) == (403, 403)
    assert not await _gone(panel, gone)


async def test_merging_a_card_into_itself_or_a_missing_one_is_refused_in_words(
    panel: Panel, add_staff: AddStaff
) -> None:
    keep, _gone, _ = await _two_cards(panel)
    await add_staff(StaffRole.OWNER, "o@desk.example")
    await panel.sign_in("o@desk.example")

    for other, words in (
        (str(keep), "Это та же карточка"),
        ("999999", "Нет карточки клиента №999999"),
        ("99999999999999999999", "Нет карточки клиента №99999999999999999999"),
        ("абв", "Нет карточки клиента №абв"),
    ):
        response = await panel.post(f"/clients/{keep}/merge", {"other": other, "confirm": "yes"})
        assert response.status == 422, other
        assert words in await response.text()
    async with panel.container.uow() as uow:
        count = await uow.session.scalar(sa.select(sa.func.count(Client.id)))
    assert count == 2
