"""E-mail ingest against a real Dovecot: throughput and IDLE latency.

    .venv/bin/python -m bench.email_ingest [--mails N] [--probes P] [--postgres URL --redis URL]

1. Backlog: N mails (the corpus's client-written mails, each with a fresh Message-ID,
   spread over 200 orders: each by its order's client, to its tagged address or with its
   `[#number]`) are APPENDed to the mailbox while the listener is stopped; then the
   listener starts and the clock runs until every one is threaded (its inbound event
   processed). Target: >= 200 mails/s.
2. Live: with the listener idle in IDLE, P single mails are APPENDed one at a time, and the
   time from the APPEND to the `message.created` event on the bus is taken. Target: <= 2 s.

Needs Debian's dovecot-imapd (started here on a free loopback port, as in the tests).
Backends: SQLite + in-memory bus (default); PostgreSQL + Redis bus with --postgres/--redis."""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from aioimaplib import aioimaplib
from sqlalchemy import func, select

from bots.email.addresses import ReplyAddresses
from core.models import ChannelIdentity
from inbox.models import InboundEvent
from runtime import eventloop
from runtime.bootstrap import Container, bootstrap
from runtime.database import scratch_database
from runtime.migrate import upgrade
from runtime.settings import load_settings
from tests import builders
from tests.email.conftest import CLIENT_ADDRESSES, corpus, email_env, expectation
from tests.mailservers import Dovecot

_MESSAGE_ID = re.compile(rb"^Message-I[Dd]:[^\r\n]*\r\n", re.M | re.I)
_TAG = re.compile(rb"orders\+1042c\.[a-z2-7]{6}@desk\.example")
_SENDERS = re.compile(b"|".join(re.escape(a.encode()) for a in CLIENT_ADDRESSES))
# Mails a client wrote that bring no note beside them (one bus event each).
CLIENT_WRITTEN = ("token:client", "references", "subject", "lead")
ORDERS = 200  # mail is spread over this many orders, each with its own client


def client_address(number: int) -> str:
    return f"client{number}@example.ru"


def mails(count: int, addresses: ReplyAddresses, numbers: list[int]) -> list[bytes]:
    """`count` corpus mails by the clients of the orders `numbers`, each about their own
    order (its tag, `[#number]`), with fresh Message-IDs."""
    templates = [p.read_bytes() for p in corpus() if expectation(p) in CLIENT_WRITTEN]
    made = []
    for i in range(count):
        number = numbers[i % len(numbers)]
        raw = _MESSAGE_ID.sub(b"", templates[i % len(templates)], count=1)
        raw = _TAG.sub(addresses.reply_address(number, "client").encode(), raw)
        raw = _SENDERS.sub(client_address(number).encode(), raw)
        raw = raw.replace(b"[#1042]", f"[#{number}]".encode())
        made.append(f"Message-ID: <bench-{i}-{uuid.uuid4().hex}@bench.example>\r\n".encode() + raw)
    return made


async def orders_with_clients(container: Container) -> list[int]:
    """ORDERS orders, each client with an e-mail identity; their numbers."""
    numbers = []
    async with container.uow() as uow:
        for _ in range(ORDERS):
            order, _ = await builders.paper_order(uow.session)
            address = client_address(order.number)
            uow.session.add(
                ChannelIdentity(channel="email", external_id=address, chat_id=address,
                                email=address, client_id=order.client_id)
            )  # fmt: skip
            numbers.append(order.number)
        await uow.commit()
    return numbers


async def imap(dovecot: Dovecot) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4("127.0.0.1", dovecot.port, timeout=30)
    await client.wait_hello_from_server()
    await client.login(dovecot.user, dovecot.password)
    return client


async def processed(container: Container) -> int:
    """Mail events done with: processed, or failed (then the bench says so)."""
    async with container.sessions() as session:
        done = (InboundEvent.processed_at.is_not(None)) | (InboundEvent.error.is_not(None))
        query = select(func.count()).where(InboundEvent.channel == "email", done)
        return int(await session.scalar(query) or 0)


async def failed(container: Container) -> int:
    async with container.sessions() as session:
        query = select(func.count()).where(
            InboundEvent.channel == "email", InboundEvent.processed_at.is_(None)
        )
        return int(await session.scalar(query) or 0)


async def backlog(
    container: Container, dovecot: Dovecot, count: int, numbers: list[int]
) -> dict[str, float]:
    assert container.email is not None
    client = await imap(dovecot)
    began = time.perf_counter()
    for raw in mails(count, container.email.addresses, numbers):
        assert (await client.append(raw, mailbox="INBOX")).result == "OK"
    appended = time.perf_counter() - began
    await client.logout()
    assert container.email is not None
    stop = asyncio.Event()
    began = time.perf_counter()
    task = asyncio.create_task(container.email.listen(stop))
    while await processed(container) < count:  # noqa: ASYNC110 (the database has no signal)
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - began
    stop.set()
    await task
    return {
        "append mails/s": count / appended,
        "ingest mails/s": count / elapsed,
        "failed": await failed(container),
    }


async def live(
    container: Container, dovecot: Dovecot, probes: int, numbers: list[int]
) -> dict[str, float]:
    assert container.email is not None
    stop = asyncio.Event()
    task = asyncio.create_task(container.email.listen(stop))
    await asyncio.wait_for(container.email.listener.connected.wait(), 30)
    client = await imap(dovecot)
    latencies = []
    try:
        async with container.bus.subscribe("message.created") as subscription:
            events = aiter(subscription)
            for raw in mails(probes, container.email.addresses, numbers):
                await asyncio.sleep(0.3)  # the listener is back in IDLE
                began = time.perf_counter()
                assert (await client.append(raw, mailbox="INBOX")).result == "OK"
                await asyncio.wait_for(anext(events), 10)
                latencies.append(time.perf_counter() - began)
    finally:
        await client.logout()
        stop.set()
        await task
    cuts = (
        statistics.quantiles(latencies, n=100, method="inclusive")
        if len(latencies) > 1
        else latencies * 99
    )
    return {
        "IDLE p50 ms": cuts[49] * 1000,
        "IDLE p99 ms": cuts[98] * 1000,
        "IDLE max ms": max(latencies) * 1000,
    }


async def run(url: str, redis: str | None, args: argparse.Namespace, tmp: Path) -> None:
    await upgrade(url)
    numbers: list[int] = []
    for phase in ("backlog", "live"):
        dovecot = Dovecot()
        dovecot.start()
        env = email_env(url, tmp / phase, dovecot, None)
        if redis:
            env["PULT_REDIS_URL"] = redis
        container = await bootstrap(load_settings(env, None))
        try:
            if phase == "backlog":
                numbers = await orders_with_clients(container)
                figures = await backlog(container, dovecot, args.mails, numbers)
                _print(f"  backlog of {args.mails} over {ORDERS} orders", figures)
            else:
                figures = await live(container, dovecot, args.probes, numbers)
                _print(f"  live, {args.probes} probes", figures)
        finally:
            await container.close()
            dovecot.remove()


def _print(title: str, figures: dict[str, float]) -> None:
    print(title)
    for name, value in figures.items():
        print(f"    {name:<16} {value:>10.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--probes", type=int, default=30)
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--redis", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        print("SQLite + memory bus")
        await run(f"sqlite+aiosqlite:///{tmp / 'bench.db'}", None, args, tmp)
        if args.postgres:
            async with scratch_database(args.postgres, "pult_bench") as url:
                print("PostgreSQL" + (" + Redis bus" if args.redis else ""))
                await run(url, args.redis, args, tmp / "pg")


if __name__ == "__main__":
    eventloop.run(main())
