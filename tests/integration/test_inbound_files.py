"""Files people send, on every backend: `InboundFiles` through a channel's `FileSource`, and
the inbound pipeline attaching them to messages (fetched before the transaction, fetched
again inside it when that failed, held messages included), with nothing lost on the way."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import orders
from core.events import LocalPublisher
from core.models import ChannelIdentity, Client, FilePurpose, StoredFile
from core.transitions import Actor
from handlers.engine import Dialogs
from handlers.services import Services
from inbox.channel import (
    Capability,
    ChannelRegistry,
    DeliveryReceipt,
    FileSource,
    Incoming,
    IncomingFile,
    Outgoing,
)
from inbox.files import FileTooLarge, LocalFileStore
from inbox.files.inbound import InboundFiles, Owner
from inbox.models import Conversation, DialogState, Direction, InboundEvent, Message
from inbox.receive import Receiver
from inbox.threading import choice_payload
from tests import builders
from tests.fakes.loopback import LoopbackChannel

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
LIMIT = 4096
_ids = itertools.count(1)


class StubSource:
    """A channel whose files are fetched by reference, like Telegram's, and whose network
    fails on demand."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.failures = 0  # the next this-many downloads fail with a network error
        self.downloads: list[str] = []

    @property
    def name(self) -> str:
        return "stub"

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.FILES})

    async def send(self, message: Outgoing) -> DeliveryReceipt:
        return DeliveryReceipt(external_id="1")

    async def download(self, file: IncomingFile, *, max_bytes: int) -> AsyncIterator[bytes]:
        self.downloads.append(file.ref)
        if self.failures:
            self.failures -= 1
            raise ConnectionResetError("the network blinked")
        if file.size is not None and file.size > max_bytes:  # declared: refused at once
            raise FileTooLarge(max_bytes, file.size)
        return self._chunks(self.files[file.ref])

    async def _chunks(self, data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 1000):
            yield data[start : start + 1000]


@pytest.fixture
def source() -> StubSource:
    return StubSource()


@pytest.fixture
def store(tmp_path: Path) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files", max_size=LIMIT)


@pytest.fixture
def inbound(source: StubSource, store: LocalFileStore) -> InboundFiles:
    return InboundFiles(ChannelRegistry([source, LoopbackChannel()]), store, LIMIT)


@pytest.fixture
def receiver(sessions: async_sessionmaker[AsyncSession], inbound: InboundFiles) -> Receiver:
    return Receiver(sessions, LocalPublisher(), files=inbound)


def pdf_from(source: StubSource, ref: str = "f-1", *, size: int | None = None) -> IncomingFile:
    source.files[ref] = PDF
    return IncomingFile(ref, "Задание.pdf", "application/pdf", len(PDF) if size is None else size)


def incoming(*files: IncomingFile, channel: str = "stub", **kw: object) -> Incoming:
    return Incoming(
        channel=channel,
        sender_id="100",
        chat_id="100",
        message_id=str(next(_ids)),
        text=str(kw.pop("text", "Вот файл")),
        files=files,
        sender_name="Анна",
        **kw,  # type: ignore[arg-type]
    )


async def filed(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Direction, str, int]]:
    """(direction, text, number of files) of every message, oldest first."""
    async with sessions() as session:
        found = await session.scalars(select(Message).order_by(Message.id))
        return [(m.direction, m.text, len(m.files)) for m in found]


async def blob(store: LocalFileStore, row: StoredFile) -> bytes:
    return b"".join([chunk async for chunk in store.open(row.storage_key)])


def test_a_channel_adapter_with_download_is_a_file_source(source: StubSource) -> None:
    assert isinstance(source, FileSource)
    assert not isinstance(LoopbackChannel(), FileSource)


async def test_take_stores_the_bytes_and_files_a_row(
    session: AsyncSession, inbound: InboundFiles, source: StubSource, store: LocalFileStore
) -> None:
    client = await builders.client(session)

    row = await inbound.take(session, "stub", pdf_from(source), owner=Owner(client_id=client.id))

    assert row.id is not None  # flushed
    assert (row.original_name, row.content_type, row.size) == (
        "Задание.pdf",
        "application/pdf",
        len(PDF),
    )
    assert (row.purpose, row.client_id, row.order_id) == (FilePurpose.ATTACHMENT, client.id, None)
    assert await blob(store, row) == PDF


