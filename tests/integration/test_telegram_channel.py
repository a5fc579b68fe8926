"""The Telegram adapter against the fake Bot API server (tests/fakes/telegram_api.py), through
an unchanged aiogram Bot: sending and its error classes, edits, files both ways, long
polling and the webhook."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiohttp import web
from aiohttp.test_utils import TestServer

from bots.telegram import (
    Backoff,
    FileTooLargeForChannel,
    TelegramChannel,
    TelegramPolling,
    classify,
    fetch_file,
    make_bot,
    set_webhook,
    telegram_webhook_handler,
)
from inbox.channel import (
    BAD_ADDRESS,
    BLOCKED_BY_USER,
    FILE_TOO_LARGE,
    MESSAGE_TOO_LONG,
    Button,
    DeliveryError,
    Incoming,
    IncomingFile,
    Outgoing,
    OutgoingFile,
    PermanentError,
    RetryableError,
)
from inbox.files import FileTooLarge, LocalFileStore
from tests.fakes.telegram_api import SECRET_HEADER, FakeTelegramAPI
from tests.fakes.telegram_updates import TelegramUser

ANNA = TelegramUser(id=5123456789, first_name="Анна", last_name="Петрова")
CHAT = str(ANNA.id)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
SECRET = "s3cret-Token_for-tests"
FAST = Backoff(first=0.01, cap=0.02)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(per_chat_per_second=None) as fake:
        yield fake


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with make_bot(fake.token, fake.base_url) as bot:
        yield bot


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files", max_size=1024 * 1024)


@pytest.fixture
def channel(bot: Bot, store: LocalFileStore) -> TelegramChannel:
    return TelegramChannel(bot, store)


def outgoing(text: str = "", **fields: Any) -> Outgoing:
    return Outgoing(channel="telegram", chat_id=CHAT, text=text, **fields)


# -- sending ---------------------------------------------------------------------------------


async def test_text_with_inline_buttons_is_sent_escaped_with_its_keyboard(
    fake: FakeTelegramAPI, channel: TelegramChannel
) -> None:
    buttons = ((Button("Подтвердить", payload="quote:accept:1042"),),)

    receipt = await channel.send(outgoing("Цена <b>4 500 ₽</b> & срок", buttons=buttons))

    (call,) = fake.calls_of("sendMessage")
    assert call.params["text"] == "Цена &lt;b&gt;4 500 ₽&lt;/b&gt; &amp; срок"
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Подтвердить", "callback_data": "quote:accept:1042"}]]
    }
    (sent,) = fake.sent_to(ANNA.id)
    assert receipt.external_id == str(sent.message_id)
    assert sent.text == "Цена <b>4 500 ₽</b> & срок"  # what the person sees


async def test_blocked_chat_is_a_permanent_error(
    fake: FakeTelegramAPI, channel: TelegramChannel
) -> None:
    fake.block(ANNA.id)

    with pytest.raises(PermanentError) as caught:
        await channel.send(outgoing("Ваш заказ готов"))

    assert caught.value.reason == BLOCKED_BY_USER


async def test_flood_limit_is_retryable_after_telegrams_wait(store: LocalFileStore) -> None:
    clock = ManualClock()
    async with (
        FakeTelegramAPI(per_chat_per_second=1, clock=clock) as fake,
        make_bot(fake.token, fake.base_url) as bot,
    ):
        channel = TelegramChannel(bot, store)
        await channel.send(outgoing("первое"))

        with pytest.raises(RetryableError) as caught:
            await channel.send(outgoing("второе"))

        assert (caught.value.reason, caught.value.retry_after) == ("rate_limited", 1)
        clock.now += 1
        await channel.send(outgoing("второе"))
        assert [m.text for m in fake.sent_to(ANNA.id)] == ["первое", "второе"]


async def test_edit_retires_buttons_and_an_unchanged_edit_succeeds(
    fake: FakeTelegramAPI, channel: TelegramChannel
) -> None:
    buttons = ((Button("Да", payload="yes"), Button("Нет", payload="no")),)
    sent = await channel.send(outgoing("Подтверждаете?", buttons=buttons))
    retire = outgoing(extra={"edit_message_id": sent.external_id})

    first = await channel.send(retire)
    again = await channel.send(retire)

    assert first.external_id == again.external_id == sent.external_id
    message = fake.message(ANNA.id, int(sent.external_id))
    assert (message.buttons, message.edits) == ([], 1)
    assert [call.status for call in fake.calls_of("editMessageReplyMarkup")] == [200, 400]


async def test_editing_a_message_that_is_not_there_is_permanent(channel: TelegramChannel) -> None:
    with pytest.raises(PermanentError) as caught:
        await channel.send(outgoing("новый текст", extra={"edit_message_id": "999"}))

    assert caught.value.reason == "message_gone"


async def test_a_stored_file_is_sent_as_a_document_with_its_name(
    fake: FakeTelegramAPI, channel: TelegramChannel, store: LocalFileStore
) -> None:
    blob = await store.put(PDF, original_name="счёт.pdf")
    file = OutgoingFile(blob.storage_key, "Счёт №1042.pdf", "application/pdf")

    receipt = await channel.send(outgoing("Счёт во вложении", files=(file,)))

    (sent,) = fake.sent_to(ANNA.id)
    assert sent.method == "sendDocument"
    (document,) = sent.files
    assert (document.file_name, document.content) == ("Счёт №1042.pdf", PDF)
    assert sent.caption == "Счёт во вложении"
    assert receipt.external_id == str(sent.message_id)


async def test_a_file_missing_from_the_store_is_permanent(channel: TelegramChannel) -> None:
    file = OutgoingFile("ab/cd/abcd" + "0" * 60, "lost.pdf", "application/pdf")

    with pytest.raises(PermanentError) as caught:
        await channel.send(outgoing(files=(file,)))

    assert caught.value.reason == "file_missing"


SEND = SendMessage(chat_id=1, text="x")


RETRY, GIVE_UP = RetryableError, PermanentError


@pytest.mark.parametrize(
    ("error", "kind", "reason"),
    [
        (TelegramRetryAfter(SEND, "Too Many Requests: retry after 7", 7), RETRY, "rate_limited"),
        (TelegramForbiddenError(SEND, "Forbidden: user is deactivated"), GIVE_UP, BLOCKED_BY_USER),
        (TelegramBadRequest(SEND, "Bad Request: chat not found"), GIVE_UP, BAD_ADDRESS),
        (TelegramBadRequest(SEND, "Bad Request: message is too long"), GIVE_UP, MESSAGE_TOO_LONG),
        (TelegramEntityTooLarge(SEND, "Request Entity Too Large"), GIVE_UP, FILE_TOO_LARGE),
        (TelegramBadRequest(SEND, "message to edit not found"), GIVE_UP, "message_gone"),
        (TelegramBadRequest(SEND, "Bad Request: can't parse entities"), GIVE_UP, "bad_request"),
        (TelegramServerError(SEND, "Internal Server Error"), RETRY, "server"),
        (TelegramNetworkError(SEND, "ClientConnectorError"), RETRY, "network"),
        (TimeoutError(), RETRY, "network"),
        (aiohttp.ServerDisconnectedError(), RETRY, "network"),
    ],
)  # fmt: skip
def test_errors_are_classified(error: Exception, kind: type[DeliveryError], reason: str) -> None:
    classified = classify(error)

    assert (type(classified), classified.reason) == (kind, reason)
    if isinstance(error, TelegramRetryAfter):
        assert isinstance(classified, RetryableError) and classified.retry_after == 7


# -- fetching what people send ---------------------------------------------------------------


async def test_fetch_file_streams_the_download_into_the_store(
    fake: FakeTelegramAPI, bot: Bot, store: LocalFileStore
) -> None:
    stored = fake.add_file(PDF, file_name="Методичка.pdf", mime_type="application/pdf")
    file = IncomingFile(stored.file_id, stored.file_name, stored.mime_type, stored.file_size)

    blob = await fetch_file(bot, file, store, max_bytes=1024 * 1024)

    assert b"".join([chunk async for chunk in store.open(blob.storage_key)]) == PDF
    assert (blob.content_type, blob.safe_name) == ("application/pdf", "Методичка.pdf")
    assert fake.downloads == [stored.file_path]


async def test_fetch_file_refuses_a_declared_size_over_the_limit_without_asking(
    fake: FakeTelegramAPI, bot: Bot, store: LocalFileStore
) -> None:
    stored = fake.add_file(PDF, file_name="big.pdf")
    file = IncomingFile(stored.file_id, "big.pdf", "application/pdf", size=len(PDF))

    with pytest.raises(FileTooLarge) as caught:
        await fetch_file(bot, file, store, max_bytes=len(PDF) - 1)

    assert caught.value.limit == len(PDF) - 1
    assert fake.calls_of("getFile") == [] and fake.downloads == []


async def test_fetch_file_refuses_what_the_bot_api_will_not_serve(
    fake: FakeTelegramAPI, bot: Bot, store: LocalFileStore
) -> None:
    stored = fake.add_file(PDF, file_name="video.mp4", reported_size=25 * 1024 * 1024)

    with pytest.raises(FileTooLargeForChannel):
        await fetch_file(bot, IncomingFile(stored.file_id), store, max_bytes=50 * 1024 * 1024)

    assert fake.downloads == []


async def test_fetch_file_stops_a_download_that_outgrows_its_declared_size(
    fake: FakeTelegramAPI, bot: Bot, store: LocalFileStore
) -> None:
    stored = fake.add_file(PDF * 4, file_name="liar.pdf", reported_size=100)

    with pytest.raises(FileTooLarge):
        await fetch_file(bot, IncomingFile(stored.file_id), store, max_bytes=len(PDF))

    assert [path for path in store.root.rglob("*") if path.is_file()] == []


# -- long polling ----------------------------------------------------------------------------


class Progress:
    """Lets a test wait until the poller has done enough."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()

    async def note(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def until(self, done: Callable[[], bool]) -> None:
        async with self._changed:
            await self._changed.wait_for(done)


class Recorder:
    """A `receive` that notes each call with the updates the server still holds, and fails
    on demand."""

    def __init__(self, fake: FakeTelegramAPI, fail: Callable[[Incoming, int], bool]) -> None:
        self.fake = fake
        self.fail = fail
        self.calls: list[tuple[str, list[int]]] = []
        self.progress = Progress()

    async def __call__(self, incoming: Incoming) -> None:
        pending = [update["update_id"] for update in self.fake.pending_updates]
        self.calls.append((incoming.text or incoming.button or "", pending))
        await self.progress.note()
        if self.fail(incoming, sum(1 for text, _ in self.calls if text == incoming.text)):
            raise RuntimeError(f"receive failed for {incoming.text!r}")


async def poll_until(
    polling: TelegramPolling, progress: Progress, done: Callable[[], bool]
) -> None:
    """Run the poller until `done()`, then stop it (which must be prompt)."""
    stop = asyncio.Event()
    task = asyncio.create_task(polling.run(stop))
    try:
        async with asyncio.timeout(5):
            await progress.until(done)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_polling_delivers_updates_in_order_and_confirms_each_after_receive(
    fake: FakeTelegramAPI, bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [fake.enqueue(fake.updates.text(ANNA, text))["update_id"] for text in "abc"]
    receive = Recorder(fake, fail=lambda incoming, attempt: False)
    caplog.set_level(logging.INFO, logger="bots.telegram.listener")

    await poll_until(
        TelegramPolling(bot, receive, backoff=FAST),
        receive.progress,
        lambda: len(receive.calls) == 3,
    )

    assert [text for text, _ in receive.calls] == ["a", "b", "c"]
    # While an update was being received it was still unconfirmed on the server.
    assert all(
        update_id in pending for update_id, (_, pending) in zip(ids, receive.calls, strict=True)
    )
    assert fake.pending_updates == []  # confirmed on the way out
    assert [call.method for call in fake.calls[:2]] == ["getMe", "deleteWebhook"]
    assert "Telegram: long polling as @pult_test_bot" in caplog.messages


async def test_polling_retries_an_update_whose_receive_failed_before_the_next(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    ids = [fake.enqueue(fake.updates.text(ANNA, text))["update_id"] for text in "abc"]
    receive = Recorder(fake, fail=lambda incoming, attempt: incoming.text == "b" and attempt == 1)

    await poll_until(
        TelegramPolling(bot, receive, backoff=FAST),
        receive.progress,
        lambda: len(receive.calls) == 4,
    )

    assert [text for text, _ in receive.calls] == ["a", "b", "b", "c"]
    # The retry came before anything later, and "b" was unconfirmed until it succeeded.
    assert all(ids[1] in pending for text, pending in receive.calls if text == "b")


async def test_polling_skips_an_update_that_keeps_failing_after_max_attempts(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    for text in "ab":
        fake.enqueue(fake.updates.text(ANNA, text))
    receive = Recorder(fake, fail=lambda incoming, attempt: incoming.text == "a")
    polling = TelegramPolling(bot, receive, backoff=FAST, max_attempts=3)

    await poll_until(polling, receive.progress, lambda: len(receive.calls) == 4)

    assert [text for text, _ in receive.calls] == ["a", "a", "a", "b"]


async def test_a_stop_during_retries_leaves_the_update_unconfirmed(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    update = fake.enqueue(fake.updates.text(ANNA, "a"))
    receive = Recorder(fake, fail=lambda incoming, attempt: True)
    polling = TelegramPolling(bot, receive, backoff=Backoff(first=10, cap=10))

    await poll_until(polling, receive.progress, lambda: len(receive.calls) == 1)

    assert fake.pending_updates == [update]  # Telegram will send it again after a restart


async def test_polling_answers_button_presses_and_reports_a_block(
    fake: FakeTelegramAPI, bot: Bot, channel: TelegramChannel
) -> None:
    sent = await channel.send(outgoing("Подтверждаете?", buttons=((Button("Да", payload="y"),),)))
    press = fake.enqueue(fake.updates.callback(ANNA, "y", message_id=int(sent.external_id)))
    kicked = json.loads((FIXTURES / "my_chat_member_kicked.json").read_text(encoding="utf-8"))
    fake.enqueue({**kicked, "update_id": fake.next_update_id()})
    receive = Recorder(fake, fail=lambda incoming, attempt: False)
    blocked: list[str] = []

    async def on_blocked(chat_id: str) -> None:
        blocked.append(chat_id)
        await receive.progress.note()

    polling = TelegramPolling(bot, receive, on_blocked=on_blocked, backoff=FAST)
    await poll_until(polling, receive.progress, lambda: bool(blocked))

    assert [text for text, _ in receive.calls] == ["y"]
    assert list(fake.callback_answers) == [press["callback_query"]["id"]]
    assert blocked == [CHAT]


# -- webhook ---------------------------------------------------------------------------------


async def webhook_server(bot: Bot, receive: Callable[[Incoming], Awaitable[object]]) -> TestServer:
    app = web.Application()
    app.router.add_post("/telegram", telegram_webhook_handler(receive, SECRET, bot=bot))
    server = TestServer(app)
    await server.start_server()
    return server


@pytest.fixture
async def webhook(
    fake: FakeTelegramAPI, bot: Bot
) -> AsyncIterator[tuple[TestServer, list[Incoming]]]:
    received: list[Incoming] = []

    async def receive(incoming: Incoming) -> None:
        received.append(incoming)

    server = await webhook_server(bot, receive)
    await set_webhook(bot, str(server.make_url("/telegram")), SECRET)
    try:
        yield server, received
    finally:
        await server.close()


async def test_webhook_with_the_right_secret_receives_and_answers_200(
    fake: FakeTelegramAPI, webhook: tuple[TestServer, list[Incoming]]
) -> None:
    _, received = webhook

    status = await fake.deliver(fake.updates.text(ANNA, "Здравствуйте"))

    assert status == 200
    assert [(incoming.text, incoming.sender_id) for incoming in received] == [
        ("Здравствуйте", CHAT)
    ]
    (call,) = fake.calls_of("setWebhook")
    assert call.params["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]
    assert (call.params["secret_token"], call.params["drop_pending_updates"]) == (SECRET, False)


async def test_webhook_answers_a_button_press(
    fake: FakeTelegramAPI, channel: TelegramChannel, webhook: tuple[TestServer, list[Incoming]]
) -> None:
    sent = await channel.send(outgoing("Да?", buttons=((Button("Да", payload="yes"),),)))
    press = fake.updates.callback(ANNA, "yes", message_id=int(sent.external_id))

    assert await fake.deliver(press) == 200

    assert [incoming.button for incoming in webhook[1]] == ["yes"]
    assert list(fake.callback_answers) == [press["callback_query"]["id"]]


@pytest.mark.parametrize("secret", ["wrong-secret", None])
async def test_webhook_without_the_right_secret_is_401(
    fake: FakeTelegramAPI, webhook: tuple[TestServer, list[Incoming]], secret: str | None
) -> None:
    fake.webhook_secret = secret  # None: the header is left out

    assert await fake.deliver(fake.updates.text(ANNA, "поддельное")) == 401
    assert webhook[1] == []


@pytest.mark.parametrize("body", [b'{"update_id": 1, "message": {', b'{"update_id": "one"}', b"[]"])
async def test_webhook_refuses_a_body_that_is_not_an_update(
    webhook: tuple[TestServer, list[Incoming]], body: bytes
) -> None:
    server, received = webhook
    async with aiohttp.ClientSession() as client:
        response = await client.post(
            server.make_url("/telegram"),
            data=body,
            headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
        )

    assert response.status == 400
    assert received == []


async def test_webhook_answers_500_when_receive_fails_so_telegram_retries(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    async def receive(incoming: Incoming) -> None:
        raise RuntimeError("database is away")

    server = await webhook_server(bot, receive)
    try:
        await set_webhook(bot, str(server.make_url("/telegram")), SECRET)
        assert await fake.deliver(fake.updates.text(ANNA, "текст")) == 500
    finally:
        await server.close()


async def _post(server: TestServer, body: bytes) -> int:
    async with aiohttp.ClientSession() as client:
        response = await client.post(
            server.make_url("/telegram"),
            data=body,
            headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
        )
        return response.status


@pytest.mark.parametrize("depth", [100_000, 5_000, 990])
async def test_webhook_answers_400_to_deeply_nested_json(
    webhook: tuple[TestServer, list[Incoming]], depth: int
) -> None:
    server, received = webhook
    body = b'{"update_id": 1, "message": ' + b"[" * depth + b"]" * depth + b"}"
    assert await _post(server, body) == 400
    assert received == []


async def test_webhook_body_limit_is_an_updates_size_not_a_files(
    fake: FakeTelegramAPI, bot: Bot
) -> None:
    received: list[Incoming] = []

    async def receive(incoming: Incoming) -> None:
        received.append(incoming)

    # The panel's application takes uploads up to the file limit; the webhook must not.
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/telegram", telegram_webhook_handler(receive, SECRET, bot=bot))
    server = TestServer(app)
    await server.start_server()
    try:
        update = fake.updates.text(ANNA, "я" * 100)
        padded = json.dumps({**update, "padding": "x" * (2 * 1024 * 1024)}).encode()
        assert await _post(server, padded) == 413
        assert await _post(server, json.dumps(update).encode()) == 200
    finally:
        await server.close()
    assert [incoming.text for incoming in received] == ["я" * 100]


async def test_a_press_whose_receive_fails_is_answered_once_with_an_apology(
    fake: FakeTelegramAPI, bot: Bot, channel: TelegramChannel
) -> None:
    sent = await channel.send(outgoing("Подтверждаете?", buttons=((Button("Да", payload="y"),),)))
    press = fake.enqueue(fake.updates.callback(ANNA, "y", message_id=int(sent.external_id)))
    receive = Recorder(fake, fail=lambda incoming, attempt: True)
    polling = TelegramPolling(bot, receive, backoff=FAST, max_attempts=3)

    await poll_until(polling, receive.progress, lambda: len(receive.calls) == 3)

    answer = fake.callback_answers[press["callback_query"]["id"]]
    assert (
        answer["text"] == "Извините, кнопка сейчас не сработала. Попробуйте ещё раз через минуту."
    )
    assert len(fake.calls_of("answerCallbackQuery")) == 1
