"""A fake Telegram Bot API server for tests: a local aiohttp server that speaks the real HTTP
protocol (`{base}/bot{token}/{method}`, `{base}/file/bot{token}/{path}`) closely enough that an
unchanged aiogram `Bot` works against it, records every call, keeps the bot's messages with
their edits, enforces Telegram's flood limits, and feeds updates by getUpdates or webhook.

    async with FakeTelegramAPI() as fake:
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        ...
        fake.enqueue(fake.updates.text(TelegramUser(), "/start"))

Known gaps: MarkdownV2 text is kept as sent (HTML is rendered to plain text), entities are
not computed, sent photos are not resized, inline-message edits are not supported."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import mimetypes
import re
import secrets
import struct
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.telegram_updates import JSON, StoredFile, UpdateBuilder

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
MAX_UPLOAD_SIZE = 50 * 1024 * 1024
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)

# Form fields arrive as strings; these are decoded the way the real server reads them.
JSON_FIELDS = frozenset(
    {"reply_markup", "entities", "caption_entities", "allowed_updates", "link_preview_options",
     "reply_parameters", "media"}
)  # fmt: skip
INT_FIELDS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "max_connections", "cache_time",
     "reply_to_message_id", "message_thread_id"}
)  # fmt: skip
BOOL_FIELDS = frozenset(
    {"disable_notification", "protect_content", "show_alert", "drop_pending_updates",
     "disable_web_page_preview", "allow_sending_without_reply", "disable_content_type_detection"}
)  # fmt: skip
HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
     "code", "pre", "blockquote", "tg-emoji"}
)  # fmt: skip

Handler = Callable[[JSON, "dict[str, Upload]"], Awaitable[Any]]


class ApiError(Exception):
    """An answer with `ok: false`, raised inside a method and turned into the response."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request."""

    field: str
    file_name: str | None
    content_type: str | None
    content: bytes


@dataclass(slots=True)
class ApiCall:
    """One request as the server read it; `status` is the HTTP status it was answered with."""

    method: str
    params: JSON
    files: dict[str, Upload]
    at: float
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook POST made by `deliver`."""

    update: JSON
    status: int
    headers: dict[str, str]


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, in its current state: `text` and `caption` as Telegram shows
    them (HTML tags rendered away), `reply_markup` as last sent or edited."""

    chat_id: int
    message_id: int
    method: str
    date: int
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    files: list[StoredFile] = field(default_factory=list)
    photo_size: tuple[int, int] = (0, 0)
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    edits: int = 0

    @property
    def buttons(self) -> list[list[JSON]]:
        """Rows of buttons of an inline or reply keyboard (empty when there is none)."""
        markup = self.reply_markup or {}
        return list(markup.get("inline_keyboard") or markup.get("keyboard") or [])

    def content(self) -> JSON:
        fields: JSON = {}
        if self.text is not None:
            fields["text"] = self.text
        if self.method == "sendDocument":
            fields["document"] = self.files[0].as_document()
        if self.method == "sendPhoto":
            fields["photo"] = [self.files[0].as_photo_size(*self.photo_size)]
        if self.caption:
            fields["caption"] = self.caption
        if self.edit_date is not None:
            fields["edit_date"] = self.edit_date
        if _inline(self.reply_markup):
            fields["reply_markup"] = self.reply_markup
        return fields


