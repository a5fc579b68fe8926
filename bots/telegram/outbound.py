"""The Telegram channel's outbound half: renders an `Outgoing`, reads its files from the file
store, makes the Bot API calls, and turns Telegram's errors into the retryable / permanent
errors the outbox dispatcher acts on. It is also the channel's `FileSource`: the bytes of
what people send are fetched through the same bot."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, SendPhoto, TelegramMethod
from aiogram.types import Message

from bots.telegram.files import start_download
from bots.telegram.inbound import CHANNEL
from bots.telegram.render import Attachment, as_document, render
from inbox.channel import (
    BAD_ADDRESS,
    BLOCKED_BY_USER,
    FILE_TOO_LARGE,
    MESSAGE_TOO_LONG,
    Capability,
    DeliveryError,
    DeliveryReceipt,
    IncomingFile,
    Outgoing,
    OutgoingFile,
    PermanentError,
    RetryableError,
)
from inbox.files import FileStore, FileStoreError

log = logging.getLogger(__name__)

UPLOAD_LIMIT = 50 * 1024 * 1024  # the Bot API takes files up to 50 MB from a bot
MESSAGE_GONE = "message_gone"  # the message to edit was deleted or is too old to edit
FILE_MISSING = "file_missing"
NOT_MODIFIED = "message is not modified"
_PHOTO_REFUSED = ("photo_invalid_dimensions", "image_process_failed", "photo_save_file_invalid")
# Substrings of a 400's description, checked in order.
_BAD_REQUESTS = (
    ("chat not found", BAD_ADDRESS),
    ("user not found", BAD_ADDRESS),
    ("peer_id_invalid", BAD_ADDRESS),
    ("message is too long", MESSAGE_TOO_LONG),
    ("message to edit not found", MESSAGE_GONE),
    ("message can't be edited", MESSAGE_GONE),
    ("file is too big", FILE_TOO_LARGE),
)

CAPABILITIES = frozenset(
    {
        Capability.BUTTONS,
        Capability.URL_BUTTONS,
        Capability.REQUEST_CONTACT,
        Capability.REQUEST_LOCATION,
        Capability.FILES,
        Capability.HTML,
        Capability.EDIT,
    }
)


class TelegramChannel:
    """Sends through one bot. A message split into several Telegram messages is sent in
    order; if a later part fails, the dispatcher's retry sends the earlier parts again
    (at least once, as for every channel)."""

    def __init__(self, bot: Bot, files: FileStore) -> None:
        self._bot = bot
        self._files = files

    @property
    def name(self) -> str:
        return CHANNEL

    @property
    def capabilities(self) -> frozenset[Capability]:
        return CAPABILITIES

    async def send(self, message: Outgoing) -> DeliveryReceipt:
        attachments = [await self._load(file) for file in message.files]
        rendered = render(message, attachments)
        ids = [await self._call(call) for call in rendered.calls]
        return DeliveryReceipt(external_id=ids[rendered.receipt_index])

    async def download(self, file: IncomingFile, *, max_bytes: int) -> AsyncIterator[bytes]:
        """`FileSource`: what a person sent, by its file id (see `files.start_download`)."""
        return await start_download(self._bot, file, max_bytes=max_bytes)

    async def _call(self, call: TelegramMethod[Any]) -> str:
        """Make one call; the id of the message it sent or edited."""
        try:
            result = await self._bot(call)
        except TelegramBadRequest as error:
            text = error.message.lower()
            if isinstance(call, EditMessageText | EditMessageReplyMarkup) and NOT_MODIFIED in text:
                return str(call.message_id)  # already as asked: a retried edit, a repeat
            if isinstance(call, SendPhoto) and any(word in text for word in _PHOTO_REFUSED):
                log.info("telegram refused a photo (%s); sending it as a document", error.message)
                return await self._call(as_document(call))
            raise classify(error) from error
        except (TelegramAPIError, ClientDecodeError, TimeoutError, aiohttp.ClientError) as error:
            raise classify(error) from error
        if isinstance(result, Message):
            return str(result.message_id)
        return str(getattr(call, "message_id", ""))  # an edit answered True

    async def _load(self, file: OutgoingFile) -> Attachment:
        """The file's bytes, refusing more than Telegram would take before sending any."""
        chunks: list[bytes] = []
        size = 0
        stream = self._files.open(file.storage_key)
        try:
            async for chunk in stream:
                size += len(chunk)
                if size > UPLOAD_LIMIT:
                    raise PermanentError(FILE_TOO_LARGE, f"{file.name}: over {UPLOAD_LIMIT} bytes")
                chunks.append(chunk)
        except FileStoreError as error:  # a missing blob or a bad key: it will not appear
            raise PermanentError(FILE_MISSING, f"{file.name}: {error}") from error
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        return Attachment(file, b"".join(chunks))


def classify(error: BaseException) -> DeliveryError:
    """What a failed call means for the message: try again later, or give up."""
    if isinstance(error, TelegramRetryAfter):
        return RetryableError("rate_limited", error.message, retry_after=error.retry_after)
    if isinstance(error, TelegramForbiddenError):
        # Blocked, deactivated, kicked from the group: this chat will not take messages.
        return PermanentError(BLOCKED_BY_USER, error.message)
    if isinstance(error, TelegramEntityTooLarge):  # before TelegramNetworkError, its base
        return PermanentError(FILE_TOO_LARGE, error.message)
    if isinstance(error, TelegramBadRequest):
        return _bad_request(error.message)
    if isinstance(error, TelegramNotFound | TelegramMigrateToChat):
        return PermanentError(BAD_ADDRESS, error.message)
    if isinstance(error, TelegramServerError | ClientDecodeError):
        return RetryableError("server", str(error))
    if isinstance(error, TelegramNetworkError | TimeoutError | aiohttp.ClientError):
        return RetryableError("network", str(error) or type(error).__name__)
    if isinstance(error, TelegramUnauthorizedError):
        # A revoked token is the operator's to fix; the person is reachable all the same.
        log.error("telegram refused the bot token: %s", error.message)
        return RetryableError("unauthorized", error.message)
    return RetryableError("telegram", str(error) or type(error).__name__)


def _bad_request(description: str) -> PermanentError:
    text = description.lower()
    for fragment, reason in _BAD_REQUESTS:
        if fragment in text:
            return PermanentError(reason, description)
    return PermanentError("bad_request", description)
