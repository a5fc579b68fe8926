"""Panel page queries on a busy desk: p50 / p95 of each read model against the target.

    .venv/bin/python -m bench.panel [--postgres URL] [--orders N] [--messages N] [--reps R]
                                    [--no-indexes] [--only-build] [--keep]

In a throw-away PostgreSQL database next to URL (default the local `test` one) it migrates,
generates N orders (default 100,000) and M messages (default 1,000,000) server-side
(bench/panel_data.py: ~5k clients, 300 executors, 5 managers, 2-3 conversations per order
plus leads), runs ANALYZE, then calls the webapp.queries functions R times each (default
40) with varied parameters, one session per call, and prints p50 / p95 in milliseconds next
to the target (p95 <= 100 ms) and to a ceiling measured the same way: one `SELECT 1` in a
fresh session. Times are per call as a page handler sees them: SQL on the server, the
round trips, and building the result dataclasses.

--only-build generates a database and keeps it (for EXPLAIN); --keep keeps it after measuring.
With --no-indexes it then drops the indexes of migrations 0004 and 0011 (the panel's), runs ANALYZE
and measures again, so the two columns show what those indexes buy."""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.panel_data import Size, generate
from core.db import utcnow
from core.models import OrderStatus
from runtime import eventloop
from runtime.database import (
    create_engine,
    create_scratch_database,
    drop_database,
    session_factory,
)
from runtime.migrate import upgrade
from webapp.queries import (
    TAB_STATUSES,
    ClientSort,
    InboxCursor,
    InboxFilters,
    OrderFilters,
    OrderSort,
    OrderTab,
    client_page,
    client_quick_search,
    exchange_board,
    executor_page,
    inbox_page,
    order_card,
    order_page,
    search,
)

TARGET_MS = 100.0
Call = Callable[[AsyncSession, random.Random], Awaitable[Any]]
# What migrations 0004 and 0011 add, and how to take it away again (their downgrades, by hand).
PANEL_INDEXES = [
    "ix_conversations_last_message_at_id",
    "ix_messages_inbound",
    "ix_outbox_message_id",
    "ix_orders_deadline",
    "ix_orders_updated_at",
    "ix_messages_text_trgm",
    "ix_clients_name_trgm",
    "ix_clients_company_trgm",
]
BEFORE_0004 = "CREATE INDEX ix_conversations_last_message_at ON conversations (last_message_at)"
SEARCH_WORDS = ["антиплагиат", "Экскаватор", "методичк", "пришлите счёт", "реферат № 12"]
SURNAMES = ["Смирн", "кузнецов", "Лебед", "орлова", "Никитин"]


def workloads(size: Size) -> dict[str, Call]:
    managers = range(1, size.managers + 1)
    channels = ["telegram", "email", "vk", "viber"]

    def viewer(rng: random.Random) -> int:
        return rng.choice(managers)

    def inbox(**filters: Any) -> Call:
        async def call(s: AsyncSession, rng: random.Random) -> Any:
            me = viewer(rng)
            given = {k: (v(rng) if callable(v) else v) for k, v in filters.items()}
            if given.pop("restricted", False):
                given["only_assigned_to"] = me
            return await inbox_page(s, viewer_id=me, filters=InboxFilters(**given))

        return call

    async def deep_page(s: AsyncSession, rng: random.Random) -> Any:
        moment = utcnow() - timedelta(days=rng.uniform(1, 300))
        return await inbox_page(s, viewer_id=viewer(rng), before=InboxCursor(moment, 10**9))

    def orders(tab: OrderTab, **filters: Any) -> Call:
        async def call(s: AsyncSession, rng: random.Random) -> Any:
            given = {k: (v(rng) if callable(v) else v) for k, v in filters.items()}
            sort = rng.choice(list(OrderSort))
            return await order_page(s, tab=tab, sort=sort, filters=OrderFilters(**given))

        return call

    def searching(texts: Callable[[random.Random], str]) -> Call:
        async def call(s: AsyncSession, rng: random.Random) -> Any:
            return await search(s, texts(rng), viewer_id=viewer(rng))

        return call

    def phone(rng: random.Random) -> str:
        i = rng.randrange(0, size.clients, 3)  # stored as +79XXXXXXXXX; typed as 8 (9XX) ...
        digits = f"9{(i * 7919) % 1_000_000_000:09d}"
        return f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}"

    async def ceiling(s: AsyncSession, rng: random.Random) -> Any:
        return await s.scalar(sa.text("SELECT 1"))

    calls: dict[str, Call] = {
        "ceiling: SELECT 1": ceiling,
        "inbox: first page": inbox(),
        "inbox: deep page (keyset)": deep_page,
        "inbox: channel": inbox(channel=lambda rng: rng.choice(channels)),
        "inbox: order status": inbox(statuses=lambda rng: TAB_STATUSES[rng.choice(list(OrderTab))]),
        "inbox: assigned to me": inbox(assigned_to_me=True),
        "inbox: unanswered": inbox(unanswered=True),
        "inbox: unanswered + mine": inbox(unanswered=True, assigned_to_me=True),
        "inbox: restricted manager": inbox(restricted=True),
        "inbox: waiting (status new)": inbox(statuses=(OrderStatus.NEW,), unanswered=True),
    }
    for tab in OrderTab:
        calls[f"orders: {tab.value}"] = orders(tab)
    calls["orders: in_work, one manager"] = orders(
        OrderTab.IN_WORK, manager_id=lambda rng: viewer(rng)
    )
    calls["orders: archive, restricted"] = orders(
        OrderTab.ARCHIVE, only_assigned_to=lambda rng: viewer(rng)
    )

    async def card(s: AsyncSession, rng: random.Random) -> Any:
        return await order_card(s, rng.randint(1, size.orders))

    calls["order card"] = card
    calls["search: message text"] = searching(lambda rng: rng.choice(SEARCH_WORDS))
    calls["search: order number"] = searching(lambda rng: f"#{1000 + rng.randint(1, size.orders)}")
    calls["search: phone"] = searching(phone)
    calls["search: client name"] = searching(lambda rng: rng.choice(SURNAMES))
    # Several words: each is a trigram "contains" (an initial, a word start) ANDed together.
    calls["search: surname and initial"] = searching(
        lambda rng: f"{rng.choice(SURNAMES)} {rng.choice('АИМОС')}"
    )

    async def quick(s: AsyncSession, rng: random.Random) -> Any:
        return await client_quick_search(s, rng.choice(SURNAMES)[:3])

    async def clients_by(s: AsyncSession, rng: random.Random) -> Any:
        return await client_page(s, sort=rng.choice(list(ClientSort)))

    async def board(s: AsyncSession, rng: random.Random) -> Any:
        return await exchange_board(s)

    async def executors(s: AsyncSession, rng: random.Random) -> Any:
        return await executor_page(s)

    calls |= {
        "quick client search": quick,
        "clients list (any sort)": clients_by,
        "exchange board": board,
        "executors list": executors,
    }
    return calls


