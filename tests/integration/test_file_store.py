"""The local file store on a real disk (pytest's tmp_path) and `save_file` on a real
database: streaming round trips, de-duplication, the size limit, sniffing, key checks."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import random
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import FilePurpose, StoredFile
from inbox.files import (
    BlobNotFound,
    FileTooLarge,
    InvalidStorageKey,
    LocalFileStore,
    save_file,
    storage_key_for,
)
from inbox.files.store import CHUNK_SIZE, INCOMING_DIR
from tests import builders

LIMIT = 1024 * 1024
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00"
    b"\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files", max_size=LIMIT)


async def stream(
    data: bytes, sizes: tuple[int, ...] = (1, 7, 8192, 65536, 300_000)
) -> AsyncIterator[bytes]:
    """`data` in uneven chunks, the way a network hands it over."""
    position, turn = 0, 0
    while position < len(data):
        size = sizes[turn % len(sizes)]
        yield data[position : position + size]
        position, turn = position + size, turn + 1


def blobs(store: LocalFileStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file() and INCOMING_DIR not in p.parts)


def leftovers(store: LocalFileStore) -> list[Path]:
    incoming = store.root / INCOMING_DIR
    return list(incoming.iterdir()) if incoming.exists() else []


async def test_streamed_upload_reads_back_in_chunks(store: LocalFileStore) -> None:
    data = random.Random(1042).randbytes(3 * CHUNK_SIZE + 12345)

    blob = await store.put(stream(data), original_name="архив.bin")

    sha = hashlib.sha256(data).hexdigest()
    assert (blob.sha256, blob.size, blob.storage_key) == (
        sha,
        len(data),
        f"{sha[:2]}/{sha[2:4]}/{sha}",
    )
    assert blob.content_type == "application/octet-stream"
    assert blob.safe_name == "архив.bin"
    chunks = [chunk async for chunk in store.open(blob.storage_key)]
    assert len(chunks) == 4
    assert b"".join(chunks) == data
    assert store.path(blob.storage_key).read_bytes() == data
    assert await store.exists(blob.storage_key)
    assert leftovers(store) == []


async def test_identical_content_is_stored_once(store: LocalFileStore) -> None:
    first = await store.put(PDF, original_name="Договор.pdf")
    second = await store.put(stream(PDF), original_name="скан договора")

    assert first.storage_key == second.storage_key
    assert (first.safe_name, second.safe_name) == ("Договор.pdf", "скан договора.pdf")
    assert blobs(store) == [store.path(first.storage_key)]
    assert leftovers(store) == []


async def test_concurrent_uploads_of_one_file_leave_one_blob(store: LocalFileStore) -> None:
    results = await asyncio.gather(
        *(store.put(stream(PDF), original_name="a.pdf") for _ in range(8))
    )

    assert {blob.storage_key for blob in results} == {
        storage_key_for(hashlib.sha256(PDF).hexdigest())
    }
    assert len(blobs(store)) == 1
    assert leftovers(store) == []


async def test_storing_existing_content_again_refreshes_the_blob_for_the_sweep(
    store: LocalFileStore,
) -> None:
    blob = await store.put(PDF, original_name="a.pdf")
    path = store.path(blob.storage_key)
    os.utime(path, (1_000_000_000, 1_000_000_000))  # 2001: long past any grace period

    await store.put(PDF, original_name="b.pdf")

    assert path.stat().st_mtime > 1_000_000_000


async def test_size_limit_stops_a_streamed_upload_early(store: LocalFileStore) -> None:
    pulled = 0
    closed = False

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled, closed
        try:
            while True:
                pulled += 1
                yield b"x" * 65536
        finally:
            closed = True

    with pytest.raises(FileTooLarge) as error:
        await store.put(endless(), original_name="huge.bin")

    assert (error.value.limit, error.value.size_so_far) == (LIMIT, 17 * 65536)
    assert pulled == 17
    assert closed
    assert blobs(store) == []
    assert leftovers(store) == []


async def test_size_limit_refuses_bytes_before_writing_anything(store: LocalFileStore) -> None:
    with pytest.raises(FileTooLarge) as error:
        await store.put(b"x" * (LIMIT + 1), original_name="huge.bin")

    assert (error.value.limit, error.value.size_so_far) == (LIMIT, LIMIT + 1)
    assert not store.root.exists()


async def test_a_file_exactly_at_the_limit_is_accepted(store: LocalFileStore) -> None:
    blob = await store.put(stream(b"x" * LIMIT), original_name="edge.txt")
    assert blob.size == LIMIT


async def test_a_failing_sender_leaves_no_temp_file(store: LocalFileStore) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * (CHUNK_SIZE + 1)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put(broken(), original_name="a.bin")

    assert (store.root / INCOMING_DIR).exists()  # the temp file was made, then removed
    assert leftovers(store) == []
    assert blobs(store) == []


async def test_sniffing_ignores_the_declared_type_and_the_name(store: LocalFileStore) -> None:
    blob = await store.put(PNG, original_name="scan.pdf", declared_type="application/pdf")

    assert blob.content_type == "image/png"
    assert blob.safe_name == "scan.png"


async def test_office_documents_are_sniffed_from_the_whole_stored_file(
    store: LocalFileStore,
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        # Incompressible filler pushes the central directory past the sniffed head.
        archive.writestr("xl/media/image1.bin", random.Random(7).randbytes(200_000))
        archive.writestr("xl/workbook.xml", "<workbook/>")

    blob = await store.put(stream(buffer.getvalue()), original_name="Смета")

    assert blob.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert blob.safe_name == "Смета.xlsx"


BAD_KEYS = [
    "../../etc/passwd",
    "/etc/passwd",
    "ab/cd/../../../../etc/passwd",
    f"{INCOMING_DIR}/upload-1",
    "",
    "ab/cd/" + "ab" * 32,  # prefix does not match the hash
    storage_key_for("AB" * 32),  # upper case: not how keys are written
    storage_key_for("ab" * 32) + "/",
    storage_key_for("ab" * 32).replace("/", "\\"),
    "/" + storage_key_for("ab" * 32),
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_keys_outside_the_blob_layout_are_refused(store: LocalFileStore, key: str) -> None:
    with pytest.raises(InvalidStorageKey):
        store.path(key)
    with pytest.raises(InvalidStorageKey):
        store.open(key)  # refused at the call, before any iteration
    with pytest.raises(InvalidStorageKey):
        await store.exists(key)
    with pytest.raises(InvalidStorageKey):
        await store.delete(key)


async def test_missing_blob_and_delete(store: LocalFileStore) -> None:
    blob = await store.put(PDF, original_name="a.pdf")
    await store.delete(blob.storage_key)
    await store.delete(blob.storage_key)  # already gone: not an error

    assert not await store.exists(blob.storage_key)
    with pytest.raises(BlobNotFound):
        async for _ in store.open(blob.storage_key):
            pass


def test_the_limit_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_size"):
        LocalFileStore(tmp_path, max_size=0)


# --- save_file on SQLite and PostgreSQL ---------------------------------------------------


async def test_save_file_writes_a_row_per_upload(
    session: AsyncSession, store: LocalFileStore
) -> None:
    order, _ = await builders.paper_order(session)
    author = await builders.executor(session)
    manager = await builders.staff(session)

    material = await save_file(
        session,
        store,
        stream(PDF),
        original_name="Методичка.pdf",
        purpose=FilePurpose.MATERIAL,
        order_id=order.id,
        client_id=order.client_id,
        declared_type="application/x-whatever",
    )
    result = await save_file(
        session,
        store,
        PDF,
        original_name="result.doc",
        purpose=FilePurpose.RESULT,
        order_id=order.id,
        executor_id=author.id,
        uploaded_by=manager.id,
    )
    await session.commit()

    rows = (await session.scalars(select(StoredFile).order_by(StoredFile.id))).all()
    sha = hashlib.sha256(PDF).hexdigest()
    assert [
        (r.original_name, r.purpose, r.order_id, r.client_id, r.executor_id, r.uploaded_by)
        for r in rows
    ] == [
        ("Методичка.pdf", FilePurpose.MATERIAL, order.id, order.client_id, None, None),
        ("result.doc", FilePurpose.RESULT, order.id, None, author.id, manager.id),
    ]
    assert {(r.storage_key, r.sha256, r.size, r.content_type) for r in rows} == {
        (storage_key_for(sha), sha, len(PDF), "application/pdf")
    }
    assert [r.id for r in rows] == [material.id, result.id]
    assert rows[0].created_at is not None
    assert len(blobs(store)) == 1


async def test_save_file_keeps_names_the_database_cannot_hold_as_close_as_it_can(
    session: AsyncSession, store: LocalFileStore
) -> None:
    long_name = "Отчёт" * 60 + ".pdf"
    nul = await save_file(
        session, store, PDF, original_name="bad\x00name.pdf", purpose=FilePurpose.ATTACHMENT
    )
    long = await save_file(
        session, store, PDF, original_name=long_name, purpose=FilePurpose.ATTACHMENT
    )
    broken = await save_file(
        session, store, PDF, original_name="scan\udcff.pdf", purpose=FilePurpose.ATTACHMENT
    )
    await session.commit()

    names = (await session.scalars(select(StoredFile.original_name).order_by(StoredFile.id))).all()
    assert names == ["badname.pdf", long_name[:255], "scan?.pdf"]
    assert [nul.id, long.id, broken.id] == sorted({nul.id, long.id, broken.id})


async def test_save_file_stores_nothing_in_the_table_when_the_file_is_too_large(
    session: AsyncSession, store: LocalFileStore
) -> None:
    with pytest.raises(FileTooLarge):
        await save_file(
            session,
            store,
            stream(b"x" * (LIMIT + 1)),
            original_name="big",
            purpose=FilePurpose.MATERIAL,
        )
    assert (await session.scalars(select(StoredFile))).all() == []
