"""The file store port and its local implementation. Blobs are content-addressed: named by
their SHA-256 under `<root>/<sha[0:2]>/<sha[2:4]>/<sha>`, so identical uploads are kept once."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from inbox.files.names import safe_name
from inbox.files.sniff import sniff
from inbox.files.types import base_type

logger = logging.getLogger(__name__)

# Big enough that the thread hand-off per chunk costs little, small enough to stay cheap
# in memory with many uploads in flight.
CHUNK_SIZE = 256 * 1024
INCOMING_DIR = ".incoming"  # temp files; on the same file system, so os.replace is atomic

_KEY = re.compile(r"(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{2})/(?P<sha>[0-9a-f]{64})")


class FileStoreError(Exception):
    """Base of the file store's errors."""


class FileTooLarge(FileStoreError):
    """The upload went over the limit; nothing of it was kept."""

    def __init__(self, limit: int, size_so_far: int) -> None:
        self.limit = limit
        self.size_so_far = size_so_far
        super().__init__(f"file larger than {limit} bytes (got {size_so_far} so far)")


class InvalidStorageKey(FileStoreError, ValueError):
    """A key that is not `<sha[0:2]>/<sha[2:4]>/<sha>`: never touches the disk."""


class BlobNotFound(FileStoreError, LookupError):
    """A well-formed key with no blob behind it."""


@dataclass(frozen=True, slots=True)
class StoredBlob:
    storage_key: str  # relative path of the blob, `<sha[0:2]>/<sha[2:4]>/<sha>`
    sha256: str
    size: int
    content_type: str  # sniffed from the bytes
    safe_name: str  # the name to offer for download


def storage_key_for(sha256: str) -> str:
    return f"{sha256[0:2]}/{sha256[2:4]}/{sha256}"


def check_storage_key(key: str) -> str:
    """Return `key` if it has the blob layout, else raise InvalidStorageKey. Only such keys
    reach the file system, so `..`, absolute paths and the temp folder are out of reach."""
    match = _KEY.fullmatch(key)
    if match is None or not match["sha"].startswith(match["a"] + match["b"]):
        raise InvalidStorageKey(f"not a storage key: {key!r}")
    return key


class FileStore(ABC):
    """Where file bytes live. Rows in `files` point at blobs by `storage_key`; a blob may
    be shared by several rows, so whoever deletes one checks the rows first."""

    max_size: int  # bytes; larger uploads raise FileTooLarge

    @abstractmethod
    async def put(
        self,
        data: AsyncIterator[bytes] | bytes,
        *,
        original_name: str,
        declared_type: str | None = None,
    ) -> StoredBlob:
        """Store the bytes. `declared_type` (what the channel or browser said) is only
        logged when it disagrees: the content type is always sniffed."""

    @abstractmethod
    def open(self, storage_key: str) -> AsyncIterator[bytes]:
        """The blob in chunks: `async for chunk in store.open(key)`. The key is checked at
        once; a missing blob raises BlobNotFound on the first iteration."""

    @abstractmethod
    def path(self, storage_key: str) -> Path:
        """The blob's file, for aiohttp's FileResponse (sendfile, ranges)."""

    @abstractmethod
    async def exists(self, storage_key: str) -> bool: ...

    @abstractmethod
    async def delete(self, storage_key: str) -> None:
        """Remove a blob (maintenance only); a missing one is not an error."""


