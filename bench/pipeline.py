"""Inbound message -> stored -> pushed to a subscriber standing in for a panel socket.

    .venv/bin/python -m bench.pipeline [--messages N] [--senders C] [--postgres URL] [--redis URL]

Pushes N inbound messages from C concurrent senders through `Receiver.receive` (raw event
stored and committed, sender identified, threaded, message stored, committed, published on
the bus) and prints sustained messages/s and p50 / p99 latency from the call to the moment
the bus subscriber sees `message.created`. Next to it, the ceiling measured in the same run:
a bare INSERT of one row in its own transaction followed by a publish on the same bus.

Backends: SQLite + in-memory bus (the embedded default); PostgreSQL + Redis bus (a
throw-away database next to the URL given, a private bus namespace)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import UTCDateTime, utcnow
from inbox.bus import BusPublisher, EventBus, MemoryBus, RedisBus
from inbox.channel import Incoming
from inbox.receive import Receiver
from runtime import eventloop
from runtime.database import create_engine, scratch_database, session_factory
from runtime.migrate import upgrade

TOPIC = "message.created"


async def pipeline(url: str, bus: EventBus, messages: int, senders: int) -> dict[str, float]:
    await upgrade(url)
    engine = create_engine(url, pool_size=senders + 5)
    receiver = Receiver(session_factory(engine), BusPublisher(bus))
    seen: dict[int, float] = {}
    try:
        async with bus.subscribe(TOPIC) as subscription:
            listener = asyncio.create_task(_listen(subscription, seen, messages))
            started_at: dict[int, float] = {}

            async def sender(number: int) -> None:
                for i in range(number, messages, senders):
                    start = time.perf_counter()
                    incoming = Incoming(
                        channel="bench", sender_id=f"s{number}", message_id=f"m{i}",
                        text=f"Сообщение {i}: когда будет готов заказ?",
                    )  # fmt: skip
                    event = await receiver.receive(incoming)
                    assert event is not None and event.message_id is not None
                    started_at[event.message_id] = start

            began = time.perf_counter()
            await asyncio.gather(*(sender(n) for n in range(senders)))
            await asyncio.wait_for(listener, 30)
            elapsed = time.perf_counter() - began
        latencies = [seen[mid] - started_at[mid] for mid in started_at]
        ceiling = await _ceiling(engine, bus, messages, senders)
    finally:
        await engine.dispose()
    return {"msgs/s": messages / elapsed, **_percentiles(latencies), **ceiling}


async def _listen(subscription: object, seen: dict[int, float], expected: int) -> None:
    async for message in subscription:  # type: ignore[attr-defined]
        seen[message.payload["message_id"]] = time.perf_counter()
        if len(seen) >= expected:
            return


async def _ceiling(
    engine: AsyncEngine, bus: EventBus, messages: int, senders: int
) -> dict[str, float]:
    """A bare aiohttp-handler-like write: one INSERT, commit, publish."""
    table = sa.table(
        "settings",
        sa.column("key", sa.String),
        sa.column("value", sa.JSON),
        sa.column("updated_at", UTCDateTime()),
    )
    seen: dict[int, float] = {}
    started_at: dict[int, float] = {}
    async with bus.subscribe("bench.ceiling") as subscription:
        listener = asyncio.create_task(_listen(subscription, seen, messages))

        async def sender(number: int) -> None:
            for i in range(number, messages, senders):
                started_at[i] = time.perf_counter()
                async with engine.begin() as conn:
                    await conn.execute(
                        table.insert().values(key=f"bench.{i}", value=i, updated_at=utcnow())
                    )
                await bus.publish("bench.ceiling", {"message_id": i})

        began = time.perf_counter()
        await asyncio.gather(*(sender(n) for n in range(senders)))
        await asyncio.wait_for(listener, 30)
        elapsed = time.perf_counter() - began
    latencies = [seen[i] - started_at[i] for i in started_at]
    ceiling = _percentiles(latencies)
    return {
        "ceiling msgs/s": messages / elapsed,
        "ceiling p50 ms": ceiling["p50 ms"],
        "ceiling p99 ms": ceiling["p99 ms"],
    }


def _percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {"p50 ms": cuts[49] * 1000, "p99 ms": cuts[98] * 1000}


def _print(title: str, figures: dict[str, float]) -> None:
    print(title)
    for name, value in figures.items():
        print(f"  {name:<16} {value:>10.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    print(f"{args.messages} inbound messages from {args.senders} concurrent senders")
    with tempfile.TemporaryDirectory() as tmp:
        memory = MemoryBus()
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        _print("SQLite + memory bus", await pipeline(url, memory, args.messages, args.senders))
        await memory.close()
    if args.postgres and args.redis:
        redis_bus = RedisBus(args.redis, namespace=f"bench-{uuid.uuid4().hex[:6]}")

        async def run(url: str) -> dict[str, float]:
            return await pipeline(url, redis_bus, args.messages, args.senders)

        try:
            async with scratch_database(args.postgres, "pult_bench") as url:
                _print("PostgreSQL + Redis bus", await run(url))
        finally:
            await redis_bus.close()


if __name__ == "__main__":
    eventloop.run(main())
