"""Failure drills (issue 11, items 4, 5, 6) against real `pult worker` processes on
PostgreSQL, a private redis-server and the fake Bot API; see tests/drills/harness.py. Each
prints its figures. They need PostgreSQL (PULT_TEST_DATABASE_URL) and are skipped only
without it; CI sets it."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import cast

import pytest
import redis.asyncio as aioredis

from inbox.dispatcher import Dispatcher
from tests.drills.harness import FIRST_CHAT, PG_ENV, Drill, Figures, drill

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.drill,
    pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"set {PG_ENV} to run the drills"),
]

WAKE_CHANNEL = "pult:default:bus:outbox.wake"


def report(capsys: pytest.CaptureFixture[str], name: str, figures: Figures) -> None:
    with capsys.disabled():
        print(f"\n{figures.line(name)}")


async def test_drill_an_outage_of_429_500_502_loses_nothing_and_keeps_each_chats_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 30 s of 429, 500, 502 with the retry ceiling at 2 s is some 15 attempts per message:
    # past the old limit of 8, after which the oldest message of every chat was lost and
    # the chat's later ones went without it.
    chats = range(FIRST_CHAT, FIRST_CHAT + 20)
    async with drill(tmp_path) as state:
        state.start_worker()
        await state.queue(chats, 1, "before")
        await state.wait_until(state.all_delivered, 60, "delivery before the outage")
        state.fake.outage((10, 429), (10, 500), (10, 502))
        outage_began = time.monotonic()
        await state.queue(chats, 3, "during")
        await state.wait_until(lambda: not state.fake.in_outage, 40, "the end of the outage")
        drained = await state.wait_until(state.all_delivered, 30, "delivery after the outage")
        figures = state.figures(
            outage_s=30, failed=await state.failed_items(),
            drained_after_outage_s=round(drained, 1),
            total_s=round(time.monotonic() - outage_began, 1),
        )  # fmt: skip
    report(capsys, "channel outage", figures)
    assert (figures.lost, figures.doubled, figures.out_of_order) == (0, 0, 0)
    assert figures.extra["failed"] == 0
    # The ceiling (2 s, jittered) bounds the wait once the channel is back.
    assert drained < 10


async def test_drill_redis_down_delivery_goes_on_and_redis_is_used_again_when_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chats = range(FIRST_CHAT, FIRST_CHAT + 20)
    async with drill(tmp_path) as state:
        worker = state.start_worker()
        await state.queue(chats, 1, "before")
        # A worker's start (the imports, the bot) on this machine: to compare with below.
        with_redis = await state.wait_until(state.all_delivered, 60, "delivery with Redis")
        state.redis.kill()
        await state.queue(chats, 2, "down")
        while_down = await state.wait_until(state.all_delivered, 30, "delivery without Redis")
        # A worker started while Redis is down starts, and sends. (Killed once its records
        # are in: a kill between a send and its record is the other drill's.)
        await state.wait_recorded(10)
        state.kill(worker)
        state.start_worker()
        await state.queue(chats, 1, "restarted")
        after_restart = await state.wait_until(
            state.all_delivered, 60, "delivery by a worker started without Redis"
        )
        state.redis.start()
        await _until_subscribed(state, within=30)
        await state.queue(chats, 1, "back")
        after_back = await state.wait_until(state.all_delivered, 15, "delivery with Redis back")
        figures = state.figures(
            first_worker_with_redis_s=round(with_redis, 1),
            delivered_while_down_s=round(while_down, 1),
            restarted_worker_s=round(after_restart, 1),
            with_redis_back_s=round(after_back, 1),
            flood_429s=state.fake.flood_rejections,
        )  # fmt: skip
    report(capsys, "Redis down", figures)
    assert (figures.lost, figures.doubled, figures.out_of_order) == (0, 0, 0)
    # The local limiter kept Telegram's limits on its own.
    assert figures.extra["flood_429s"] == 0


async def _until_subscribed(state: Drill, *, within: float) -> None:
    """Until a worker has subscribed to the outbox wake-ups on the new Redis again."""
    client = aioredis.from_url(state.redis.url)
    try:
        async with asyncio.timeout(within):
            while True:
                counts = await cast(
                    "Awaitable[list[tuple[bytes, int]]]", client.pubsub_numsub(WAKE_CHANNEL)
                )
                if counts and counts[0][1] > 0:
                    return
                await asyncio.sleep(0.1)  # another process's state: nothing to await
    finally:
        await client.aclose()


async def test_drill_a_worker_killed_mid_dispatch_gives_its_chats_back_within_a_lease(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # With the old two-minute lease the dead worker's chats waited that long.
    chats = range(FIRST_CHAT, FIRST_CHAT + 50)
    async with drill(tmp_path) as state:
        state.fake.send_delay = 1.0  # sends in flight when the worker dies
        await state.queue(chats, 2, "m")
        first = state.start_worker()
        await state.wait_until(
            lambda: len(state.fake.calls_of("sendMessage")) >= 10, 60, "the first sends"
        )
        state.kill(first)
        killed = time.monotonic()
        in_flight = sum(1 for c in state.fake.calls_of("sendMessage") if c.status is None)
        state.start_worker()
        recovered = await state.wait_until(state.all_delivered, 60, "delivery by the next worker")
        figures = state.figures(
            in_flight_at_kill=in_flight, lease_s=3,
            all_delivered_after_kill_s=round(time.monotonic() - killed, 1),
        )  # fmt: skip
    report(capsys, "worker killed mid-dispatch", figures)
    assert (figures.lost, figures.out_of_order) == (0, 0)
    # At least once: only a send in flight when the worker died can go twice, and a
    # worker has at most `concurrency` (16) in flight. (Counting the fake's unanswered
    # calls at the kill can miss one still in the socket.)
    assert figures.doubled <= Dispatcher.concurrency
    # A new worker's start, one 3 s lease, and sending 100 messages a second each at 16
    # at a time (about 7 s): far below the old lease's two minutes.
    assert recovered < 45
