"""The worker loop: heartbeats on every backend, supervision of jobs, a prompt stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import utcnow
from core.models import ChannelIdentity, StaffSession
from core.staff import create_user
from inbox.bus import OUTBOX_WAKE
from inbox.channel import Incoming
from inbox.conversations import lead_conversation, order_thread
from inbox.models import ConversationKind
from inbox.receive import Receiver
from inbox.replies import reply
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from runtime.worker import JOBS, jobs_for, read_heartbeat, run_worker, write_heartbeat
from tests import builders
from tests.fakes.loopback import LoopbackChannel
from tests.redis_server import RedisServer


@pytest.fixture
async def container(database_url: str, tmp_path: Path) -> AsyncIterator[Container]:
    env = {"PULT_DATA_DIR": str(tmp_path / "var"), "PULT_DATABASE_URL": database_url}
    container = await bootstrap(load_settings(env, env_file=None))
    yield container
    await container.close()


async def test_heartbeat_is_written_and_overwritten(container: Container) -> None:
    first = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert await read_heartbeat(container.sessions) is None

    await write_heartbeat(container.sessions, first)
    await write_heartbeat(container.sessions, first + timedelta(seconds=30))

    assert await read_heartbeat(container.sessions) == first + timedelta(seconds=30)


async def test_the_worker_beats_at_once_and_stops_promptly(container: Container) -> None:
    stop = asyncio.Event()
    started = utcnow()

    task = asyncio.create_task(run_worker(container, stop))
    for _attempt in range(200):  # polling the database: the beat has no other signal
        if await read_heartbeat(container.sessions) is not None:
            break
        await asyncio.sleep(0.05)
    stop.set()
    async with asyncio.timeout(5):
        await task

    beat = await read_heartbeat(container.sessions)
    assert beat is not None and beat >= started
    assert "heartbeat" in JOBS


async def test_the_worker_deletes_expired_staff_sessions_and_keeps_live_ones(
    container: Container,
) -> None:
    now = utcnow()
    async with container.sessions.begin() as session:
        user, _ = await create_user(session, "anna@desk.example", "Anna", "manager")
        for token, expires in (
            ("expired", now - timedelta(minutes=1)),
            ("live", now + timedelta(days=1)),
        ):
            session.add(
                StaffSession(
                    token_hash=token, user_id=user.id, csrf_token=token, created_at=now,
                    last_seen_at=now, expires_at=expires,
                )
            )  # fmt: skip
    stop = asyncio.Event()

    task = asyncio.create_task(run_worker(container, stop, {"sweep": JOBS["sweep_sessions"]}))
    remaining: list[str] = []
    for _attempt in range(200):  # polling the database: the sweep has no other signal
        async with container.sessions() as session:
            remaining = list(await session.scalars(select(StaffSession.token_hash)))
        if remaining == ["live"]:
            break
        await asyncio.sleep(0.05)
    stop.set()
    async with asyncio.timeout(5):
        await task

    assert remaining == ["live"]
    assert "sweep_sessions" in jobs_for(container)


async def test_a_crashing_job_is_restarted(container: Container) -> None:
    stop = asyncio.Event()
    runs: list[int] = []

    async def flaky(_container: Container, stop_event: asyncio.Event) -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise RuntimeError("transient failure")
        stop_event.set()

    async with asyncio.timeout(5):
        await run_worker(container, stop, {"flaky": flaky}, restart_delay=0.01)

    assert runs == [0, 1, 2]


async def test_the_worker_recovers_stored_events_and_delivers_queued_replies(
    container: Container,
) -> None:
    channel = LoopbackChannel()
    container.channels.add(channel)
    left_over = Incoming(channel="loopback", sender_id="42", message_id="e-1", text="до рестарта")
    await Receiver(container.sessions, container.publisher).store(left_over)
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(container, stop))
    async with container.uow() as uow:
        identity = await uow.session.scalar(select(ChannelIdentity))
        for _attempt in range(100):  # recovery runs as the worker starts
            identity = await uow.session.scalar(select(ChannelIdentity))
            if identity is not None:
                break
            await asyncio.sleep(0.05)
        assert identity is not None and identity.client_id is not None
        lead = await lead_conversation(uow.session, identity.client_id)
        manager = await builders.staff(uow.session)
        await reply(uow.session, lead, "Здравствуйте! Чем помочь?", author_user_id=manager.id)
        await uow.commit()
    async with asyncio.timeout(5):
        while len(channel.sent) < 2:  # noqa: ASYNC110  (the fake has no signal of its own)
            await asyncio.sleep(0.02)
    stop.set()
    await task
    # The recovered event went through the dialog engine too: a stranger is greeted.
    assert [(m.chat_id, m.text) for m in channel.sent] == [
        ("42", "Здравствуйте! Это служба заказов. Давайте познакомимся: как вас зовут?"),
        ("42", "Здравствуйте! Чем помочь?"),
    ]


async def test_a_reply_queued_by_a_web_process_wakes_another_processs_dispatcher(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = {
        "PULT_DATA_DIR": str(tmp_path / "var"),
        "PULT_DATABASE_URL": database_url,
        "PULT_REDIS_URL": redis_url,
    }
    web = await bootstrap(load_settings(env, env_file=None))
    worker = await bootstrap(load_settings(env, env_file=None))
    channel = LoopbackChannel()
    worker.channels.add(channel)
    web.channels.add(LoopbackChannel())  # configured in both, as the settings would be
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(worker, stop, {"outbox": JOBS["outbox"]}))
    try:
        await asyncio.sleep(0.5)  # the worker is idle, waiting for its 5 s poll
        async with web.uow() as uow:
            order, _ = await builders.paper_order(uow.session)
            uow.session.add(ChannelIdentity(channel="loopback", external_id="9", chat_id="9",
                                            client_id=order.client_id))  # fmt: skip
            thread = await order_thread(uow.session, order, ConversationKind.CLIENT)
            manager = await builders.staff(uow.session)
            await reply(uow.session, thread, "Оплата получена", author_user_id=manager.id)
            await uow.commit()
        async with asyncio.timeout(2):  # well before the poll
            while not channel.sent:  # noqa: ASYNC110  (the fake has no signal of its own)
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
        await web.close()
        await worker.close()
    assert [m.text for m in channel.sent] == ["Оплата получена"]


async def test_the_outbox_sends_while_redis_is_down_and_subscribes_when_it_is_back(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # Before: the job died on the bus subscription (BusUnavailable) and every restart did
    # the same, so nothing was sent until Redis came back. (`redis_url` only makes this a
    # Redis test, run where redis-server is known to be installed; the server is private.)
    del redis_url
    server = RedisServer(tmp_path / "redis")  # not started yet: Redis is down
    env = {
        "PULT_DATA_DIR": str(tmp_path / "var"),
        "PULT_DATABASE_URL": database_url,
        "PULT_REDIS_URL": server.url,
    }
    container = await bootstrap(load_settings(env, env_file=None))
    channel = LoopbackChannel()
    container.channels.add(channel)
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(container, stop, {"outbox": JOBS["outbox"]}))
    try:
        await _queue_reply(container, "Оплата получена", chat="9")
        async with asyncio.timeout(5):
            while not channel.sent:  # noqa: ASYNC110  (the fake has no signal of its own)
                await asyncio.sleep(0.02)
        server.start()
        async with asyncio.timeout(15):  # the subscription is tried again with backoff
            while not container.bus.subscriber_count(OUTBOX_WAKE):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await _queue_reply(container, "Заказ готов", chat="10")
        async with asyncio.timeout(5):
            while len(channel.sent) < 2:  # noqa: ASYNC110  (the fake has no signal of its own)
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await task
        await container.close()
        server.kill()
    assert [m.text for m in channel.sent] == ["Оплата получена", "Заказ готов"]


async def _queue_reply(container: Container, text: str, *, chat: str) -> None:
    async with container.uow() as uow:
        order, _ = await builders.paper_order(uow.session)
        uow.session.add(ChannelIdentity(channel="loopback", external_id=chat, chat_id=chat,
                                        client_id=order.client_id))  # fmt: skip
        thread = await order_thread(uow.session, order, ConversationKind.CLIENT)
        manager = await builders.staff(uow.session)
        await reply(uow.session, thread, text, author_user_id=manager.id)
        await uow.commit()
