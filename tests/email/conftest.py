"""The e-mail channel's test scene: real Dovecot and aiosmtpd (tests/mailservers.py), an
installation built by `bootstrap` from settings pointing at them, and order 1042 with the
people of the corpus (tests/fixtures/email/) as its client and executor."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aioimaplib import aioimaplib
from sqlalchemy import select

from core.db import utcnow
from core.models import ChannelIdentity
from inbox.conversations import order_thread
from inbox.models import ConversationKind, ThreadRef
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from tests import builders
from tests.mailservers import (
    IMAP_PASSWORD,
    IMAP_USER,
    SMTP_PASSWORD,
    SMTP_USER,
    Dovecot,
    SmtpServer,
    dovecot_available,
)

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email"
DESK = "orders@desk.example"
SECRET = "corpus-secret"  # the tags in the corpus are signed with it
ORDER_NUMBER = 1042
OUR_ID = "pult.5f1c9a7e3b2d4c6e8a0b1c2d@desk.example"  # a mail we sent the client
OUR_EXECUTOR_ID = "pult.77aa00bb11cc22dd33ee44ff@desk.example"  # ... and the executor
CLIENT_ADDRESSES = (
    "anna.smirnova@gmail.com",
    "b.kuznetsov@outlook.com",
    "olga.petrova@yandex.ru",
    "ivan.sidorov@mail.ru",
    "kate.orlova@icloud.com",
    # Addresses the corpus's bounces report dead.
    "no.such.user.42@gmail.com",
    "old.manager@corp.example.com",
    "deleted.box@mail.ru",
)
EXECUTOR_ADDRESS = "sergey.author@yandex.ru"


def corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.eml"))


def raw_of(path: Path) -> bytes:
    return path.read_bytes()


def expectation(path: Path) -> str:
    for line in path.read_bytes().split(b"\r\n"):
        if line.startswith(b"X-Test-Expect:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError(f"{path.name} has no X-Test-Expect header")


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if not dovecot_available():
        pytest.skip("install Debian's dovecot-imapd (apt-get install dovecot-imapd)")
    server = Dovecot()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def email_env(
    database_url: str,
    tmp_path: Path,
    dovecot: Dovecot | None,
    smtp: SmtpServer | None,
    **more: str,
) -> dict[str, str]:
    """Settings of an installation whose desk mailbox is on `dovecot` and `smtp` (None:
    no server there, for tests that hand mail to the intake directly)."""
    return {
        "PULT_DATA_DIR": str(tmp_path / "var"),
        "PULT_DATABASE_URL": database_url,
        "PULT_MAX_FILE_MB": "1",
        "PULT_EMAIL_ADDRESS": DESK,
        "PULT_EMAIL_NAME": "Пульт",
        "PULT_EMAIL_IMAP_HOST": "127.0.0.1",
        "PULT_EMAIL_IMAP_PORT": str(dovecot.port if dovecot else 9),
        "PULT_EMAIL_IMAP_SSL": "false",
        "PULT_EMAIL_IMAP_USER": IMAP_USER,
        "PULT_EMAIL_IMAP_PASSWORD": IMAP_PASSWORD,
        "PULT_EMAIL_SMTP_HOST": "127.0.0.1",
        "PULT_EMAIL_SMTP_PORT": str(smtp.port if smtp else 9),
        "PULT_EMAIL_SMTP_SECURITY": "none",
        "PULT_EMAIL_SMTP_USER": SMTP_USER,
        "PULT_EMAIL_SMTP_PASSWORD": SMTP_PASSWORD,
        "PULT_EMAIL_SECRET": SECRET,
        **more,
    }


@pytest.fixture
async def container(
    database_url: str, tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> AsyncIterator[Container]:
    container = await bootstrap(
        load_settings(email_env(database_url, tmp_path, dovecot, smtp), None)
    )
    yield container
    await container.close()


@pytest.fixture
async def desk(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    """An installation with e-mail on, for tests that hand mail to the intake directly."""
    container = await bootstrap(load_settings(email_env(database_url, tmp_path, None, None), None))
    yield container
    await container.close()


@dataclass(frozen=True, slots=True)
class Scene:
    order_id: int
    client_id: int
    executor_id: int
    client_thread: int
    executor_thread: int


async def order_1042(container: Container) -> Scene:
    """Order 1042 with the corpus's clients (one client, several addresses) and executor,
    and the two mails we sent them earlier (thread references)."""
    async with container.uow() as uow:
        session = uow.session
        order, _ = await builders.paper_order(session)
        executor = await builders.executor(session, "Сергей")
        order.number, order.executor_id = ORDER_NUMBER, executor.id
        for address in CLIENT_ADDRESSES[1:]:
            session.add(_identity(address, client_id=order.client_id))
        # Anna wrote last: a manager's reply goes to her address.
        anna = _identity(CLIENT_ADDRESSES[0], client_id=order.client_id)
        anna.last_seen_at = utcnow()
        session.add(anna)
        session.add(_identity(EXECUTOR_ADDRESS, executor_id=executor.id))
        await session.flush()
        client_thread = await order_thread(session, order, ConversationKind.CLIENT)
        executor_thread = await order_thread(session, order, ConversationKind.EXECUTOR)
        for external_id, chat_id, thread in (
            (OUR_ID, CLIENT_ADDRESSES[0], client_thread),
            (OUR_EXECUTOR_ID, EXECUTOR_ADDRESS, executor_thread),
        ):
            session.add(
                ThreadRef(
                    channel="email", chat_id=chat_id, external_id=external_id,
                    conversation_id=thread.id, order_id=order.id,
                )
            )  # fmt: skip
        scene = Scene(order.id, order.client_id, executor.id, client_thread.id, executor_thread.id)
        await uow.commit()
    return scene


def _identity(address: str, **owner: int) -> ChannelIdentity:
    return ChannelIdentity(
        channel="email", external_id=address, chat_id=address, email=address, **owner
    )


async def identity(container: Container, address: str) -> ChannelIdentity | None:
    async with container.sessions() as session:
        found: ChannelIdentity | None = await session.scalar(
            select(ChannelIdentity).where(
                ChannelIdentity.channel == "email", ChannelIdentity.external_id == address
            )
        )
        return found


async def append(dovecot: Dovecot, *mails: bytes, folder: str = "INBOX") -> None:
    """Deliver mail the way a mail server does: straight into the mailbox (IMAP APPEND)."""
    client = aioimaplib.IMAP4("127.0.0.1", dovecot.port, timeout=10)
    await client.wait_hello_from_server()
    await client.login(dovecot.user, dovecot.password)
    for mail in mails:
        response = await client.append(mail, mailbox=folder)
        assert response.result == "OK", response
    await client.logout()


async def run_listener(container: Container) -> tuple[asyncio.Task[None], asyncio.Event]:
    assert container.email is not None
    stop = asyncio.Event()
    task = asyncio.create_task(container.email.listen(stop))
    await asyncio.wait_for(container.email.listener.connected.wait(), 10)
    return task, stop
