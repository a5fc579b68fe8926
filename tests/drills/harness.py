"""Failure drills against real processes: `pult worker` (one or more, started and killed
with SIGKILL) on a throw-away PostgreSQL database, a private redis-server the drill starts
and kills (tests/redis_server.py), and the fake Bot API (tests/fakes/telegram_api.py) on a
loopback port in the test process, which can answer 429, 500 and 502 for a stretch and be
slow. Messages are queued from the test process as the web process queues a manager's
reply (`inbox.replies.reply` through a bootstrapped container with the same settings, which
publishes the wake-up on the same Redis), and what the fake received is the truth.

Every drill prints its figures: sent (queued), delivered (distinct messages the fake
accepted), lost, doubled (accepted more than once), out of order (messages that reached
their chat after a later message of the same chat). Settings are short (lease, retry
ceiling, give-up age) so that a drill takes about a minute; everything is bounded in count
and time and stays on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from core.models import ChannelIdentity, Order
from inbox.conversations import order_thread
from inbox.models import ConversationKind, OutboxItem, OutboxStatus
from inbox.replies import reply
from runtime.bootstrap import Container, bootstrap
from runtime.database import scratch_database
from runtime.migrate import upgrade
from runtime.settings import load_settings
from tests import builders
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.redis_server import RedisServer

PG_ENV = "PULT_TEST_DATABASE_URL"
PULT = Path(sys.executable).with_name("pult")
FIRST_CHAT = 8_100_000_001
SECRET = "drill-secret-key-0123456789abcdef0123456789"


@dataclass
class Figures:
    sent: int
    delivered: int
    lost: int
    doubled: int
    out_of_order: int
    extra: dict[str, object] = field(default_factory=dict)

    def line(self, name: str) -> str:
        extra = "".join(f", {key} {value}" for key, value in self.extra.items())
        return (
            f"drill {name}: sent {self.sent}, delivered {self.delivered}, lost {self.lost}, "
            f"doubled {self.doubled}, out of order {self.out_of_order}{extra}"
        )


@dataclass
class Drill:
    tmp: Path
    database_url: str
    redis: RedisServer
    fake: FakeTelegramAPI
    env: dict[str, str]
    web: Container  # the test process, queueing as the web process does
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    queued: dict[int, list[str]] = field(default_factory=dict)  # chat -> texts in order
    _order_ids: dict[int, tuple[int, int]] = field(default_factory=dict)  # chat -> order, user

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"worker-{len(self.workers)}.log").open("wb")
        process = subprocess.Popen(
            [str(PULT), "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
            cwd=self.tmp,
        )  # fmt: skip
        self.workers.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no clean-up, its claims stay in the table."""
        process.kill()
        process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.tmp.glob("worker-*.log"))
        )

    async def queue(self, chats: range, per_chat: int, label: str) -> None:
        """`per_chat` manager replies to each chat, one transaction each, as the panel does."""
        for number in range(per_chat):
            for chat in chats:
                text = f"{label} {chat - FIRST_CHAT}.{len(self.queued.get(chat, []))}"
                async with self.web.uow() as uow:
                    session = uow.session
                    if chat not in self._order_ids:
                        made, manager = await builders.paper_order(session)
                        session.add(ChannelIdentity(
                            channel="telegram", external_id=str(chat), chat_id=str(chat),
                            client_id=made.client_id,
                        ))  # fmt: skip
                        await session.flush()
                        assert manager.user_id is not None
                        self._order_ids[chat] = (made.id, manager.user_id)
                    order_id, user_id = self._order_ids[chat]
                    order = await session.get(Order, order_id)
                    assert order is not None
                    thread = await order_thread(session, order, ConversationKind.CLIENT)
                    await reply(session, thread, text, author_user_id=user_id)
                    await uow.commit()
                self.queued.setdefault(chat, []).append(text)
            del number

    def received(self) -> dict[int, list[str]]:
        return {chat: [m.text or "" for m in self.fake.sent_to(chat)] for chat in self.queued}

    def figures(self, **extra: object) -> Figures:
        sent = sum(len(texts) for texts in self.queued.values())
        delivered = doubled = out_of_order = 0
        for chat, got in self.received().items():
            wanted = self.queued[chat]
            distinct = [text for n, text in enumerate(got) if text not in got[:n]]
            delivered += len(set(distinct) & set(wanted))
            doubled += len(got) - len(distinct)
            # A message is out of order when one queued after it arrived before it.
            position = {text: n for n, text in enumerate(wanted)}
            latest = -1
            for text in distinct:
                if position.get(text, -1) < latest:
                    out_of_order += 1
                latest = max(latest, position.get(text, -1))
        return Figures(sent, delivered, sent - delivered, doubled, out_of_order, dict(extra))

    async def wait_until(self, done: Callable[[], bool], within: float, what: str) -> float:
        """Seconds it took; raises with the workers' logs if `within` seconds pass first."""
        began = time.monotonic()
        while not done():
            if time.monotonic() - began > within:
                raise AssertionError(f"{what}: not within {within} s\n{self.logs()}")
            await asyncio.sleep(0.1)  # processes and a fake: nothing to await but the state
        return time.monotonic() - began

    async def wait_recorded(self, within: float) -> None:
        """Until the outbox has nothing pending: every accepted send is also recorded."""
        began = time.monotonic()
        while (await self.outbox_counts()).get(OutboxStatus.PENDING.value, 0):
            if time.monotonic() - began > within:
                raise AssertionError(f"outbox not settled within {within} s\n{self.logs()}")
            await asyncio.sleep(0.1)  # another process's records: nothing to await

    def all_delivered(self) -> bool:
        return self.figures().lost == 0

    async def outbox_counts(self) -> dict[str, int]:
        async with self.web.sessions() as session:
            rows = await session.execute(
                select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
            )
            return {status.value: count for status, count in rows}

    async def failed_items(self) -> int:
        return (await self.outbox_counts()).get(OutboxStatus.FAILED.value, 0)


@asynccontextmanager
async def drill(tmp: Path, **settings: str) -> AsyncIterator[Drill]:
    """A migrated scratch database, a running private Redis, the fake Bot API, and the
    settings every process of the drill shares (short outbox timings, then `settings`)."""
    base = os.environ[PG_ENV]
    redis = RedisServer(tmp / "redis")
    redis.start()
    try:
        async with scratch_database(base, "pult_drill") as url, FakeTelegramAPI() as fake:
            await upgrade(url)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PULT_DATABASE_URL": url,
                "PULT_REDIS_URL": redis.url,
                "PULT_DATA_DIR": str(tmp / "var"),
                "PULT_SECRET_KEY": SECRET,
                "PULT_TELEGRAM_TOKEN": fake.token,
                "PULT_TELEGRAM_API_BASE": fake.base_url,
                "PULT_LOG_LEVEL": "WARNING",
                "PULT_OUTBOX_LEASE_SECONDS": "3",
                "PULT_OUTBOX_RETRY_CEILING": "2",
                "PULT_OUTBOX_GIVE_UP_AFTER": "120",
                **settings,
            }
            web = await bootstrap(load_settings(env, env_file=None))
            state = Drill(tmp, url, redis, fake, env, web)
            try:
                yield state
            finally:
                for process in state.workers:
                    if process.poll() is None:
                        process.terminate()
                for process in state.workers:
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(timeout=5)
                await web.close()
    finally:
        redis.kill()
