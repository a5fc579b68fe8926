"""The bots' notices by mail, as the real aiosmtpd receives them: a client entered at the
desk with only an e-mail address on the card hears of the quote, the confirmation and the
cancellation (the e-mail identity is made from the card, as for a manager writing first);
and a card with buttons (the quote) arrives as a real text part and an HTML part with line
breaks, its buttons listed as choices answered by replying."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from core import orders
from core.models import ChannelIdentity, Client, Order
from core.pricing import format_money
from core.transitions import Actor
from inbox.dispatcher import Dispatcher
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from tests import builders
from tests.email.conftest import email_env
from tests.mailservers import SmtpServer

CARD_ADDRESS = "Olga.Petrova@yandex.ru"  # as the operator typed it
PRICE = 855_000  # 8 550 ₽


@pytest.fixture
async def desk(database_url: str, tmp_path: Path, smtp: SmtpServer) -> AsyncIterator[Container]:
    container = await bootstrap(load_settings(email_env(database_url, tmp_path, None, smtp), None))
    yield container
    await container.close()


async def _walk_in_order(desk: Container, *, wrote_by_mail: bool = False) -> tuple[int, int, Actor]:
    """A print job for a client an operator entered: a name and an e-mail, no messenger
    (`wrote_by_mail`: who has an e-mail identity already)."""
    async with desk.uow() as uow:
        session = uow.session
        manager = Actor.staff(await builders.staff(session))
        client = Client(name="Ольга Петрова", email=CARD_ADDRESS)
        session.add(client)
        await session.flush()
        if wrote_by_mail:
            address = CARD_ADDRESS.lower()
            session.add(
                ChannelIdentity(
                    channel="email", external_id=address, chat_id=address, client_id=client.id
                )
            )
        order = await orders.create_order(
            session, kind=await builders.kind(session, "print_job"), client_id=client.id,
            actor=manager, title="Визитки",
        )  # fmt: skip
        await uow.commit()
        return order.id, order.number, manager


async def _move(desk: Container, order_id: int, step: str, manager: Actor) -> None:
    async with desk.uow() as uow:
        order = await uow.session.get(Order, order_id)
        assert order is not None
        if step == "quote":
            await orders.quote_order(uow.session, order, manager, PRICE)
        elif step == "accept":
            await orders.accept_quote(uow.session, order, manager)
        else:
            await orders.cancel_order(uow.session, order, manager)
        await uow.commit()


async def _dispatch(desk: Container) -> None:
    await Dispatcher(desk.sessions, desk.publisher, desk.channels).run_once()


def _parts(mail: EmailMessage) -> tuple[str, str]:
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


async def test_a_client_entered_at_the_desk_with_an_email_on_the_card_gets_every_notice_by_mail(
    desk: Container, smtp: SmtpServer
) -> None:
    order_id, number, manager = await _walk_in_order(desk)
    await _move(desk, order_id, "quote", manager)
    await _dispatch(desk)
    await _move(desk, order_id, "accept", manager)  # nothing to prepay: confirmed at once
    await _dispatch(desk)
    await _move(desk, order_id, "cancel", manager)
    await _dispatch(desk)

    quote, confirmed, cancelled = await smtp.wait_for(3)
    address = CARD_ADDRESS.lower()
    assert {tuple(mail.rcpt_tos) for mail in (quote, confirmed, cancelled)} == {(address,)}
    assert f"Заказ №{number}: стоимость готова" in _parts(quote.message)[0]
    assert f"Заказ №{number} подтверждён." in _parts(confirmed.message)[0]
    assert f"Заказ №{number} отменён." in _parts(cancelled.message)[0]
    for mail in (quote, confirmed, cancelled):
        assert f"[#{number}]" in str(mail.message["Subject"])
    async with desk.sessions() as session:
        made = list(await session.scalars(select(ChannelIdentity)))
    assert [(i.channel, i.external_id, i.reachable) for i in made] == [("email", address, True)]


async def test_the_quote_mail_has_a_text_part_html_line_breaks_and_its_choices(
    desk: Container, smtp: SmtpServer
) -> None:
    order_id, number, manager = await _walk_in_order(desk, wrote_by_mail=True)
    await _move(desk, order_id, "quote", manager)
    await _dispatch(desk)
    (sent,) = await smtp.wait_for(1)
    text, html = _parts(sent.message)

    assert text.strip() != ""
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == f"Заказ №{number}: стоимость готова"  # the card's markup is gone
    assert f"Стоимость: {format_money(PRICE, 'RUB', 'ru')}" in lines
    assert "<b>" not in text
    # The buttons are not dropped: the choices, answered by replying to the mail.
    assert lines[-4].startswith("Ответьте на это письмо")
    assert lines[-3:] == ["- Принять", "- Обсудить", "- Отказаться"]

    assert f"<b>Заказ №{number}: стоимость готова</b><br>" in html
    assert html.count("<br>") >= 3
    assert "— Принять<br>" in html and "— Обсудить<br>" in html and "— Отказаться</p>" in html