async def test_take_refuses_a_file_over_the_limit_and_keeps_nothing(
    session: AsyncSession, inbound: InboundFiles, source: StubSource, store: LocalFileStore
) -> None:
    source.files["big"] = PDF * 8
    undeclared = IncomingFile("big", "big.pdf", "application/pdf", size=None)

    with pytest.raises(FileTooLarge) as caught:
        await inbound.take(session, "stub", undeclared)

    assert caught.value.limit == LIMIT
    assert await session.scalar(select(StoredFile)) is None
    assert [path for path in store.root.rglob("*") if path.is_file()] == []


async def test_take_from_a_channel_that_cannot_fetch_is_a_lookup_error(
    session: AsyncSession, inbound: InboundFiles
) -> None:
    with pytest.raises(LookupError):
        await inbound.take(session, "loopback", IncomingFile("x"))


async def test_a_message_is_filed_with_its_file(
    receiver: Receiver,
    sessions: async_sessionmaker[AsyncSession],
    source: StubSource,
    store: LocalFileStore,
) -> None:
    await receiver.receive(incoming(pdf_from(source)))

    async with sessions() as session:
        message = await session.scalar(select(Message))
        identity = await session.scalar(select(ChannelIdentity))
    assert message is not None and identity is not None
    (row,) = message.files
    assert await blob(store, row) == PDF
    assert row.client_id == identity.client_id
    assert source.downloads == ["f-1"]  # fetched once, before the transaction


async def test_a_file_whose_early_fetch_failed_is_fetched_inside_the_transaction(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession], source: StubSource
) -> None:
    source.failures = 1

    await receiver.receive(incoming(pdf_from(source)))

    assert await filed(sessions) == [(Direction.IN, "Вот файл", 1)]
    assert source.downloads == ["f-1", "f-1"]


async def test_a_file_that_cannot_be_fetched_fails_the_event_which_is_kept_for_later(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession], source: StubSource
) -> None:
    source.failures = 2  # before the transaction and inside it

    with pytest.raises(ConnectionResetError):
        await receiver.receive(incoming(pdf_from(source)))

    assert await filed(sessions) == []
    async with sessions() as session:
        event = await session.scalar(select(InboundEvent))
    assert event is not None and event.processed_at is None
    assert event.error == "ConnectionResetError: the network blinked"

    assert await receiver.process_pending() == 1  # the network is back
    assert await filed(sessions) == [(Direction.IN, "Вот файл", 1)]
    assert source.downloads == ["f-1"] * 3


async def test_a_file_over_the_limit_is_left_out_with_a_note_for_the_manager(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession], source: StubSource
) -> None:
    big = pdf_from(source, "big", size=3 * 1024 * 1024)
    small = pdf_from(source, "small")

    await receiver.receive(incoming(big, small, text="Два файла"))

    assert await filed(sessions) == [
        (Direction.IN, "Два файла", 1),
        (Direction.SYSTEM, "Файл Задание.pdf не получен: больше 0.00390625 МБ", 0),
    ]


async def test_a_channel_that_cannot_fetch_files_still_files_the_message(
    receiver: Receiver, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await receiver.receive(incoming(IncomingFile("x", None, "image/jpeg"), channel="loopback"))

    assert await filed(sessions) == [
        (Direction.IN, "Вот файл", 0),
        (Direction.SYSTEM, "Файл photo не получен: этот канал не умеет загружать файлы", 0),
    ]


async def test_a_held_message_keeps_its_file_when_the_order_is_chosen(
    sessions: async_sessionmaker[AsyncSession], source: StubSource, inbound: InboundFiles
) -> None:
    # The choice is a flow of the dialog engine, which files what was held (inbox/held.py).
    receiver = Receiver(
        sessions, LocalPublisher(), dialog=Dialogs(Services(files=inbound)), files=inbound
    )
    await receiver.receive(incoming(text="Здравствуйте"))
    async with sessions() as session:
        client_id = await session.scalar(select(ChannelIdentity.client_id))
        assert client_id is not None
        client = await session.get(Client, client_id)
        assert client is not None
        # Introduced (the engine's greeting flow is over): the messages are left to threading.
        client.phone = "+79161234567"
        await session.execute(delete(DialogState))
        paper = await builders.kind(session, "student_paper")
        made = [
            await orders.create_order(
                session, kind=paper, client_id=client_id, actor=Actor.client(client_id)
            )
            for _ in range(2)
        ]
        await session.commit()

    await receiver.receive(incoming(pdf_from(source), text="Методичка"))  # held: which order?
    assert len(await filed(sessions)) == 1
    await receiver.receive(incoming(text="", button=choice_payload(made[0].id)))

    async with sessions() as session:
        message = await session.scalar(select(Message).where(Message.text == "Методичка"))
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None and conversation.order_id == made[0].id
    (row,) = message.files
    assert row.order_id == made[0].id
