"""Telegram in the running application: the container built from settings that point the bot
at the fake Bot API server (tests/fakes/telegram_api.py), the worker's long polling, the web
app's webhook, replies going out through the outbox, blocks, and files people send."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from core.models import ChannelIdentity, StoredFile
from inbox.channel import BLOCKED_BY_USER
from inbox.conversations import lead_conversation
from inbox.models import Conversation, ConversationKind, Direction, Message
from inbox.replies import NoRoute, reply
from runtime.bootstrap import Container, bootstrap
from runtime.roles import start_web
from runtime.settings import load_settings
from runtime.worker import jobs_for, run_worker
from tests import builders
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.telegram_updates import TelegramUser
from tests.telegram_helpers import WAIT, eventually, identity_of, kicked, telegram_env

ANNA = TelegramUser(id=5123456789, first_name="Анна", last_name="Петрова")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(2000)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
MEGABYTE = 1024 * 1024


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(per_chat_per_second=None) as fake:
        yield fake


@pytest.fixture
async def container(
    database_url: str, tmp_path: Path, fake: FakeTelegramAPI
) -> AsyncIterator[Container]:
    container = await bootstrap(load_settings(telegram_env(database_url, tmp_path, fake), None))
    yield container
    await container.close()  # closes the bot's HTTP session too


@pytest.fixture
async def worker(container: Container) -> AsyncIterator[asyncio.Task[None]]:
    """The worker with every job its settings call for, long polling included."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(container, stop))
    yield task
    stop.set()
    async with asyncio.timeout(WAIT):
        await task


async def inbound_messages(container: Container) -> list[Message]:
    async with container.sessions() as session:
        found = await session.scalars(
            select(Message).where(Message.direction == Direction.IN).order_by(Message.id)
        )
        return list(found)


async def messages_of(container: Container, conversation_id: int) -> list[Message]:
    async with container.sessions() as session:
        found = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
        return list(found)


async def manager_replies(container: Container, user: TelegramUser, text: str) -> None:
    async with container.uow() as uow:
        identity = await uow.session.scalar(
            select(ChannelIdentity).where(ChannelIdentity.external_id == str(user.id))
        )
        assert identity is not None and identity.client_id is not None
        lead = await lead_conversation(uow.session, identity.client_id)
        manager = await builders.staff(uow.session)
        await reply(uow.session, lead, text, author_user_id=manager.id)
        await uow.commit()


# -- long polling ------------------------------------------------------------------------------


async def test_without_a_token_telegram_is_off(database_url: str, tmp_path: Path) -> None:
    env = {"PULT_DATA_DIR": str(tmp_path / "var"), "PULT_DATABASE_URL": database_url}
    container = await bootstrap(load_settings(env, env_file=None))
    try:
        assert container.telegram is None
        assert "telegram" not in container.channels
        assert "telegram_polling" not in jobs_for(container)
    finally:
        await container.close()


