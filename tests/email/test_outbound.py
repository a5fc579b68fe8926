"""A manager's reply leaves as a well-formed mail (parsed as aiosmtpd received it) through
the outbox, and the client's answer to it comes back through Dovecot into the same order in
real time, by its headers alone, with the order marked unread. SMTP refusals are sorted:
5xx on the recipient is permanent (the address becomes unreachable), 4xx is retried."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

from sqlalchemy import select

from bots.email.parse import parse_mail
from core.models import FilePurpose
from inbox.dispatcher import Dispatcher
from inbox.files import save_file
from inbox.models import (
    Conversation,
    DeliveryStatus,
    Direction,
    Message,
    OutboxItem,
    OutboxStatus,
    ReadMarker,
    ThreadRef,
)
from inbox.replies import reply
from runtime.bootstrap import Container
from tests import builders
from tests.email.conftest import (
    CLIENT_ADDRESSES,
    CORPUS,
    DESK,
    Scene,
    append,
    identity,
    order_1042,
    raw_of,
    run_listener,
)
from tests.mailservers import Dovecot, SmtpServer
from tests.telegram_helpers import eventually

ANNA = CLIENT_ADDRESSES[0]
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"


async def _reply(container: Container, scene: Scene, text: str, with_file: bool = False) -> int:
    async with container.uow() as uow:
        session = uow.session
        manager = await builders.staff(session)
        files = []
        if with_file:
            files.append(
                await save_file(
                    session, container.files, PDF, original_name="Счёт №7 для Анны.pdf",
                    purpose=FilePurpose.ATTACHMENT, order_id=scene.order_id,
                )
            )  # fmt: skip
        conversation = await session.get(Conversation, scene.client_thread)
        assert conversation is not None
        message = await reply(
            session, conversation, text, author_user_id=manager.id, files=files, channel="email"
        )
        await uow.commit()
        return message.id


async def _dispatch(container: Container) -> None:
    await Dispatcher(container.sessions, container.publisher, container.channels).run_once()


async def test_a_managers_reply_leaves_as_a_well_formed_mail(
    container: Container, smtp: SmtpServer
) -> None:
    scene = await order_1042(container)
    assert container.email is not None
    # Anna wrote first (Gmail, to the tagged address): the reply continues her mail.
    await container.email.intake.take(raw_of(CORPUS / "gmail_ru_reply_by_tag.eml"))
    message_id = await _reply(container, scene, "Анна, счёт во вложении.\n\nСпасибо!", True)
    await _dispatch(container)
    (sent,) = await smtp.wait_for(1)

    mail = sent.message
    assert sent.rcpt_tos == [ANNA] and sent.mail_from == DESK
    assert parseaddr(str(mail["From"])) == ("Пульт", DESK)
    assert "=?utf-8?" in sent.raw.split(b"\r\n\r\n")[0].decode().lower()  # RFC 2047 on the wire
    tag = container.email.addresses.read(parseaddr(str(mail["Reply-To"]))[1])
    assert tag is not None and (tag.order_number, tag.side) == (1042, "client")
    assert "[#1042]" in str(mail["Subject"]) and str(mail["Subject"]).startswith("Re: ")
    assert str(mail["In-Reply-To"]) == "<CAJ8kQm2Lr0x=1pW9fN3bq7ZtE5@mail.gmail.com>"
    assert "<CAJ8kQm2Lr0x=1pW9fN3bq7ZtE5@mail.gmail.com>" in str(mail["References"])
    assert mail.get_content_type() == "multipart/mixed"
    body = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert body is not None and "счёт во вложении" in body.get_content()
    assert html is not None and "<p>" in html.get_content()
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "Счёт №7 для Анны.pdf"
    assert attachment.get_content() == PDF
    assert re.search(rb"filename\*(0\*)?=utf-8''%D0%A1", sent.raw)  # RFC 2231 on the wire
    parsed = parse_mail(sent.raw)  # our own parser reads it back the same
    assert parsed.attachments[0].name == "Счёт №7 для Анны.pdf"

    async with container.sessions() as session:
        message = await session.get(Message, message_id)
        assert message is not None and message.delivery_status is DeliveryStatus.SENT
        sent_id = str(mail["Message-ID"]).strip("<>")
        assert message.external_id == sent_id
        ref = await session.scalar(select(ThreadRef).where(ThreadRef.external_id == sent_id))
        assert ref is not None and ref.conversation_id == scene.client_thread


async def test_the_clients_answer_lands_in_the_order_in_real_time_and_shows_unread(
    container: Container, smtp: SmtpServer, dovecot: Dovecot
) -> None:
    scene = await order_1042(container)
    await _reply(container, scene, "Анна, подойдёт ли срок 10 декабря?")
    await _dispatch(container)
    (sent,) = await smtp.wait_for(1)
    async with container.uow() as uow:  # the manager has read everything so far
        manager = await builders.staff(uow.session)
        last = await uow.session.scalar(select(Message.id).order_by(Message.id.desc()).limit(1))
        uow.session.add(
            ReadMarker(conversation_id=scene.client_thread, user_id=manager.id,
                       last_read_message_id=last)
        )  # fmt: skip
        await uow.commit()

    task, stop = await run_listener(container)
    try:
        # Her answer, by headers alone: to the plain desk address, no [#] in the subject.
        answer = EmailMessage()
        answer["From"] = "Анна Смирнова <anna.smirnova@gmail.com>"
        answer["To"] = DESK
        answer["Subject"] = "Re: вопрос"
        answer["Message-ID"] = make_msgid(domain="mail.gmail.com")
        answer["In-Reply-To"] = str(sent.message["Message-ID"])
        answer.set_content("Да, подойдёт.\n\n> Анна, подойдёт ли срок 10 декабря?\n")
        await append(dovecot, answer.as_bytes())

        async def landed() -> Message | None:
            async with container.sessions() as session:
                found: Message | None = await session.scalar(
                    select(Message).where(
                        Message.direction == Direction.IN, Message.text == "Да, подойдёт."
                    )
                )
                return found

        message = await eventually(landed, "the client's answer in the order", seconds=5)
    finally:
        stop.set()
        await task
    assert message.conversation_id == scene.client_thread
    async with container.sessions() as session:
        conversation = await session.get(Conversation, scene.client_thread)
        assert conversation is not None and conversation.last_inbound_at is not None
        assert conversation.last_outbound_at is not None
        assert conversation.last_inbound_at > conversation.last_outbound_at
        marker = await session.scalar(
            select(ReadMarker.last_read_message_id).where(
                ReadMarker.conversation_id == scene.client_thread
            )
        )
        assert marker is not None and message.id > marker  # unread for the manager


async def test_a_refused_recipient_fails_for_good_and_is_unreachable(
    container: Container, smtp: SmtpServer
) -> None:
    scene = await order_1042(container)
    smtp.refuse["anna.smirnova"] = "550 5.1.1 <anna.smirnova@gmail.com>: no such user"
    await _reply(container, scene, "Здравствуйте!")
    await _dispatch(container)
    async with container.sessions() as session:
        item = await session.scalar(select(OutboxItem))
        assert item is not None and item.status is OutboxStatus.FAILED
        assert item.last_error == "bad_address"
    anna = await identity(container, ANNA)
    assert anna is not None and not anna.reachable
    assert smtp.received == []


async def test_a_temporary_refusal_is_retried(container: Container, smtp: SmtpServer) -> None:
    scene = await order_1042(container)
    smtp.refuse["anna.smirnova"] = "451 4.3.0 Mailbox busy, try later"
    await _reply(container, scene, "Здравствуйте!")
    await _dispatch(container)
    async with container.sessions() as session:
        item = await session.scalar(select(OutboxItem))
        assert item is not None and item.status is OutboxStatus.PENDING
        assert item.attempts == 1 and item.last_error == "smtp_4xx"
    anna = await identity(container, ANNA)
    assert anna is not None and anna.reachable
