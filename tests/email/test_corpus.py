"""Every mail of the corpus (tests/fixtures/email/, shaped like Gmail, Outlook, Yandex,
Mail.ru and Apple Mail send it) lands where its X-Test-Expect header says, through the
intake and the real inbound pipeline: by the tagged address, by headers alone, by the
subject alone, as a lead; a forged tag does not thread; a stranger on a valid tag is
flagged; auto-replies and bounces are system notes; our own mail coming back is ignored.
No mail ever gets an answer from the bot."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.i18n import gettext
from core.models import Client
from inbox.models import (
    Conversation,
    ConversationKind,
    Direction,
    InboundEvent,
    Message,
    OutboxItem,
)
from inbox.thread_hints import NOT_THE_PARTY
from runtime.bootstrap import Container
from tests import builders
from tests.email.conftest import CORPUS as CORPUS_DIR
from tests.email.conftest import Scene, corpus, expectation, identity, order_1042, raw_of

CORPUS = corpus()


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 30
    names = " ".join(path.name for path in CORPUS)
    for client in ("gmail", "outlook", "yandex", "mailru", "apple"):
        assert client in names
    expected = {expectation(path) for path in CORPUS}
    assert {"token:client", "references", "subject", "lead", "bounce", "auto_reply"} <= expected


async def _filed(container: Container) -> list[tuple[Direction, int, str, str]]:
    async with container.sessions() as session:
        rows = await session.execute(
            select(Message.direction, Conversation.id, Conversation.kind, Message.text)
            .join(Conversation, Message.conversation_id == Conversation.id)
            .order_by(Message.id)
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
async def test_corpus_mail_lands_where_expected(desk: Container, path: Path) -> None:
    scene = await order_1042(desk)
    expect, raw = expectation(path), raw_of(path)
    assert desk.email is not None
    await desk.email.intake.take(raw)
    filed = await _filed(desk)
    inbound = [row for row in filed if row[0] is Direction.IN]
    system = [row for row in filed if row[0] is Direction.SYSTEM]
    if expect == "ignored":
        async with desk.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(InboundEvent)) == 0
        assert filed == []
    elif expect in ("auto_reply", "bounce"):
        assert inbound == [] and len(system) == 1, filed
        if expect == "bounce":
            for address in ("no.such.user.42@gmail.com", "old.manager@corp.example.com"):
                found = await identity(desk, address)
                if address.encode() in raw:
                    assert found is not None and not found.reachable
    else:
        assert len(inbound) == 1, filed
        _, conversation_id, kind, text = inbound[0]
        assert text.strip()
        if expect == "lead":
            assert kind is ConversationKind.LEAD, filed
        else:
            assert conversation_id == _thread(scene, expect), (expect, kind, filed)
        # The only note a person's mail may bring: "not this order's party".
        assert bool(system) == (expect == "flagged"), filed
    async with desk.sessions() as session:  # a mail never gets a bot's answer
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 0


def _thread(scene: Scene, expect: str) -> int:
    if expect in ("token:executor", "references_executor"):
        return scene.executor_thread
    return scene.client_thread


async def test_the_party_flag_reads_in_the_managers_language(desk: Container) -> None:
    await order_1042(desk)
    assert desk.email is not None
    mail = next(path for path in CORPUS if expectation(path) == "flagged")
    await desk.email.intake.take(raw_of(mail))
    notes = [text for direction, _, _, text in await _filed(desk) if direction is Direction.SYSTEM]
    expected = gettext(NOT_THE_PARTY, desk.settings.locale).format(sender="Пётр Смирнов")
    assert notes == [expected]


async def test_a_first_mail_from_a_known_clients_address_is_theirs(desk: Container) -> None:
    async with desk.uow() as uow:
        maria = await builders.client(uow.session, "Мария Иванова")
        maria.email = "Maria.Ivanova@rambler.ru"  # as typed into her card
        await uow.commit()
    assert desk.email is not None
    await desk.email.intake.take(raw_of(CORPUS_DIR / "new_lead_ru_thunderbird.eml"))
    async with desk.sessions() as session:
        conversation = await session.scalar(select(Conversation))
        assert conversation is not None and conversation.kind is ConversationKind.LEAD
        assert conversation.client_id == maria.id
        assert await session.scalar(select(func.count()).select_from(Client)) == 1
