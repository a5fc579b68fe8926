"""Fetching a file a person sent to the bot: getFile, then the download streamed into the
file store, refused early when the declared size is over a limit and cut off when the
bytes go over it (a declared size may be missing or wrong)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from inbox.channel import IncomingFile
from inbox.files import FileStore, FileTooLarge, StoredBlob

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the Bot API serves bots files up to 20 MB
DOWNLOAD_TIMEOUT = 120  # seconds for the whole download: 20 MB over a slow link
_STEMS = {"image": "photo", "video": "video", "audio": "audio"}  # for files without a name


class FileTooLargeForChannel(FileTooLarge):
    """Over the 20 MB a bot may download: our own limit may allow it, Telegram does not.
    The sender can send a link or use another channel."""


async def fetch_file(
    bot: Bot, file: IncomingFile, store: FileStore, *, max_bytes: int
) -> StoredBlob:
    """Download `file` into `store` (bytes only). To file it as an upload with a row, pass
    the stream to `inbox.files.save_file` instead:
    `save_file(session, store, await start_download(bot, file, max_bytes=...),
    original_name=original_name(file), declared_type=file.content_type, ...)`."""
    stream = await start_download(bot, file, max_bytes=max_bytes)
    return await store.put(
        stream, original_name=original_name(file), declared_type=file.content_type
    )


async def start_download(bot: Bot, file: IncomingFile, *, max_bytes: int) -> AsyncIterator[bytes]:
    """Check the sizes Telegram declares and ask for the file's path; return its bytes as a
    stream that raises FileTooLarge (or FileTooLargeForChannel) once over the limit.
    Network errors (aiohttp.ClientError, aiogram's TelegramNetworkError) pass through: the
    file may be fetched again later, its id stays valid."""
    _check_size(file.size, max_bytes)
    try:
        found = await bot.get_file(file.ref)
    except TelegramBadRequest as error:
        if "file is too big" in error.message.lower():
            raise FileTooLargeForChannel(TELEGRAM_DOWNLOAD_LIMIT, file.size or 0) from error
        raise
    _check_size(found.file_size, max_bytes)
    if not found.file_path:  # Telegram gives no path for what it will not serve
        raise FileTooLargeForChannel(TELEGRAM_DOWNLOAD_LIMIT, found.file_size or 0)
    url = bot.session.api.file_url(bot.token, found.file_path)
    stream = bot.session.stream_content(url=url, timeout=DOWNLOAD_TIMEOUT, raise_for_status=True)
    return _capped(stream, max_bytes)


def original_name(file: IncomingFile) -> str:
    """The sender's file name; a photo or a voice note has none, so one is made up (the
    file store adds the extension the content calls for)."""
    if file.name:
        return file.name
    major = (file.content_type or "").split("/", 1)[0]
    return _STEMS.get(major, "file")


def _check_size(size: int | None, max_bytes: int) -> None:
    if size is not None and size > min(max_bytes, TELEGRAM_DOWNLOAD_LIMIT):
        raise _too_large(size, max_bytes)


def _too_large(size: int, max_bytes: int) -> FileTooLarge:
    # Our limit first: when both are exceeded, another channel would not help either.
    if size > max_bytes:
        return FileTooLarge(max_bytes, size)
    return FileTooLargeForChannel(TELEGRAM_DOWNLOAD_LIMIT, size)


async def _capped(stream: AsyncGenerator[bytes, None], max_bytes: int) -> AsyncIterator[bytes]:
    limit = min(max_bytes, TELEGRAM_DOWNLOAD_LIMIT)
    size = 0
    async with aclosing(stream):  # the HTTP response is released even if we stop early
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise _too_large(size, max_bytes)
            yield chunk
