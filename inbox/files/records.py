"""Filing an upload: the bytes go to the file store, a `StoredFile` row records who sent
what, for which order and why."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import FilePurpose, StoredFile
from inbox.files.store import FileStore

NAME_COLUMN_LENGTH = 255


async def save_file(
    session: AsyncSession,
    store: FileStore,
    data: AsyncIterator[bytes] | bytes,
    *,
    original_name: str,
    purpose: FilePurpose,
    order_id: int | None = None,
    client_id: int | None = None,
    executor_id: int | None = None,
    uploaded_by: int | None = None,
    declared_type: str | None = None,
) -> StoredFile:
    """Store the bytes and add one row for this upload (flushed, not committed).

    Every upload gets its own row, even when its bytes are already stored: the same
    price list sent for two orders is two rows sharing one blob. The bytes are written
    first, so a rolled-back transaction leaves at worst an unreferenced blob, which the
    maintenance sweep removes; never a row without bytes."""
    blob = await store.put(data, original_name=original_name, declared_type=declared_type)
    row = StoredFile(
        storage_key=blob.storage_key,
        original_name=storable_name(original_name),
        content_type=blob.content_type,
        size=blob.size,
        sha256=blob.sha256,
        purpose=purpose,
        order_id=order_id,
        client_id=client_id,
        executor_id=executor_id,
        uploaded_by=uploaded_by,
    )
    session.add(row)
    await session.flush()
    return row


def storable_name(original_name: str) -> str:
    """The sender's name as sent, but fit for the column: PostgreSQL text cannot hold NUL,
    lone surrogates (from undecodable e-mail headers) cannot be encoded, and the column
    holds 255 characters."""
    name = original_name.replace("\x00", "")
    name = name.encode("utf-8", "replace").decode("utf-8")
    return name[:NAME_COLUMN_LENGTH]
