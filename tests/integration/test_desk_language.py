"""The installation's language (PULT_LOCALE) is what the bots speak to someone whose own
language is not known, and what the system notes managers read are written in: an `en` desk
built by `bootstrap` answers, names and notes in English, a `ru` desk in Russian. A person
whose messenger says their language (one we have) is answered in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import orders
from core.events import LocalPublisher
from core.i18n import gettext
from core.models import ChannelIdentity, Client
from core.transitions import Actor
from handlers.notices import DEFAULTS
from handlers.registration import GREETING
from inbox.channel import BLOCKED_BY_USER, ChannelRegistry, IncomingFile, PermanentError
from inbox.conversations import order_thread
from inbox.dispatcher import NOT_DELIVERED, Dispatcher, describe_reason
from inbox.files.inbound import NO_SOURCE
from inbox.models import ConversationKind, Direction, Message
from inbox.people import UNKNOWN_NAME
from inbox.replies import reply
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from tests import builders
from tests.chat import Chat, texts
from tests.fakes.loopback import LoopbackChannel


@asynccontextmanager
async def _desk(database_url: str, tmp_path: Path, locale: str) -> AsyncIterator[Container]:
    env = {
        "PULT_DATA_DIR": str(tmp_path / "var"),
        "PULT_DATABASE_URL": database_url,
        "PULT_LOCALE": locale,
    }
    container = await bootstrap(load_settings(env, env_file=None))
    try:
        yield container
    finally:
        await container.close()


@pytest.mark.parametrize("locale", ["en", "ru"])
async def test_notes_and_bot_answers_speak_the_installations_language(
    database_url: str, tmp_path: Path, locale: str
) -> None:
    said: Callable[[str], str] = lambda message: gettext(message, locale)  # noqa: E731
    async with _desk(database_url, tmp_path, locale) as desk:
        # Someone whose messenger gives no language and no name writes first, with a file
        # this installation cannot fetch (no Telegram bot is configured).
        stranger = Chat(desk.sessions, desk.receiver, "700", name="", locale="")
        photo = IncomingFile(ref="AgAD-photo", name="photo.jpg", content_type="image/jpeg")
        answered = await stranger.send("Hello", files=[photo])
        assert texts(answered) == [said(GREETING)]

        async with desk.sessions() as session:
            identity = await session.scalar(
                select(ChannelIdentity).where(ChannelIdentity.external_id == "700")
            )
            assert identity is not None and identity.client_id is not None
            client = await session.get(Client, identity.client_id)
            assert client is not None and client.name == said(UNKNOWN_NAME)
            notes = list(
                await session.scalars(
                    select(Message.text).where(Message.direction == Direction.SYSTEM)
                )
            )
        assert notes == [said(NO_SOURCE).format(name="photo.jpg")]

        # The desk cancels an order of theirs: the notice is in the desk's language.
        async with desk.uow() as uow:
            manager = Actor.staff(await builders.staff(uow.session))
            order = await orders.create_order(
                uow.session, kind=await builders.kind(uow.session, "print_job"),
                client_id=client.id, actor=manager,
            )  # fmt: skip
            await orders.cancel_order(uow.session, order, manager)
            number = order.number
            await uow.commit()
        assert texts(await stranger.replies()) == [
            said(DEFAULTS["cancelled"]).format(number=number)
        ]


async def test_a_delivery_failure_note_is_in_the_installations_language(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    channel = LoopbackChannel()
    async with sessions() as session:
        order, _manager = await builders.paper_order(session)
        session.add(
            ChannelIdentity(
                channel="loopback", external_id="c1", chat_id="c1", client_id=order.client_id
            )
        )
        thread = await order_thread(session, order, ConversationKind.CLIENT)
        await reply(session, thread, "Your order is ready", author_user_id=1)
        await session.commit()
    channel.fail_next(PermanentError(BLOCKED_BY_USER, "Forbidden: bot was blocked by the user"))
    registry = ChannelRegistry([channel])
    await Dispatcher(sessions, LocalPublisher(), registry, locale="en").run_once()
    async with sessions() as session:
        notes = list(
            await session.scalars(select(Message.text).where(Message.direction == Direction.SYSTEM))
        )
    assert notes == [
        gettext(NOT_DELIVERED, "en").format(reason=describe_reason(BLOCKED_BY_USER, "en"))
    ]
    assert notes[0].startswith("Message not delivered")


async def test_a_person_whose_messenger_speaks_english_is_answered_in_english_on_a_russian_desk(
    database_url: str, tmp_path: Path
) -> None:
    async with _desk(database_url, tmp_path, "ru") as desk:
        english = Chat(desk.sessions, desk.receiver, "701", name="John", locale="en-GB")
        russian = Chat(desk.sessions, desk.receiver, "702", name="Ира", locale="uk")
        assert texts(await english.send("Hello")) == [gettext(GREETING, "en")]
        # A language we have no catalogue for falls back to the desk's.
        assert texts(await russian.send("Привет")) == [gettext(GREETING, "ru")]
