"""The IMAP listener against a real Dovecot: a mail appended to the mailbox lands in its
order in real time (IDLE); the server going away and coming back loses nothing; mail that
arrives while Pult is down is taken at the next start; a restart takes nothing twice, even
when the mailbox's progress is lost (the Message-ID de-duplicates)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from aioimaplib import aioimaplib
from sqlalchemy import func, select, update

from bots.email.listener import Backoff
from bots.email.parse import parse_mail
from core.models import StoredFile
from inbox.models import (
    Conversation,
    ConversationKind,
    Direction,
    InboundEvent,
    MailboxState,
    Message,
)
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from tests.email.conftest import (
    CORPUS,
    DESK,
    append,
    corpus,
    email_env,
    expectation,
    order_1042,
    raw_of,
    run_listener,
)
from tests.mailservers import Dovecot
from tests.telegram_helpers import eventually, progressing

CORPUS_FILES = corpus()


def mail(text: str, sender: str = "olga.petrova@yandex.ru") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = DESK
    message["Subject"] = "Re: Вопрос по заказу [#1042]"
    message["Message-ID"] = make_msgid(domain="mail.yandex.ru")
    message.set_content(text)
    return message.as_bytes()


async def inbound_texts(container: Container) -> list[str]:
    async with container.sessions() as session:
        found = await session.scalars(
            select(Message.text).where(Message.direction == Direction.IN).order_by(Message.id)
        )
        return list(found)


async def events(container: Container) -> int:
    async with container.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundEvent)) or 0)


async def test_a_reply_appended_to_the_mailbox_lands_in_its_order_in_real_time(
    container: Container, dovecot: Dovecot
) -> None:
    scene = await order_1042(container)
    task, stop = await run_listener(container)
    try:
        started = time.monotonic()
        await append(dovecot, raw_of(CORPUS / "yandex_ru_reply_by_tag.eml"))

        async def landed() -> int | None:
            async with container.sessions() as session:
                found: int | None = await session.scalar(
                    select(Message.conversation_id).where(Message.direction == Direction.IN)
                )
                return found

        conversation_id = await eventually(landed, "the mail in the order", seconds=5)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        await task
    assert conversation_id == scene.client_thread
    assert elapsed < 2.0  # IDLE: no polling interval in between


async def test_imap_downtime_then_new_mail_loses_nothing(
    container: Container, dovecot: Dovecot
) -> None:
    await order_1042(container)
    assert container.email is not None
    container.email.listener.backoff = Backoff(first=0.2, cap=1.0)  # reconnect sooner
    task, stop = await run_listener(container)
    try:
        await append(dovecot, mail("до сбоя"))
        await eventually(lambda: _has(container, "до сбоя"), "the first mail")
        dovecot.stop()
        await eventually(_disconnected(container), "the listener to notice the outage")
        dovecot.start()
        await append(dovecot, mail("после сбоя 1"), mail("после сбоя 2"))
        await eventually(lambda: _has(container, "после сбоя 2"), "the mail after the outage", 40)
        await eventually(lambda: _has(container, "после сбоя 1"), "the mail after the outage")
    finally:
        stop.set()
        await task
    assert sorted(await inbound_texts(container)) == ["до сбоя", "после сбоя 1", "после сбоя 2"]


async def test_mail_arriving_while_pult_is_down_is_taken_at_the_next_start(
    container: Container, dovecot: Dovecot
) -> None:
    await order_1042(container)
    task, stop = await run_listener(container)
    await append(dovecot, mail("первое"))
    await eventually(lambda: _has(container, "первое"), "the first mail")
    stop.set()
    await task
    await append(dovecot, mail("пока вы спали"), mail("и ещё одно"))
    task, stop = await run_listener(container)
    try:
        await eventually(lambda: _has(container, "и ещё одно"), "the mail of the downtime")
        await eventually(lambda: _has(container, "пока вы спали"), "the mail of the downtime")
    finally:
        stop.set()
        await task
    assert len(await inbound_texts(container)) == 3


async def test_a_restart_takes_nothing_twice(container: Container, dovecot: Dovecot) -> None:
    await order_1042(container)
    await append(dovecot, mail("раз"), mail("два"), mail("три"))
    for forget_progress in (False, True):
        if forget_progress:  # the worst case: the mailbox's progress is lost
            async with container.uow() as uow:
                await uow.session.execute(update(MailboxState).values(last_uid=0))
                await uow.commit()
        task, stop = await run_listener(container)
        try:
            await eventually(lambda: _has(container, "три"), "the mails")
            await _settled(container)
        finally:
            stop.set()
            await task
        assert sorted(await inbound_texts(container)) == ["два", "раз", "три"]
        assert await events(container) == 3
    async with container.sessions() as session:
        state = await session.scalar(select(MailboxState))
        assert state is not None and state.last_uid == 3


async def _has(container: Container, text: str) -> bool:
    return text in await inbound_texts(container)


def _disconnected(container: Container) -> Callable[[], Awaitable[bool]]:
    assert container.email is not None
    listener = container.email.listener

    async def check() -> bool:
        return not listener.connected.is_set()

    return check


async def _settled(container: Container) -> None:
    """Until the listener has recorded how far it read (after its last batch)."""

    async def recorded() -> bool:
        async with container.sessions() as session:
            state = await session.scalar(select(MailboxState))
            return state is not None and state.last_uid == 3

    await eventually(recorded, "the mailbox progress")


async def test_taken_mail_moves_to_the_processed_folder_with_its_files_kept(
    database_url: str, tmp_path: Path, dovecot: Dovecot
) -> None:
    env = email_env(database_url, tmp_path, dovecot, None, PULT_EMAIL_PROCESSED_FOLDER="Pult")
    container = await bootstrap(load_settings(env, None))
    try:
        await order_1042(container)
        big = EmailMessage()
        big["From"], big["To"] = "anna.smirnova@gmail.com", DESK
        big["Subject"], big["Message-ID"] = "Re: скан", make_msgid(domain="mail.gmail.com")
        big.set_content("Скан во вложении.")
        big.add_attachment(bytes(2 * 1024 * 1024), maintype="image", subtype="tiff",
                           filename="скан.tiff")  # fmt: skip
        await append(
            dovecot,
            raw_of(CORPUS / "gmail_en_attachment_russian_name.eml"),
            raw_of(CORPUS / "gmail_inline_image.eml"),
            big.as_bytes(),
        )
        task, stop = await run_listener(container)
        try:
            await eventually(lambda: _has(container, "Скан во вложении."), "the mails")
            await eventually(lambda: _in_folder(dovecot, "Pult", 3), "the mails moved")
        finally:
            stop.set()
            await task
        assert await _in_folder(dovecot, "INBOX", 0)
        async with container.sessions() as session:
            files = await session.scalars(select(StoredFile.original_name).order_by(StoredFile.id))
            assert sorted(files) == ["chart.png", "Методичка.pdf"]
            notes = await session.scalars(
                select(Message.text).where(Message.direction == Direction.SYSTEM)
            )
            assert [note for note in notes if "скан.tiff" in note]  # too large: a note
    finally:
        await container.close()


async def _in_folder(dovecot: Dovecot, folder: str, count: int) -> bool:
    client = aioimaplib.IMAP4("127.0.0.1", dovecot.port, timeout=10)
    await client.wait_hello_from_server()
    await client.login(dovecot.user, dovecot.password)
    status = await client.status(folder, "(MESSAGES)")
    await client.logout()
    return status.result == "OK" and f"MESSAGES {count})".encode() in status.lines[0]


async def test_the_whole_corpus_through_dovecot_lands_in_real_time(
    container: Container, dovecot: Dovecot
) -> None:
    scene = await order_1042(container)
    mails = {path.name: raw_of(path) for path in CORPUS_FILES}
    expected_events = [n for n in mails if expectation(CORPUS / n) != "ignored"]
    task, stop = await run_listener(container)
    try:
        await append(dovecot, *mails.values())

        async def taken() -> int | None:
            async with container.sessions() as session:
                done = select(func.count()).where(InboundEvent.processed_at.is_not(None))
                return await session.scalar(done)

        # As long as mails keep being taken: the listener's pace depends on the machine.
        await progressing(taken, len(expected_events), "the corpus mails taken")
    finally:
        stop.set()
        await task
    threads = {
        "token:client": scene.client_thread,
        "references": scene.client_thread,
        "subject": scene.client_thread,
        "flagged": scene.client_thread,
        "token:executor": scene.executor_thread,
        "references_executor": scene.executor_thread,
    }
    async with container.sessions() as session:
        for name in expected_events:
            expect = expectation(CORPUS / name)
            message_id = parse_mail(mails[name]).message_id
            found = (
                await session.execute(
                    select(Message.direction, Conversation.id, Conversation.kind)
                    .join(InboundEvent, InboundEvent.message_id == Message.id)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .where(InboundEvent.external_id == message_id)
                )
            ).one()
            if expect in threads:
                assert (found.direction, found.id) == (Direction.IN, threads[expect]), name
            elif expect == "lead":
                assert (found.direction, found.kind) == (Direction.IN, ConversationKind.LEAD), name
            else:
                assert found.direction is Direction.SYSTEM, name


async def test_a_server_without_idle_is_polled(database_url: str, tmp_path: Path) -> None:
    dovecot = Dovecot(capabilities="IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS MOVE")
    dovecot.start()
    env = email_env(database_url, tmp_path, dovecot, None, PULT_EMAIL_POLL_SECONDS="1")
    container = await bootstrap(load_settings(env, None))
    try:
        await order_1042(container)
        task, stop = await run_listener(container)
        try:
            await append(dovecot, mail("без IDLE"))
            await eventually(lambda: _has(container, "без IDLE"), "the mail, by polling", 5)
            assert container.email is not None
            assert container.email.listener.waits_by == "polling"
        finally:
            stop.set()
            await task
    finally:
        await container.close()
        dovecot.remove()