async def test_polling_files_a_message_and_the_reply_goes_out_through_the_bot(
    container: Container,
    fake: FakeTelegramAPI,
    worker: asyncio.Task[None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bots.telegram.listener")
    assert "telegram_polling" in jobs_for(container)

    fake.enqueue(fake.updates.text(ANNA, "Здравствуйте, нужна курсовая"))
    (message,) = await eventually(lambda: inbound_messages(container), "the message filed")

    async with container.sessions() as session:
        conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None and conversation.kind is ConversationKind.LEAD
    assert (message.text, message.channel) == ("Здравствуйте, нужна курсовая", "telegram")
    assert "Telegram: long polling as @pult_test_bot" in caplog.messages

    await manager_replies(container, ANNA, "Добрый день! Какая тема?")
    sent = await eventually(lambda: _sent_at_least(fake, ANNA, 2), "the reply sent")
    # The bot greets a stranger at once; the manager's answer follows.
    assert [m.text for m in sent] == [
        "Здравствуйте! Это служба заказов. Давайте познакомимся: как вас зовут?",
        "Добрый день! Какая тема?",
    ]
    assert fake.pending_updates == []  # confirmed to Telegram once filed


async def introduce(fake: FakeTelegramAPI, user: TelegramUser) -> None:
    """Get through the bot's introduction (name, own phone), so what the person writes
    next is filed for the managers rather than taken as an answer."""
    fake.enqueue(fake.updates.text(user, "/start"))
    fake.enqueue(fake.updates.text(user, "Анна"))
    fake.enqueue(fake.updates.contact(user, "+79161234567", own=True))

    async def welcomed() -> bool:
        return any("Что вы хотите сделать?" in m.text for m in fake.sent_to(user.id))

    await eventually(welcomed, "the introduction finished")


async def test_a_person_who_blocks_the_bot_becomes_unreachable_until_they_write_again(
    container: Container, fake: FakeTelegramAPI, worker: asyncio.Task[None]
) -> None:
    await introduce(fake, ANNA)
    fake.enqueue(fake.updates.text(ANNA, "Привет"))
    await eventually(lambda: inbound_messages(container), "the message filed")

    fake.block(ANNA.id)
    fake.enqueue(kicked(fake, ANNA))

    async def unreachable() -> ChannelIdentity | None:
        identity = await identity_of(container, ANNA)
        return identity if identity is not None and not identity.reachable else None

    identity = await eventually(unreachable, "the identity marked unreachable")
    assert identity.unreachable_reason == BLOCKED_BY_USER
    with pytest.raises(NoRoute):
        await manager_replies(container, ANNA, "Вы здесь?")

    fake.unblock(ANNA.id)
    fake.enqueue(fake.updates.text(ANNA, "Я вернулась"))
    await eventually(lambda: _count(inbound_messages(container), 2), "the second message")
    again = await identity_of(container, ANNA)
    assert again is not None and (again.reachable, again.unreachable_reason) == (True, None)


async def test_a_send_to_a_blocked_chat_marks_the_identity_unreachable(
    container: Container, fake: FakeTelegramAPI, worker: asyncio.Task[None]
) -> None:
    """No my_chat_member notice arrived (it may come late, or never): the 403 of the send
    tells the dispatcher, which gives up and tells the manager."""
    await introduce(fake, ANNA)
    before = len(fake.sent_to(ANNA.id))
    fake.enqueue(fake.updates.text(ANNA, "Привет"))
    (message,) = await eventually(lambda: inbound_messages(container), "the message filed")
    fake.block(ANNA.id)

    await manager_replies(container, ANNA, "Добрый день!")

    async def unreachable() -> ChannelIdentity | None:
        identity = await identity_of(container, ANNA)
        return identity if identity is not None and not identity.reachable else None

    identity = await eventually(unreachable, "the identity marked unreachable")
    assert identity.unreachable_reason == BLOCKED_BY_USER
    assert len(fake.sent_to(ANNA.id)) == before  # nothing got through
    thread = await messages_of(container, message.conversation_id)
    assert [m.direction for m in thread] == [Direction.IN, Direction.OUT, Direction.SYSTEM]


# -- files -------------------------------------------------------------------------------------


async def test_a_photo_is_stored_and_attached_to_its_message(
    container: Container, fake: FakeTelegramAPI, worker: asyncio.Task[None]
) -> None:
    fake.enqueue(fake.updates.photo(ANNA, JPEG, caption="Вот задание"))

    (message,) = await eventually(lambda: inbound_messages(container), "the photo filed")

    assert message.text == "Вот задание"
    (stored,) = message.files
    assert (stored.content_type, stored.size, stored.original_name) == (
        "image/jpeg",
        len(JPEG),
        "photo",
    )
    assert await _bytes(container, stored) == JPEG
    identity = await identity_of(container, ANNA)
    assert identity is not None and stored.client_id == identity.client_id
    assert len(fake.downloads) == 1  # the largest size only, fetched once


async def test_a_document_keeps_its_name_and_bytes(
    container: Container, fake: FakeTelegramAPI, worker: asyncio.Task[None]
) -> None:
    fake.enqueue(fake.updates.document(ANNA, PDF, file_name="Методичка 2026.pdf"))

    (message,) = await eventually(lambda: inbound_messages(container), "the document filed")

    (stored,) = message.files
    assert (stored.original_name, stored.content_type) == ("Методичка 2026.pdf", "application/pdf")
    assert await _bytes(container, stored) == PDF


@pytest.mark.parametrize(
    ("reported", "content"),
    [
        pytest.param(2 * MEGABYTE, PDF, id="declared over the limit"),
        pytest.param(100, PDF * (MEGABYTE // len(PDF) + 1), id="grows over the limit"),
    ],
)
async def test_a_file_over_the_limit_leaves_the_message_and_a_note(
    container: Container,
    fake: FakeTelegramAPI,
    worker: asyncio.Task[None],
    reported: int,
    content: bytes,
) -> None:
    fake.enqueue(
        fake.updates.document(
            ANNA, content, file_name="big.pdf", caption="Большой файл", reported_size=reported
        )
    )

    (message,) = await eventually(lambda: inbound_messages(container), "the message filed")

    assert (message.text, message.files) == ("Большой файл", [])
    thread = await messages_of(container, message.conversation_id)
    assert [(m.direction, m.text) for m in thread] == [
        (Direction.IN, "Большой файл"),
        (Direction.SYSTEM, "Файл big.pdf не получен: больше 1 МБ"),
    ]
    store_root = container.settings.data_dir / "files"
    assert [path for path in store_root.rglob("*") if path.is_file()] == []


# -- webhook -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def webhook_container(
    database_url: str, tmp_path: Path, fake: FakeTelegramAPI
) -> AsyncIterator[Container]:
    port = _free_port()
    env = telegram_env(
        database_url,
        tmp_path,
        fake,
        PULT_HTTP_PORT=str(port),
        PULT_PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    container = await bootstrap(load_settings(env, env_file=None))
    yield container
    await container.close()


@pytest.fixture
async def web_app(webhook_container: Container) -> AsyncIterator[web.AppRunner]:
    runner = await start_web(webhook_container)
    yield runner
    await runner.cleanup()


async def test_webhook_mode_registers_the_route_and_files_deliveries(
    webhook_container: Container, fake: FakeTelegramAPI, web_app: web.AppRunner
) -> None:
    container = webhook_container
    settings = container.settings
    assert "telegram_polling" not in jobs_for(container)
    assert fake.webhook_url == f"http://127.0.0.1:{settings.http_port}/telegram/webhook"
    assert fake.webhook_secret == settings.webhook_secret

    assert await fake.deliver(fake.updates.text(ANNA, "Через вебхук")) == 200

    (message,) = await inbound_messages(container)
    assert message.text == "Через вебхук"

    assert await fake.deliver(kicked(fake, ANNA)) == 200
    identity = await identity_of(container, ANNA)
    assert identity is not None and identity.unreachable_reason == BLOCKED_BY_USER


async def test_webhook_refuses_a_delivery_with_a_wrong_secret(
    webhook_container: Container, fake: FakeTelegramAPI, web_app: web.AppRunner
) -> None:
    fake.webhook_secret = "not-the-secret"

    assert await fake.deliver(fake.updates.text(ANNA, "Подделка")) == 401

    assert await inbound_messages(webhook_container) == []


async def test_webhook_takes_files_too(
    webhook_container: Container, fake: FakeTelegramAPI, web_app: web.AppRunner
) -> None:
    assert await fake.deliver(fake.updates.document(ANNA, PDF, file_name="a.pdf")) == 200

    (message,) = await inbound_messages(webhook_container)
    (stored,) = message.files
    assert await _bytes(webhook_container, stored) == PDF


async def test_a_failed_webhook_registration_is_logged_and_the_web_app_serves(
    database_url: str, tmp_path: Path, fake: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    env = telegram_env(
        database_url,
        tmp_path,
        fake,
        PULT_HTTP_PORT=str(port),
        PULT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        PULT_TELEGRAM_TOKEN="42:not-the-fakes-token",  # the fake answers 401 Unauthorized
    )
    container = await bootstrap(load_settings(env, env_file=None))
    runner = await start_web(container)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
        assert fake.webhook_url is None
        assert any("setting the webhook" in message for message in caplog.messages)
        assert container.telegram is not None
        assert await container.telegram.register_webhook() is False
    finally:
        await runner.cleanup()
        await container.close()


# -- helpers -----------------------------------------------------------------------------------


async def _sent(fake: FakeTelegramAPI, user: TelegramUser) -> list[Any]:
    return fake.sent_to(user.id)


async def _sent_at_least(fake: FakeTelegramAPI, user: TelegramUser, count: int) -> list[Any]:
    sent = fake.sent_to(user.id)
    return sent if len(sent) >= count else []


async def _count(found: Awaitable[list[Message]], expected: int) -> bool:
    return len(await found) == expected


async def _bytes(container: Container, stored: StoredFile) -> bytes:
    return b"".join([chunk async for chunk in container.files.open(stored.storage_key)])
