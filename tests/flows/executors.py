"""What the executor and driver flow tests share: a channel whose files are fetched by
reference (as Telegram's are), the real file intake over a local file store, and an
executor who already talks to the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.events import LocalPublisher
from core.models import ChannelIdentity, Executor, ExecutorStatus, Skill
from handlers.engine import Dialogs
from handlers.services import Services
from inbox.channel import (
    Capability,
    ChannelRegistry,
    DeliveryReceipt,
    IncomingFile,
    Outgoing,
)
from inbox.files import LocalFileStore
from inbox.files.inbound import InboundFiles
from inbox.receive import Receiver
from tests.chat import Chat

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 2 + b"\xff\xd9"


class FetchedByReference:
    """The "telegram" channel as the file intake sees it: bytes by file reference."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    @property
    def name(self) -> str:
        return "telegram"

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.FILES, Capability.BUTTONS, Capability.EDIT})

    async def send(self, message: Outgoing) -> DeliveryReceipt:
        return DeliveryReceipt(external_id="1")

    async def download(self, file: IncomingFile, *, max_bytes: int) -> AsyncIterator[bytes]:
        return self._chunks(self.files[file.ref])

    async def _chunks(self, data: bytes) -> AsyncIterator[bytes]:
        yield data

    def upload(self, ref: str, name: str, content_type: str, data: bytes) -> IncomingFile:
        """A file the person sends: its bytes wait at the channel under `ref`."""
        self.files[ref] = data
        return IncomingFile(ref=ref, name=name, content_type=content_type, size=len(data))


def receiver_with_files(
    sessions: async_sessionmaker[AsyncSession], source: FetchedByReference, root: Path
) -> Receiver:
    """The real pipeline and dialog engine, taking files into a store under `root`."""
    store = LocalFileStore(root, max_size=1024 * 1024)
    intake = InboundFiles(ChannelRegistry([source]), store, 1024 * 1024)
    return Receiver(sessions, LocalPublisher(), dialog=Dialogs(Services(files=intake)))


async def add_skills(sessions: async_sessionmaker[AsyncSession], *names: str) -> None:
    async with sessions() as session:
        session.add_all([Skill(name=name) for name in names])
        await session.commit()


async def executor_chat(
    sessions: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    sender: str,
    name: str,
    *,
    skills: Sequence[str] = (),
    status: ExecutorStatus = ExecutorStatus.ACTIVE,
    capacity: int = 3,
    parent_id: int | None = None,
) -> tuple[Chat, int]:
    """An executor (already approved) with a Telegram chat, and that chat."""
    async with sessions() as session:
        found = list(await session.scalars(select(Skill).where(Skill.name.in_(skills))))
        executor = Executor(
            name=name, status=status, capacity=capacity, parent_id=parent_id, skills=found
        )
        session.add(executor)
        await session.flush()
        session.add(
            ChannelIdentity(
                channel="telegram", external_id=sender, chat_id=sender, locale="ru",
                executor_id=executor.id,
            )
        )  # fmt: skip
        await session.commit()
        executor_id = executor.id
    return Chat(sessions, receiver, sender, name=name), executor_id