async def measure(
    sessions: async_sessionmaker[AsyncSession], calls: dict[str, Call], reps: int
) -> dict[str, tuple[float, float]]:
    figures = {}
    for name, call in calls.items():
        rng = random.Random(name)
        async with sessions() as session:
            await call(session, rng)  # warm the statement caches and the plan
        times = []
        for _ in range(reps):
            async with sessions() as session:
                began = time.perf_counter()
                await call(session, rng)
                times.append((time.perf_counter() - began) * 1000)
        cuts = statistics.quantiles(times, n=20)
        figures[name] = (statistics.median(times), cuts[18])
    return figures


async def drop_panel_indexes(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for name in PANEL_INDEXES:
            await conn.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
        await conn.execute(sa.text(BEFORE_0004))
    await analyze(engine)


async def analyze(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        # VACUUM too: a live database is vacuumed by autovacuum, which is what lets
        # PostgreSQL answer from an index alone.
        await conn.execute(sa.text("VACUUM ANALYZE"))


async def build(url: str, size: Size) -> None:
    await upgrade(url)
    engine = create_engine(url)
    try:
        # The trigram index is built once at the end: keeping it up to date row by row
        # during the bulk load would take most of the generation time.
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP INDEX ix_messages_text_trgm"))
            await conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
            for name, seconds in await generate(conn, size):
                print(f"  generated {name:<20} {seconds:6.1f} s", flush=True)
            began = time.perf_counter()
            await conn.execute(
                sa.text(
                    "CREATE INDEX ix_messages_text_trgm ON messages USING gin (text gin_trgm_ops)"
                )
            )
            print(f"  indexed message texts     {time.perf_counter() - began:6.1f} s")
        await analyze(engine)
    finally:
        await engine.dispose()


def report(
    with_indexes: dict[str, tuple[float, float]], without: dict[str, tuple[float, float]] | None
) -> None:
    head = f"{'query':<32} {'p50 ms':>8} {'p95 ms':>8}"
    if without is not None:
        head += f" {'p50 no-idx':>11} {'p95 no-idx':>11}"
    print(head + f"   target p95 <= {TARGET_MS:.0f} ms")
    for name, (p50, p95) in with_indexes.items():
        line = f"{name:<32} {p50:8.1f} {p95:8.1f}"
        if without is not None:
            line += f" {without[name][0]:11.1f} {without[name][1]:11.1f}"
        print(line + ("   ok" if p95 <= TARGET_MS else "   OVER"))


async def run(args: argparse.Namespace) -> None:
    size = Size(orders=args.orders, messages=args.messages)
    url = await create_scratch_database(args.postgres, "pult_bench_panel")
    try:
        print(f"PostgreSQL, {size.orders:,} orders, {size.messages:,} messages")
        await build(url, size)
        if args.only_build:
            return
        engine = create_engine(url, pool_size=2)
        sessions = session_factory(engine)
        try:
            calls = workloads(size)
            indexed = await measure(sessions, calls, args.reps)
            bare = None
            if args.no_indexes:
                await drop_panel_indexes(engine)
                bare = await measure(sessions, calls, args.reps)
            report(indexed, bare)
        finally:
            await engine.dispose()
    finally:
        if args.keep or args.only_build:
            print(f"kept: {url}")
        else:
            await drop_database(args.postgres, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--no-indexes", action="store_true", help="measure again without 0004's")
    parser.add_argument("--keep", action="store_true", help="keep the database (print its URL)")
    parser.add_argument("--only-build", action="store_true", help="generate, keep, measure nothing")
    eventloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
