"""What people (or forged clients) send the bot that it cannot use (issue 11, item 19):
buttons whose callback data names ids beyond the database's integer range, and text with
U+0000, which PostgreSQL cannot store. Each gets a polite answer or is kept without the bad
part; none raises (a raise answers the webhook 500 and Telegram sends the update again)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbox.channel import IncomingFile, SharedContact
from inbox.models import InboundEvent, Message
from inbox.receive import Receiver
from tests.chat import Chat, texts

NO_LONGER_ACTIVE = "Эта кнопка уже не действует. Вот меню."


@pytest.fixture
async def chat(sessions: async_sessionmaker[AsyncSession], receiver: Receiver) -> Chat:
    chat = Chat(sessions, receiver)
    await chat.send("/start")
    await chat.send("Анна Петрова")
    await chat.send(contact=SharedContact("+7 916 123-45-67", "Анна", own=True))
    return chat


@pytest.mark.parametrize(
    "payload",
    [
        "ord:view:3000000000",  # beyond PostgreSQL's INTEGER
        "ord:view:99999999999999999999999",  # beyond 64 bits
        "job:view:18446744073709551616",
        "trip:accept:9" + "9" * 40,
        "thread:order:99999999999999999999",
        "ord:view:" + "7" * 5000,  # beyond what int() parses at all
        "ord:view:²",  # a digit to str.isdigit(), not to int()
    ],
)
async def test_a_button_with_an_id_beyond_the_database_range_is_answered_politely(
    chat: Chat, sessions: async_sessionmaker[AsyncSession], payload: str
) -> None:
    said = await chat.send(button=payload)
    assert texts(said)[0] == NO_LONGER_ACTIVE
    async with sessions() as session:
        event = await session.scalar(select(InboundEvent).order_by(InboundEvent.id.desc()))
    assert event is not None and event.processed_at is not None and event.error is None


async def test_a_telegram_text_with_nul_is_stored_without_it(
    chat: Chat, sessions: async_sessionmaker[AsyncSession]
) -> None:
    chat.name = "Ан\x00на"
    await chat.send(
        "Здравствуйте,\x00 нужна курсовая\x00",
        files=[IncomingFile("f\x00-1", "Задание\x00.pdf", "application/pdf", 10)],
    )
    async with sessions() as session:
        stored = list(await session.scalars(select(Message.text).where(Message.direction == "in")))
        event = await session.scalar(select(InboundEvent).order_by(InboundEvent.id.desc()))
    assert stored == ["Здравствуйте, нужна курсовая"]
    assert event is not None and event.error is None and "\x00" not in str(event.payload)
