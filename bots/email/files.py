"""Attachments and inline images of a fetched mail. The whole mail is already here, so
their bytes go into the content-addressed file store at once and the `IncomingFile` refers
to the blob by its key; the channel's `download` (its `FileSource`) reads the blob back
when the inbound pipeline files it. A part over the size limit is not kept: its reference
says so, and the pipeline leaves a note for the manager."""

from __future__ import annotations

from collections.abc import AsyncIterator

from bots.email.parse import Attachment
from inbox.channel import IncomingFile
from inbox.files import FileStore, FileTooLarge

TOO_LARGE = "too-large:"
MAX_PARTS = 50  # attachments taken from one mail; the rest are left in the original


async def store_attachments(
    store: FileStore, attachments: tuple[Attachment, ...], max_bytes: int
) -> tuple[IncomingFile, ...]:
    files = []
    for index, part in enumerate(attachments[:MAX_PARTS]):
        name = part.name or _made_up_name(part, index)
        size = len(part.data)
        if size > max_bytes:
            files.append(IncomingFile(f"{TOO_LARGE}{size}:{index}", name, part.content_type, size))
            continue
        blob = await store.put(part.data, original_name=name, declared_type=part.content_type)
        files.append(IncomingFile(blob.storage_key, name, part.content_type, size))
    return tuple(files)


async def read_stored(
    store: FileStore, file: IncomingFile, *, max_bytes: int
) -> AsyncIterator[bytes]:
    """The stream `FileSource.download` returns for a stored attachment."""
    if file.ref.startswith(TOO_LARGE):
        raise FileTooLarge(max_bytes, int(file.ref.split(":")[1]))
    if file.size is not None and file.size > max_bytes:
        raise FileTooLarge(max_bytes, file.size)
    return store.open(file.ref)


def _made_up_name(part: Attachment, index: int) -> str:
    stem = "image" if part.content_type.startswith("image/") else "attachment"
    return f"{stem}-{index + 1}"