class LocalFileStore(FileStore):
    def __init__(self, root: Path, *, max_size: int) -> None:
        if max_size <= 0:
            raise ValueError(f"max_size must be positive, got {max_size}")
        self.root = root.absolute()
        self.max_size = max_size

    async def put(
        self,
        data: AsyncIterator[bytes] | bytes,
        *,
        original_name: str,
        declared_type: str | None = None,
    ) -> StoredBlob:
        if isinstance(data, bytes) and len(data) > self.max_size:
            raise FileTooLarge(self.max_size, len(data))
        upload = await asyncio.to_thread(_Upload.begin, self.root / INCOMING_DIR)
        try:
            if isinstance(data, bytes):
                await asyncio.to_thread(upload.write, data)
            else:
                await self._receive(data, upload)
            sha256, content_type = await asyncio.to_thread(upload.finish, self.root)
        except BaseException:
            # Also on cancellation, when awaiting a thread is no longer safe: unlinking
            # one file is quick enough to do on the event loop.
            upload.discard()
            raise
        if declared_type and base_type(declared_type) != base_type(content_type):
            logger.debug("declared %s, sniffed %s: %r", declared_type, content_type, original_name)
        return StoredBlob(
            storage_key=storage_key_for(sha256),
            sha256=sha256,
            size=upload.size,
            content_type=content_type,
            safe_name=safe_name(original_name, content_type),
        )

    async def _receive(self, stream: AsyncIterator[bytes], upload: _Upload) -> None:
        # Incoming chunks are often small (8 KiB from aiohttp); collect CHUNK_SIZE before
        # handing a write to a thread.
        buffer = bytearray()
        size = 0
        try:
            async for chunk in stream:
                size += len(chunk)
                if size > self.max_size:
                    raise FileTooLarge(self.max_size, size)
                buffer += chunk
                if len(buffer) >= CHUNK_SIZE:
                    block, buffer = buffer, bytearray()
                    await asyncio.to_thread(upload.write, block)
        except BaseException:
            # Stop the sender's generator now rather than whenever it is collected.
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            raise
        if buffer:
            await asyncio.to_thread(upload.write, buffer)

    def open(self, storage_key: str) -> AsyncIterator[bytes]:
        return self._chunks(self.path(storage_key), storage_key)

    async def _chunks(self, path: Path, storage_key: str) -> AsyncIterator[bytes]:
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise BlobNotFound(storage_key) from None
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK_SIZE):
                yield chunk
        finally:
            # Closed here, not in a thread: a generator abandoned mid-way is finalised
            # where awaiting may be impossible.
            file.close()

    def path(self, storage_key: str) -> Path:
        return self.root / check_storage_key(storage_key)

    async def exists(self, storage_key: str) -> bool:
        return await asyncio.to_thread(self.path(storage_key).is_file)

    async def delete(self, storage_key: str) -> None:
        await asyncio.to_thread(self.path(storage_key).unlink, missing_ok=True)


class _Upload:
    """One temp file being written and hashed; its methods run in worker threads."""

    def __init__(self, path: Path, file: BinaryIO) -> None:
        self.path = path
        self.file = file
        self.hash = hashlib.sha256()
        self.size = 0

    @classmethod
    def begin(cls, incoming: Path) -> _Upload:
        incoming.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix="upload-", dir=incoming)
        return cls(Path(name), os.fdopen(descriptor, "wb"))

    def write(self, block: bytes | bytearray) -> None:
        self.hash.update(block)  # hashlib releases the GIL on large blocks
        self.file.write(block)
        self.size += len(block)

    def finish(self, root: Path) -> tuple[str, str]:
        """Flush to disk, sniff, and move into place; returns (sha256, content type)."""
        self.file.flush()
        os.fsync(self.file.fileno())  # the row that points here may commit right after
        self.file.close()
        with self.path.open("rb") as written:
            content_type = sniff(written)
        sha256 = self.hash.hexdigest()
        target = root / storage_key_for(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            # Identical bytes are already here. Touching the blob tells the maintenance
            # sweep (which removes unreferenced blobs only after a grace period) that a
            # new row is about to point at it.
            self.path.unlink()
            os.utime(target)
        else:
            os.replace(self.path, target)
            _fsync_directory(target.parent)
        return sha256, content_type

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


def _fsync_directory(path: Path) -> None:
    # The rename is durable only once the directory entry is; POSIX-only (Windows cannot
    # open a directory this way, and its renames are journaled anyway).
    if os.name != "posix":
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
