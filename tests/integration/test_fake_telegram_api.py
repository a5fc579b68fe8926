"""The fake Telegram Bot API against an unchanged aiogram Bot: the answers validate as real
Bot API objects, and errors surface as the exceptions aiogram raises for the real server."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.fakes.telegram_api import SECRET_HEADER, FakeTelegramAPI
from tests.fakes.telegram_updates import TelegramUser

CHAT = 1001
ANNA = TelegramUser(id=CHAT)


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(per_bot_per_second=3, clock=clock) as fake:
        yield fake


def bot_for(fake: FakeTelegramAPI, token: str | None = None) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
    return Bot(token or fake.token, session=session)


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with bot_for(fake) as bot:
        yield bot


def keyboard(*data: str) -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=f"Button {d}", callback_data=d) for d in data]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


def dumped(markup: InlineKeyboardMarkup | None) -> dict[str, Any] | None:
    """Models answered by the server carry the bot in a private field; compare the data."""
    return None if markup is None else markup.model_dump(exclude_none=True)


def png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


async def test_get_me_describes_the_bot(bot: Bot, fake: FakeTelegramAPI) -> None:
    me = await bot.get_me()

    assert (me.id, me.is_bot, me.username) == (123456789, True, "pult_test_bot")
    assert [call.method for call in fake.calls] == ["getMe"]


async def test_a_wrong_token_is_unauthorized(fake: FakeTelegramAPI) -> None:
    async with bot_for(fake, token="42:wrong") as stranger:
        with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
            await stranger.get_me()


async def test_an_unknown_method_is_not_found(fake: FakeTelegramAPI) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{fake.base_url}/bot{fake.token}/sendTelepathy") as response,
    ):
        assert response.status == 404
        assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_send_message_with_an_inline_keyboard_round_trips(
    bot: Bot, fake: FakeTelegramAPI, clock: ManualClock
) -> None:
    first = await bot.send_message(CHAT, "<b>Order</b> #7 &amp; co", parse_mode="HTML")
    clock.now += 1  # the per-chat limit is one message a second
    second = await bot.send_message(CHAT, "Pay?", reply_markup=keyboard("pay:7", "cancel:7"))

    assert (first.message_id, second.message_id) == (1, 2)
    assert first.text == "Order #7 & co"
    assert dumped(second.reply_markup) == dumped(keyboard("pay:7", "cancel:7"))
    assert second.from_user is not None and second.from_user.is_bot
    recorded = fake.sent_to(CHAT)[1]
    assert recorded.text == "Pay?"
    assert [button["callback_data"] for button in recorded.buttons[0]] == ["pay:7", "cancel:7"]
    call = fake.calls_of("sendMessage")[1]
    assert call.params["chat_id"] == CHAT
    assert call.params["reply_markup"]["inline_keyboard"][0][1]["text"] == "Button cancel:7"


async def test_a_reply_keyboard_removal_is_recorded_but_not_echoed(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    message = await bot.send_message(CHAT, "Thanks", reply_markup=ReplyKeyboardRemove())

    assert message.reply_markup is None
    assert fake.sent_to(CHAT)[0].reply_markup == {"remove_keyboard": True}


async def test_unsupported_html_is_refused_like_telegram(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match='Unsupported start tag "br" at byte offset 2'):
        await bot.send_message(CHAT, "hi<br>there", parse_mode="HTML")


async def test_send_document_upload_stores_the_bytes(bot: Bot, fake: FakeTelegramAPI) -> None:
    content = b"%PDF-1.4 invoice for order 7"

    message = await bot.send_document(
        CHAT, BufferedInputFile(content, filename="invoice-7.pdf"), caption="Invoice"
    )

    assert message.document is not None
    assert (message.document.file_name, message.document.file_size) == ("invoice-7.pdf", 28)
    assert message.document.mime_type == "application/pdf"
    assert message.caption == "Invoice"
    [sent] = fake.sent_to(CHAT)
    assert sent.files[0].content == content
    assert fake.files[message.document.file_id].content == content
    assert fake.calls_of("sendDocument")[0].files


async def test_send_photo_reports_the_picture_size_and_resends_by_file_id(
    bot: Bot, fake: FakeTelegramAPI, clock: ManualClock
) -> None:
    uploaded = await bot.send_photo(CHAT, BufferedInputFile(png(640, 480), filename="map.png"))
    clock.now += 1  # the per-chat limit is one message a second
    again = await bot.send_photo(CHAT, uploaded.photo[-1].file_id)  # type: ignore[index]

    assert uploaded.photo is not None and again.photo is not None
    assert (uploaded.photo[-1].width, uploaded.photo[-1].height) == (640, 480)
    assert again.photo[-1].file_unique_id == uploaded.photo[-1].file_unique_id
    assert fake.sent_to(CHAT)[1].files[0].content == png(640, 480)


async def test_the_per_chat_limit_answers_429_with_retry_after(
    bot: Bot, fake: FakeTelegramAPI, clock: ManualClock
) -> None:
    await bot.send_message(CHAT, "one")
    clock.now += 0.4

    with pytest.raises(TelegramRetryAfter) as refused:
        await bot.send_message(CHAT, "two")

    assert refused.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in refused.value.message
    assert fake.too_many_requests == 1
    assert fake.calls_of("sendMessage")[1].status == 429
    clock.now += 0.6
    await bot.send_message(CHAT, "two")
    assert [m.text for m in fake.sent_to(CHAT)] == ["one", "two"]


async def test_the_per_bot_limit_spans_chats(bot: Bot, fake: FakeTelegramAPI) -> None:
    for chat in (1, 2, 3):
        await bot.send_message(chat, "hello")

    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(4, "hello")

    assert fake.sent_to(4) == []
    assert fake.too_many_requests == 1


async def test_a_blocked_chat_is_forbidden(bot: Bot, fake: FakeTelegramAPI) -> None:
    fake.block(CHAT)

    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "still there?")

    assert fake.sent_to(CHAT) == []
    await bot.send_message(CHAT + 1, "other chats still work")


async def test_edits_change_the_message_and_refuse_no_op_edits(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    sent = await bot.send_message(CHAT, "Pay?", reply_markup=keyboard("pay:7"))

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard("pay:7")
        )
    edited = await bot.edit_message_reply_markup(
        chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard("paid:7")
    )
    assert isinstance(edited, Message)
    assert dumped(edited.reply_markup) == dumped(keyboard("paid:7"))
    await bot.edit_message_text("Paid", chat_id=CHAT, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("Paid", chat_id=CHAT, message_id=99)

    [current] = fake.sent_to(CHAT)
    assert (current.text, current.reply_markup, current.edits) == ("Paid", None, 2)


async def test_get_updates_returns_injected_updates_and_honours_offset(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    first = fake.enqueue(fake.updates.text(ANNA, "/start"))
    second = fake.enqueue(fake.updates.text(ANNA, "I need a print job"))

    updates = await bot.get_updates()
    again = await bot.get_updates(offset=first["update_id"] + 1)
    drained = await bot.get_updates(offset=second["update_id"] + 1)

    assert [u.message.text for u in updates if u.message] == ["/start", "I need a print job"]
    assert [u.update_id for u in again] == [second["update_id"]]
    assert second["update_id"] == first["update_id"] + 1
    assert drained == []
    assert fake.pending_updates == []


async def test_get_updates_long_polls_until_an_update_arrives(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    assert not poll.done()

    fake.enqueue(fake.updates.text(ANNA, "hello"))
    updates = await asyncio.wait_for(poll, 2)

    assert [u.message.text for u in updates if u.message] == ["hello"]


async def test_aiogram_polling_receives_updates_and_answers(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    polling = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=1, handle_signals=False)
    )
    fake.enqueue(fake.updates.text(ANNA, "ping"))
    for _ in range(200):
        if fake.sent_to(CHAT):
            break
        await asyncio.sleep(0.01)
    await dispatcher.stop_polling()
    await polling

    assert [m.text for m in fake.sent_to(CHAT)] == ["echo: ping"]
    assert fake.calls_of("getUpdates")[0].params["timeout"] == 1


async def test_webhook_delivery_carries_the_secret_header(bot: Bot, fake: FakeTelegramAPI) -> None:
    received: list[tuple[str | None, Any]] = []

    async def webhook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.json_response({})

    async with WebhookServer(web.post("/tg", webhook)) as url:
        await bot.set_webhook(f"{url}/tg", secret_token="s3cret-_token")
        update = fake.updates.text(ANNA, "via webhook")
        status = await fake.deliver(update)
        info = await bot.get_webhook_info()

    assert status == 200
    assert received == [("s3cret-_token", update)]
    assert info.url == f"{url}/tg"


async def test_aiogram_webhook_handler_accepts_delivery_and_its_answer_is_executed(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> SendMessage:
        return message.answer(f"echo: {message.text}")

    handler = SimpleRequestHandler(dispatcher, bot, handle_in_background=False, secret_token="abc")
    async with WebhookServer(web.post("/tg", handler.handle)) as url:
        await bot.set_webhook(f"{url}/tg", secret_token="abc")
        accepted = await fake.deliver(fake.updates.text(ANNA, "ping"))
        await bot.set_webhook(f"{url}/tg", secret_token="wrong")
        refused = await fake.deliver(fake.updates.text(ANNA, "ping"))

    assert (accepted, refused) == (200, 401)
    assert [m.text for m in fake.sent_to(CHAT)] == ["echo: ping"]


async def test_get_updates_conflicts_with_an_active_webhook(bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/tg")

    with pytest.raises(Exception, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()


async def test_get_file_and_download_return_the_registered_bytes(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    stored = fake.add_file(b"scan of a passport", file_name="passport.jpg")

    file = await bot.get_file(stored.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path, io.BytesIO())

    assert file.file_size == len(b"scan of a passport")
    assert file.file_path.endswith(".jpg")
    assert isinstance(downloaded, io.BytesIO)
    assert downloaded.getvalue() == b"scan of a passport"


async def test_get_file_refuses_a_file_above_20_mb(bot: Bot, fake: FakeTelegramAPI) -> None:
    stored = fake.add_file(b"x", file_name="video.mp4", reported_size=25 * 1024 * 1024)

    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(stored.file_id)


async def test_a_callback_points_at_the_bots_message_and_is_answered_once(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    sent = await bot.send_message(CHAT, "Pay?", reply_markup=keyboard("pay:7"))
    update = Update.model_validate(fake.updates.callback(ANNA, "pay:7", message_id=sent.message_id))
    query = update.callback_query

    assert query is not None and isinstance(query.message, Message)
    assert (query.data, query.message.message_id, query.message.text) == ("pay:7", 1, "Pay?")
    assert await bot.answer_callback_query(query.id, text="Paid")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    assert fake.callback_answers[query.id]["text"] == "Paid"


def replied_text(fake: FakeTelegramAPI) -> dict[str, Any]:
    question = fake.updates.text(ANNA, "q?")["message"]["message_id"]
    return fake.updates.text(ANNA, "yes", reply_to=question)


def edited_text(fake: FakeTelegramAPI) -> dict[str, Any]:
    typo = fake.updates.text(ANNA, "tpyo")["message"]["message_id"]
    return fake.updates.edited_text(ANNA, typo, "typo")


BUILDERS: dict[str, Callable[[FakeTelegramAPI], dict[str, Any]]] = {
    "text reply": replied_text,
    "edited text": edited_text,
    "own contact": lambda f: f.updates.contact(ANNA, "+79161234567"),
    "other contact": lambda f: f.updates.contact(ANNA, "+79160000000", own=False, user_id=77),
    "location": lambda f: f.updates.location(ANNA, 55.75, 37.62),
    "live location": lambda f: f.updates.location(ANNA, 55.75, 37.62, live_period=900),
    "photo": lambda f: f.updates.photo(ANNA, b"jpeg", caption="the doc"),
    "document": lambda f: f.updates.document(ANNA, b"%PDF", file_name="a.pdf"),
    "sticker": lambda f: f.updates.sticker(ANNA),
}


@pytest.mark.parametrize("kind", BUILDERS)
async def test_built_updates_validate_as_bot_api_updates(kind: str, fake: FakeTelegramAPI) -> None:
    raw = BUILDERS[kind](fake)

    update = Update.model_validate(raw)

    message = update.message or update.edited_message
    assert message is not None and message.from_user is not None
    assert (message.chat.id, message.from_user.language_code) == (CHAT, "ru")
    assert update.model_dump(exclude_none=True, by_alias=True, mode="json")["update_id"] > 0


async def test_built_updates_carry_what_the_user_did(bot: Bot, fake: FakeTelegramAPI) -> None:
    own = Update.model_validate(fake.updates.contact(ANNA, "+79161234567")).message
    other = Update.model_validate(fake.updates.contact(ANNA, "+7916", own=False)).message
    live = fake.updates.location(ANNA, 55.75, 37.62, live_period=900)
    moved = fake.updates.live_location_edit(ANNA, live["message"]["message_id"], 55.76, 37.63)
    photo = Update.model_validate(fake.updates.photo(ANNA, b"jpeg-bytes")).message

    assert own is not None and own.contact is not None and own.from_user is not None
    assert own.contact.user_id == own.from_user.id
    assert other is not None and other.contact is not None and other.contact.user_id is None
    assert moved["edited_message"]["location"] == {
        "latitude": 55.76,
        "longitude": 37.63,
        "live_period": 900,
    }
    assert moved["edited_message"]["message_id"] == live["message"]["message_id"]
    assert photo is not None and photo.photo is not None and len(photo.photo) == 3
    file = await bot.get_file(photo.photo[-1].file_id)
    assert file.file_path is not None
    assert (await bot.download_file(file.file_path, io.BytesIO())).getvalue() == b"jpeg-bytes"  # type: ignore[union-attr]


async def test_user_and_bot_messages_share_the_chats_message_ids(
    bot: Bot, fake: FakeTelegramAPI
) -> None:
    asked = fake.updates.text(ANNA, "hi")["message"]["message_id"]
    answer = await bot.send_message(CHAT, "hello", reply_to_message_id=asked)

    assert (asked, answer.message_id) == (1, 2)
    assert answer.reply_to_message is not None and answer.reply_to_message.text == "hi"


class WebhookServer:
    """A throw-away aiohttp server on a free port, for webhooks."""

    def __init__(self, *routes: web.RouteDef) -> None:
        self._app = web.Application()
        self._app.add_routes(routes)
        self._runner = web.AppRunner(self._app, shutdown_timeout=1)

    async def __aenter__(self) -> str:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()
