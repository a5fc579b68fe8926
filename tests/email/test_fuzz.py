"""Hypothesis over mutated corpus mails (bytes flipped, cut short, headers dropped or
doubled, charsets renamed): the parser never crashes, and through the real pipeline every
mail either threads into an order or becomes a lead (machine mail: a system note there);
nothing is left unprocessed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bots.email.addresses import ReplyAddresses
from bots.email.config import DEFAULT_TAG_PATTERN
from bots.email.inbound import is_ours, to_incoming
from bots.email.parse import parse_mail
from inbox.models import Conversation, ConversationKind, InboundEvent, Message
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from tests.email.conftest import DESK, SECRET, corpus, email_env, order_1042

MAILS = [path.read_bytes() for path in corpus()]
CHARSETS = [b"utf-8", b"koi8-r", b"windows-1251", b"x-unknown", b"", b"utf-16", b"us-ascii"]
ADDRESSES = ReplyAddresses(DESK, DEFAULT_TAG_PATTERN, SECRET.encode())


@st.composite
def mutated_mails(draw: st.DrawFn) -> bytes:
    raw = draw(st.sampled_from(MAILS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "drop_line", "double_line", "charset", "junk"]))
        lines = raw.split(b"\r\n")
        if kind == "flip" and raw:
            at = draw(st.integers(0, len(raw) - 1))
            raw = raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
        elif kind == "cut":
            raw = raw[: draw(st.integers(0, len(raw)))]
        elif kind == "drop_line" and lines:
            del lines[draw(st.integers(0, len(lines) - 1))]
            raw = b"\r\n".join(lines)
        elif kind == "double_line" and lines:
            at = draw(st.integers(0, len(lines) - 1))
            raw = b"\r\n".join([*lines[: at + 1], lines[at], *lines[at + 1 :]])
        elif kind == "charset":
            for name in (b"utf-8", b"UTF-8", b"windows-1251", b"koi8-r"):
                raw = raw.replace(name, draw(st.sampled_from(CHARSETS)))
        elif kind == "junk":
            at = draw(st.integers(0, len(raw)))
            raw = raw[:at] + draw(st.binary(max_size=40)) + raw[at:]
    return raw


@settings(max_examples=400, deadline=None)
@given(mutated_mails())
def test_the_parser_never_crashes(raw: bytes) -> None:
    mail = parse_mail(raw)
    incoming = to_incoming(mail, ADDRESSES)
    assert incoming.message_id and incoming.sender_id
    assert isinstance(incoming.text, str)


def test_every_mutated_mail_threads_or_becomes_a_lead(database_url: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    env = email_env(database_url, tmp_path, None, None)
    container = loop.run_until_complete(bootstrap(load_settings(env, None)))
    loop.run_until_complete(order_1042(container))

    @settings(
        max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(mutated_mails())
    def check(raw: bytes) -> None:
        loop.run_until_complete(_threads_or_leads(container, raw))

    try:
        check()
    finally:
        loop.run_until_complete(container.close())
        loop.close()


async def _threads_or_leads(container: Container, raw: bytes) -> None:
    assert container.email is not None
    incoming = await container.email.intake.take(raw)
    if incoming is None:
        assert is_ours(parse_mail(raw), ADDRESSES)
        return
    async with container.sessions() as session:
        event = await session.scalar(
            select(InboundEvent).where(
                InboundEvent.channel == "email", InboundEvent.external_id == incoming.message_id
            )
        )
        assert event is not None and event.processed_at is not None and event.error is None
        message = await session.get(Message, event.message_id)
        assert message is not None
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        order_thread = conversation.order_id is not None and conversation.kind in (
            ConversationKind.CLIENT,
            ConversationKind.EXECUTOR,
        )
        assert order_thread or conversation.kind in (
            ConversationKind.LEAD,
            ConversationKind.APPLICATION,
        )