class SlidingWindow:
    """At most `rate` events a second per key over a sliding window; a rate below one means
    one event per 1/rate seconds (20 a minute is 1/3). None switches the limit off."""

    def __init__(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive or None")
        if rate is None:
            self._limit, self._window = 0, 0.0
        elif rate >= 1:
            self._limit, self._window = int(rate), 1.0
        else:
            self._limit, self._window = 1, 1.0 / rate
        self._events: defaultdict[Hashable, deque[float]] = defaultdict(deque)

    def retry_after(self, key: Hashable, now: float) -> int:
        """Whole seconds until one more event fits (0: it fits now)."""
        if not self._limit:
            return 0
        events = self._events[key]
        while events and events[0] <= now - self._window:
            events.popleft()
        if len(events) < self._limit:
            return 0
        return max(1, math.ceil(events[0] + self._window - now))

    def record(self, key: Hashable, now: float) -> None:
        if self._limit:
            self._events[key].append(now)


class FakeTelegramAPI:
    """The fake server; see the module docstring. Use as an async context manager."""

    def __init__(
        self,
        token: str = "123456789:AAFakeTokenForPultTests_0123456789ab",
        *,
        bot_username: str = "pult_test_bot",
        per_bot_per_second: float | None = 30,
        per_chat_per_second: float | None = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Pult",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._clock = clock
        self._per_bot = SlidingWindow(per_bot_per_second)
        self._per_chat = SlidingWindow(per_chat_per_second)
        self.base_url = ""
        self.calls: list[ApiCall] = []
        self.deliveries: list[Delivery] = []
        self.downloads: list[str] = []
        self.callback_answers: dict[str, JSON] = {}
        self.too_many_requests = 0
        self.flood_rejections = 0  # the 429s for a broken flood limit (not an outage's)
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.updates = UpdateBuilder(self)
        self._queue: deque[JSON] = deque()
        self._arrived = asyncio.Event()
        self._update_ids = itertools.count(700_000_001)
        self._file_numbers = itertools.count(1)
        self._last_message_id: defaultdict[int, int] = defaultdict(int)
        self._sent: dict[tuple[int, int], SentMessage] = {}
        self._by_chat: defaultdict[int, list[SentMessage]] = defaultdict(list)
        self._incoming: dict[tuple[int, int], JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._files: dict[str, StoredFile] = {}
        self._paths: dict[str, StoredFile] = {}
        self._blocked: set[int] = set()
        # Outage stretches (until, HTTP status), in order: sends answer that status until
        # then, as Telegram does in an incident (429 storms, 500, a 502 from its proxy).
        self._outage: deque[tuple[float, int]] = deque()
        # Seconds each send takes before it is answered (a slow Bot API): a worker killed
        # meanwhile leaves sends in flight.
        self.send_delay = 0.0
        self._open_callbacks: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getUpdates": self._get_updates,
                "sendMessage": self._send_message,
                "sendDocument": self._send_document,
                "sendPhoto": self._send_photo,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "getFile": self._get_file,
            }.items()
        }

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD_SIZE + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_download)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._client = aiohttp.ClientSession()

    async def close(self) -> None:
        self._arrived.set()  # release long polls so the server can stop
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what tests look at and arrange ------------------------------------------------------

    def calls_of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_to(self, chat_id: int) -> list[SentMessage]:
        """The messages the bot sent to a chat, oldest first, each in its current state."""
        return list(self._by_chat.get(chat_id, []))

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        return self._sent[(chat_id, message_id)]

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: sends to the chat answer 403 from now on."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def outage(self, *stretches: tuple[float, int]) -> None:
        """From now, sends answer each (seconds, status) stretch in turn, e.g.
        `outage((60, 429), (60, 500), (60, 502))`; a 429 carries retry_after 1."""
        at = self._clock()
        for seconds, status in stretches:
            if status not in (429, 500, 502):
                raise ValueError(f"an outage answers 429, 500 or 502, not {status}")
            at += seconds
            self._outage.append((at, status))

    @property
    def in_outage(self) -> bool:
        return self._outage_status(self._clock()) is not None

    def _outage_status(self, now: float) -> int | None:
        while self._outage and self._outage[0][0] <= now:
            self._outage.popleft()
        return self._outage[0][1] if self._outage else None

    @property
    def files(self) -> dict[str, StoredFile]:
        """Every file the server holds, by file_id (registered and uploaded by the bot)."""
        return dict(self._files)

    @property
    def pending_updates(self) -> list[JSON]:
        return list(self._queue)

    def add_file(
        self,
        content: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        reported_size: int | None = None,
        folder: str = "documents",
    ) -> StoredFile:
        """Registers a file so getFile and the download work; `reported_size` makes getFile
        see a bigger file than the bytes kept (above 20 MB it answers "file is too big")."""
        number = next(self._file_numbers)
        guessed = mimetypes.guess_extension(mime_type or "") or ""
        suffix = re.search(r"\.\w+$", file_name or "")
        stored = StoredFile(
            # Real file ids are long opaque base64 strings.
            file_id=f"BQACAgIAAxkBAAI{number:05d}{secrets.token_urlsafe(24)}",
            file_unique_id=f"AgAD{number:05d}",
            file_path=f"{folder}/file_{number}{suffix.group() if suffix else guessed}",
            content=content,
            file_size=len(content) if reported_size is None else reported_size,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._paths[stored.file_path] = stored
        return stored

    def enqueue(self, update: JSON) -> JSON:
        """Queues an update for getUpdates (waking a long poll)."""
        self._queue.append(update)
        self._arrived.set()
        return update

    async def deliver(self, update: JSON) -> int:
        """POSTs an update to the webhook set by setWebhook, with the secret header; runs a
        method the webhook answers with (as Telegram does) and returns the HTTP status."""
        if self.webhook_url is None or self._client is None:
            raise RuntimeError("no webhook is set (call setWebhook first)")
        headers = {SECRET_HEADER: self.webhook_secret} if self.webhook_secret else {}
        async with self._client.post(self.webhook_url, json=update, headers=headers) as response:
            status = response.status
            if status == 200:
                await self._run_webhook_answer(response)
        self.deliveries.append(Delivery(update=update, status=status, headers=headers))
        return status

    # -- the builders' view (UpdateSink) -----------------------------------------------------

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def next_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def remember_incoming(self, chat: JSON, message: JSON) -> None:
        self._chats[chat["id"]] = chat
        self._incoming[(chat["id"], message["message_id"])] = message

    def expect_callback_answer(self, query_id: str) -> None:
        self._open_callbacks.add(query_id)

    def message_dict(self, chat_id: int, message_id: int, *, nested: bool = True) -> JSON:
        """Any message of a chat (the user's or the bot's) as a Message object."""
        if (chat_id, message_id) in self._incoming:
            return dict(self._incoming[(chat_id, message_id)])
        sent = self._sent.get((chat_id, message_id))
        if sent is None:
            raise KeyError(f"chat {chat_id} has no message {message_id}")
        message: JSON = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": sent.date,
            **sent.content(),
        }
        if nested and sent.reply_to_message_id is not None:
            replied = self.message_dict(chat_id, sent.reply_to_message_id, nested=False)
            message["reply_to_message"] = {
                k: v for k, v in replied.items() if k != "reply_to_message"
            }
        return message

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _respond(ApiError(401, "Unauthorized").body(), 401)
        params, uploads = await _read_request(request)
        status, body = await self._call(request.match_info["method"], params, uploads)
        return _respond(body, status)

    async def _handle_download(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _respond(ApiError(401, "Unauthorized").body(), 401)
        stored = self._paths.get(request.match_info["path"])
        if stored is None:
            return _respond(ApiError(404, "Not Found").body(), 404)
        self.downloads.append(stored.file_path)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def _call(self, name: str, raw: JSON, uploads: dict[str, Upload]) -> tuple[int, JSON]:
        method, handler = self._methods.get(name.lower(), (name, None))
        call = ApiCall(method=method, params=raw, files=uploads, at=self._clock())
        self.calls.append(call)
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            call.params = {key: _decode(key, value) for key, value in raw.items()}
            status, body = 200, {"ok": True, "result": await handler(call.params, uploads)}
        except ApiError as error:
            status, body = error.status, error.body()
            if status == 429:
                self.too_many_requests += 1
        call.status = status
        return status, body

    async def _run_webhook_answer(self, response: aiohttp.ClientResponse) -> None:
        if response.content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader(response.headers, response.content)
            fields, uploads = await _read_multipart(reader)
        elif response.content_type == "application/json":
            answer = await response.json()
            fields, uploads = (answer if isinstance(answer, dict) else {}), {}
        else:
            return
        method = fields.pop("method", None)
        if isinstance(method, str):
            await self._call(method, fields, uploads)

    # -- methods -----------------------------------------------------------------------------

    async def _get_me(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        return self.bot_user

    async def _set_webhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        url, secret = params.get("url") or None, params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if url is not None and not url.startswith(("http://", "https://")):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook_url, self.webhook_secret = url, secret if url else None
        return True

    async def _delete_webhook(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook_url = self.webhook_secret = None
        return True

    async def _get_webhook_info(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        info: JSON = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }
        if self.webhook_url:
            info["max_connections"] = 40
        return info

    async def _get_updates(self, params: JSON, uploads: dict[str, Upload]) -> list[JSON]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(int(params.get("offset") or 0))
        timeout = float(params.get("timeout") or 0)
        if not self._queue and timeout > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        return list(itertools.islice(self._queue, limit))

    async def _send_message(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        if self.send_delay:
            await asyncio.sleep(self.send_delay)
        chat_id = self._admit_send(params)
        text = _render(params.get("text"), params.get("parse_mode"))
        if not text or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return self._file_sent(chat_id, "sendMessage", params, text=text)

    async def _send_document(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat_id = self._admit_send(params)
        stored = self._input_file(params, uploads, "document", folder="documents")
        return self._file_sent(chat_id, "sendDocument", params, files=[stored])

    async def _send_photo(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        chat_id = self._admit_send(params)
        stored = self._input_file(params, uploads, "photo", folder="photos")
        return self._file_sent(chat_id, "sendPhoto", params, files=[stored])

    async def _edit_message_text(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        sent = self._editable(params)
        if sent.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = _render(params.get("text"), params.get("parse_mode"))
        if not text or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = _checked_markup(params.get("reply_markup"))
        if text == sent.text and _same_markup(markup, sent.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        sent.text, sent.parse_mode = text, params.get("parse_mode")
        # Like Telegram: an edit without reply_markup drops the inline keyboard.
        if markup is not None or _inline(sent.reply_markup):
            sent.reply_markup = markup
        return self._edited(sent)

    async def _edit_message_reply_markup(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        sent = self._editable(params)
        markup = _checked_markup(params.get("reply_markup"))
        if _same_markup(markup, sent.reply_markup):
            raise ApiError(400, NOT_MODIFIED)
        sent.reply_markup = markup
        return self._edited(sent)

    async def _answer_callback_query(self, params: JSON, uploads: dict[str, Upload]) -> bool:
        query_id = params.get("callback_query_id")
        if query_id not in self._open_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callbacks.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    async def _get_file(self, params: JSON, uploads: dict[str, Upload]) -> JSON:
        stored = self._files.get(params.get("file_id") or "")
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise ApiError(400, "Bad Request: file is too big")
        return stored.as_file()

    # -- shared steps ------------------------------------------------------------------------

    def _admit_send(self, params: JSON) -> int:
        """The send checks Telegram makes before anything else: a chat, not blocked, and
        within the flood limits (a 429 carries the wait in parameters.retry_after)."""
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        now = self._clock()
        outage = self._outage_status(now)
        if outage == 429:
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if outage == 500:
            raise ApiError(500, "Internal Server Error")
        if outage == 502:
            raise ApiError(502, "Bad Gateway")
        wait = max(self._per_bot.retry_after("bot", now), self._per_chat.retry_after(chat_id, now))
        if wait:
            self.flood_rejections += 1
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        return chat_id

    def _file_sent(
        self, chat_id: int, method: str, params: JSON, *, text: str | None = None,
        files: list[StoredFile] | None = None,
    ) -> JSON:  # fmt: skip
        caption = _render(params.get("caption"), params.get("parse_mode"))
        if caption and len(caption) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        reply_to = (params.get("reply_parameters") or {}).get("message_id") or params.get(
            "reply_to_message_id"
        )
        known = (chat_id, reply_to) in self._sent or (chat_id, reply_to) in self._incoming
        if reply_to is not None and not known:
            raise ApiError(400, "Bad Request: message to be replied not found")
        markup = _checked_markup(params.get("reply_markup"))
        sent = SentMessage(
            chat_id=chat_id,
            message_id=self.next_message_id(chat_id),
            method=method,
            date=int(time.time()),
            text=text,
            caption=caption,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            files=files or [],
            photo_size=_image_size(files[0].content) if files else (0, 0),
            reply_to_message_id=reply_to,
        )
        now = self._clock()
        self._per_bot.record("bot", now)
        self._per_chat.record(chat_id, now)
        self._sent[(chat_id, sent.message_id)] = sent
        self._by_chat[chat_id].append(sent)
        return self.message_dict(chat_id, sent.message_id)

    def _input_file(
        self, params: JSON, uploads: dict[str, Upload], name: str, *, folder: str
    ) -> StoredFile:
        """The file of a send: an upload (`attach://key` or a part named after the field)
        is stored as a new file; any other string must be a known file_id."""
        value = params.get(name)
        upload = uploads.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = uploads.get(value.removeprefix("attach://"))
        if upload is not None:
            if not upload.content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            mime = mimetypes.guess_type(upload.file_name or "")[0] or upload.content_type
            return self.add_file(
                upload.content, file_name=upload.file_name, mime_type=mime, folder=folder
            )
        if not isinstance(value, str) or not value:
            raise ApiError(400, f"Bad Request: there is no {name} in the request")
        if value.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: failed to get HTTP URL content")
        if value not in self._files:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return self._files[value]

    def _editable(self, params: JSON) -> SentMessage:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: the fake does not support inline message edits")
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message to edit not found")
        if (chat_id, message_id) in self._incoming:
            raise ApiError(400, "Bad Request: message can't be edited")
        sent = self._sent.get((chat_id, message_id))
        if sent is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return sent

    def _edited(self, sent: SentMessage) -> JSON:
        sent.edits += 1
        sent.edit_date = int(time.time())
        return self.message_dict(sent.chat_id, sent.message_id)

    def _confirm(self, offset: int) -> None:
        """getUpdates' offset confirms every update below it; a negative one keeps the last
        -offset updates and forgets the rest."""
        if offset < 0:
            while len(self._queue) > -offset:
                self._queue.popleft()
        while offset > 0 and self._queue and self._queue[0]["update_id"] < offset:
            self._queue.popleft()

    def _chat(self, chat_id: int) -> JSON:
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}


# -- reading requests -------------------------------------------------------------------------


async def _read_request(request: web.Request) -> tuple[JSON, dict[str, Upload]]:
    """Parameters from the query string and the body (JSON, urlencoded or multipart)."""
    params: JSON = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.content_type == "application/json" and request.can_read_body:
        body = await request.json()
        params.update(body if isinstance(body, dict) else {})
    elif request.content_type == "multipart/form-data":
        fields, uploads = await _read_multipart(await request.multipart())
        params.update(fields)
    elif request.can_read_body:
        params.update(await request.post())
    return params, uploads


async def _read_multipart(reader: aiohttp.MultipartReader) -> tuple[JSON, dict[str, Upload]]:
    fields: JSON = {}
    uploads: dict[str, Upload] = {}
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader):
            continue
        name = part.name or ""
        if part.filename is None:
            fields[name] = await part.text()
        else:
            content = bytes(await part.read())
            content_type = part.headers.get(aiohttp.hdrs.CONTENT_TYPE)
            uploads[name] = Upload(name, part.filename, content_type, content)
    return fields, uploads


def _decode(name: str, value: Any) -> Any:
    """A form field as the server understands it: JSON objects, integers, booleans."""
    if not isinstance(value, str):
        return value
    if name in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    if name in INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if name in BOOL_FIELDS:
        return value.lower() == "true"
    return value


def _respond(body: JSON, status: int) -> web.Response:
    return web.json_response(body, status=status)


# -- message content --------------------------------------------------------------------------


class _TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode: a few formatting tags, anything else is an error."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS and self.error is None:
            line, column = self.getpos()
            lines = self.source.splitlines(keepends=True)
            offset = len(("".join(lines[: line - 1]) + lines[line - 1][:column]).encode())
            self.error = f'Unsupported start tag "{tag}" at byte offset {offset}'

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _render(text: Any, parse_mode: Any) -> str | None:
    """Text as Telegram shows it: HTML tags rendered away; other modes are kept as sent."""
    if text is None or str(parse_mode or "").lower() != "html":
        return None if text is None else str(text)
    parser = _TelegramHTML(str(text))
    parser.feed(str(text))
    parser.close()
    if parser.error is not None:
        raise ApiError(400, f"Bad Request: can't parse entities: {parser.error}")
    return "".join(parser.parts)


def _checked_markup(markup: Any) -> JSON | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    checked: JSON = _without_none(markup)
    return checked


def _inline(markup: JSON | None) -> bool:
    return bool(markup and "inline_keyboard" in markup)


def _same_markup(new: JSON | None, old: JSON | None) -> bool:
    """Only an inline keyboard is part of a message's content."""
    return (new if _inline(new) else None) == (old if _inline(old) else None)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def _image_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG or JPEG (0, 0 for anything else)."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return width, height
    index = 2 if content.startswith(b"\xff\xd8") else len(content)
    while index + 9 <= len(content) and content[index] == 0xFF:
        marker, length = content[index + 1], int.from_bytes(content[index + 2 : index + 4])
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", content[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return 0, 0
