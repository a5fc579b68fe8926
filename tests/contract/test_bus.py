"""The event bus contract, run against every implementation (memory and Redis), then what only
Redis has to prove: several processes, a dropped connection, server-side clean-up."""

from __future__ import annotations

import asyncio
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import orders
from core.events import DomainEvent, MoneyMoved
from core.uow import UnitOfWork
from inbox.bus import (
    GAP,
    MESSAGE_CREATED,
    MONEY_MOVED,
    ORDER_CHANGED,
    BusMessage,
    BusPublisher,
    BusUnavailable,
    EventBus,
    MemoryBus,
    RedisBus,
    Subscription,
    notice_for,
)
from tests import builders

# Long enough for a loaded CI machine; a message that is coming arrives in milliseconds.
RECEIVE_TIMEOUT = 3.0
MARKER = "test.marker"

BusFactory = Callable[..., EventBus]


async def receive(subscription: Subscription) -> BusMessage:
    return await asyncio.wait_for(anext(subscription), RECEIVE_TIMEOUT)


async def eventually(condition: Callable[[], bool]) -> None:
    for _ in range(round(RECEIVE_TIMEOUT / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition did not come true in time")


def namespace() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def make_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    """Builds buses of one implementation, closed after the test. Redis buses made by one
    factory share a namespace: they stand for processes of one installation."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    shared_namespace = namespace()
    made: list[EventBus] = []

    def make(**options: Any) -> EventBus:
        bus: EventBus
        if url is None:
            bus = MemoryBus(**options)
        else:
            bus = RedisBus(url, namespace=shared_namespace, **options)
        made.append(bus)
        return bus

    yield make
    for bus in made:
        await bus.close()


@pytest.fixture
def bus(make_bus: BusFactory) -> EventBus:
    return make_bus()


class TestEventBus:
    async def test_a_subscriber_gets_what_is_published_after_it_subscribed_in_order(
        self, bus: EventBus
    ) -> None:
        async with bus.subscribe(ORDER_CHANGED) as sub:
            for order_id in range(1, 6):
                await bus.publish(ORDER_CHANGED, {"order_id": order_id})
            received = [await receive(sub) for _ in range(5)]
        assert received == [BusMessage(ORDER_CHANGED, {"order_id": n}) for n in range(1, 6)]

    async def test_only_the_subscribed_topics_arrive(self, bus: EventBus) -> None:
        async with bus.subscribe(ORDER_CHANGED, MESSAGE_CREATED) as sub:
            await bus.publish("delivery.changed", {"n": 1})
            await bus.publish(MESSAGE_CREATED, {"n": 2})
            await bus.publish("conversation.read", {"n": 3})
            await bus.publish(ORDER_CHANGED, {"n": 4})
            received = [await receive(sub), await receive(sub)]
        assert received == [
            BusMessage(MESSAGE_CREATED, {"n": 2}),
            BusMessage(ORDER_CHANGED, {"n": 4}),
        ]

    async def test_every_subscriber_gets_its_own_copy(self, bus: EventBus) -> None:
        async with bus.subscribe(ORDER_CHANGED) as first, bus.subscribe(ORDER_CHANGED) as second:
            await bus.publish(ORDER_CHANGED, {"order_id": 7})
            assert await receive(first) == BusMessage(ORDER_CHANGED, {"order_id": 7})
            assert await receive(second) == BusMessage(ORDER_CHANGED, {"order_id": 7})

    async def test_nothing_published_before_subscribing_is_received(self, bus: EventBus) -> None:
        await bus.publish(ORDER_CHANGED, {"order_id": 1})
        async with bus.subscribe(ORDER_CHANGED) as sub:
            await bus.publish(ORDER_CHANGED, {"order_id": 2})
            assert await receive(sub) == BusMessage(ORDER_CHANGED, {"order_id": 2})

    async def test_leaving_a_subscription_stops_delivery_and_frees_it(self, bus: EventBus) -> None:
        async with bus.subscribe(ORDER_CHANGED) as sub:
            assert bus.subscriber_count(ORDER_CHANGED) == 1
        assert bus.subscriber_count(ORDER_CHANGED) == 0
        await bus.publish(ORDER_CHANGED, {"order_id": 1})
        with pytest.raises(StopAsyncIteration):
            await receive(sub)
        # The bus itself goes on working for new subscribers.
        async with bus.subscribe(ORDER_CHANGED) as again:
            await bus.publish(ORDER_CHANGED, {"order_id": 2})
            assert await receive(again) == BusMessage(ORDER_CHANGED, {"order_id": 2})

    async def test_a_subscription_must_be_entered_before_it_is_read(self, bus: EventBus) -> None:
        with pytest.raises(RuntimeError, match="async with"):
            await anext(bus.subscribe(ORDER_CHANGED))

    async def test_closing_the_bus_ends_every_reader(self, bus: EventBus) -> None:
        read: list[BusMessage] = []

        async def read_all(sub: Subscription) -> None:
            async for message in sub:
                read.append(message)

        async with bus.subscribe(ORDER_CHANGED) as sub:
            reader = asyncio.create_task(read_all(sub))
            await bus.publish(ORDER_CHANGED, {"order_id": 1})
            await eventually(lambda: len(read) == 1)
            await bus.close()
            await asyncio.wait_for(reader, RECEIVE_TIMEOUT)
        assert read == [BusMessage(ORDER_CHANGED, {"order_id": 1})]
        with pytest.raises(RuntimeError, match="closed"):
            await bus.publish(ORDER_CHANGED, {"order_id": 2})

    async def test_payloads_round_trip_json_types(self, bus: EventBus) -> None:
        payload = {
            "int": 12,
            "big": 2**53,
            "float": 1.5,
            "text": "Заказ №1042 «срочно»",
            "yes": True,
            "no": False,
            "none": None,
            "list": [1, "two", None],
            "nested": {"ids": [3, 4], "empty": {}},
        }
        async with bus.subscribe(ORDER_CHANGED) as sub:
            await bus.publish(ORDER_CHANGED, payload)
            assert await receive(sub) == BusMessage(ORDER_CHANGED, payload)

    async def test_bad_topics_and_payloads_fail_loudly(self, bus: EventBus) -> None:
        with pytest.raises(ValueError, match="wildcards"):
            bus.subscribe("order.*")
        with pytest.raises(ValueError, match="at least one"):
            bus.subscribe()
        with pytest.raises(ValueError, match="reserved"):
            await bus.publish(GAP, {})
        with pytest.raises(TypeError):
            await bus.publish(ORDER_CHANGED, {"at": datetime.now(UTC)})
        with pytest.raises(ValueError, match="ids"):
            await bus.publish(ORDER_CHANGED, {"text": "x" * 10_000})

    async def test_a_slow_reader_loses_the_oldest_and_is_told_to_reload(
        self, make_bus: BusFactory
    ) -> None:
        bus = make_bus(queue_size=3)
        async with bus.subscribe(ORDER_CHANGED) as sub:
            for order_id in range(1, 6):
                await bus.publish(ORDER_CHANGED, {"order_id": order_id})
            await eventually(lambda: sub.dropped == 2)
            received = [await receive(sub) for _ in range(4)]
        assert received == [
            BusMessage(GAP, {"reason": "overflow"}),
            *(BusMessage(ORDER_CHANGED, {"order_id": n}) for n in (3, 4, 5)),
        ]

    async def test_a_committed_change_is_announced_and_a_rolled_back_one_is_not(
        self, bus: EventBus, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        publisher = BusPublisher(bus)
        async with bus.subscribe(ORDER_CHANGED, MARKER) as sub:
            with pytest.raises(RuntimeError, match="changed my mind"):
                async with UnitOfWork(sessions, publisher) as uow:
                    await builders.paper_order(uow.session)
                    raise RuntimeError("changed my mind")
            # Ordered delivery: had the rollback published anything, it would come first.
            await bus.publish(MARKER, {})
            assert await receive(sub) == BusMessage(MARKER, {})

            async with UnitOfWork(sessions, publisher) as uow:
                order, manager = await builders.paper_order(uow.session)
                await orders.start_evaluation(uow.session, order, manager)
                await uow.commit()
            await bus.publish(MARKER, {})
            # Created and moved in one commit: one notice, with the state it ended in.
            assert [await receive(sub), await receive(sub)] == [
                BusMessage(ORDER_CHANGED, {"order_id": order.id, "status": "evaluating"}),
                BusMessage(MARKER, {}),
            ]


# --- Redis only -----------------------------------------------------------------------------


@pytest.fixture
async def redis_admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A separate connection, as an operator (or a failing network) would have."""
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()


async def _numsub(admin: aioredis.Redis, channel: str) -> int:
    result = await cast("Awaitable[list[tuple[bytes, int]]]", admin.pubsub_numsub(channel))
    return int(result[0][1])


async def test_processes_of_one_installation_hear_each_other_and_no_one_else(
    redis_url: str,
) -> None:
    ours, other = namespace(), namespace()
    web, worker, neighbour = (
        RedisBus(redis_url, namespace=ours),
        RedisBus(redis_url, namespace=ours),
        RedisBus(redis_url, namespace=other),
    )
    try:
        async with (
            worker.subscribe(ORDER_CHANGED) as heard,
            neighbour.subscribe(ORDER_CHANGED) as overheard,
        ):
            await web.publish(ORDER_CHANGED, {"order_id": 1})
            await neighbour.publish(MARKER, {})
            assert await receive(heard) == BusMessage(ORDER_CHANGED, {"order_id": 1})
            await neighbour.publish(ORDER_CHANGED, {"order_id": 2})
            assert await receive(overheard) == BusMessage(ORDER_CHANGED, {"order_id": 2})
    finally:
        for bus in (web, worker, neighbour):
            await bus.close()


async def test_one_connection_per_process_and_none_left_after_the_last_reader(
    redis_url: str, redis_admin: aioredis.Redis
) -> None:
    bus = RedisBus(redis_url, namespace=namespace())
    channel = bus.channel(ORDER_CHANGED)
    try:
        async with bus.subscribe(ORDER_CHANGED), bus.subscribe(ORDER_CHANGED):
            assert await _numsub(redis_admin, channel) == 1
        # UNSUBSCRIBE goes out as the last reader leaves; the server applies it a moment later.
        for _ in range(100):
            if await _numsub(redis_admin, channel) == 0:
                break
            await asyncio.sleep(0.02)
        assert await _numsub(redis_admin, channel) == 0
    finally:
        await bus.close()


async def test_a_killed_connection_is_restored_without_subscribing_again(
    redis_url: str, redis_admin: aioredis.Redis
) -> None:
    bus = RedisBus(redis_url, namespace=namespace())
    try:
        async with bus.subscribe(ORDER_CHANGED) as sub:
            killed = await _kill_clients(redis_admin, f"pult:{bus.namespace}:bus")
            assert killed == 1
            # The gap notice comes once the channels are subscribed again, so a reload done
            # on it cannot miss what follows.
            assert await receive(sub) == BusMessage(GAP, {"reason": "reconnect"})
            await bus.publish(ORDER_CHANGED, {"order_id": 5})
            assert await receive(sub) == BusMessage(ORDER_CHANGED, {"order_id": 5})
        assert bus.reconnects == 1
    finally:
        await bus.close()


async def _kill_clients(admin: aioredis.Redis, name: str) -> int:
    # By name, not `CLIENT KILL TYPE pubsub`: other test runs may share this Redis.
    clients = await cast("Awaitable[list[dict[str, Any]]]", admin.client_list())
    ids = [client["id"] for client in clients if client.get("name") == name]
    for client_id in ids:
        await cast("Awaitable[Any]", admin.client_kill_filter(_id=client_id))
    return len(ids)


@pytest.fixture
async def own_redis(redis_url: str, tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A private redis-server that the test may stop and start (the shared one it may not).

    It asks for `redis_url` so it runs with the Redis tests and counts as one: CI fails
    when a Redis test is skipped, a missing redis-server included."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = RedisServer(binary, port, tmp_path)
    await server.start()
    yield server
    await server.stop()


class RedisServer:
    def __init__(self, binary: str, port: int, directory: Path) -> None:
        self.url = f"redis://127.0.0.1:{port}/0"
        self._command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
        self._command += ["--appendonly", "no", "--dir", str(directory)]
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self._command, stdout=asyncio.subprocess.DEVNULL
        )
        client = aioredis.from_url(self.url)
        try:
            for _ in range(500):
                try:
                    await cast("Awaitable[bool]", client.ping())
                    return
                except RedisConnectionError:
                    await asyncio.sleep(0.01)
            raise AssertionError("redis-server did not start")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()


async def test_a_restarted_redis_is_rejoined_without_subscribing_again(
    own_redis: RedisServer,
) -> None:
    bus = RedisBus(own_redis.url, namespace=namespace())
    try:
        async with bus.subscribe(ORDER_CHANGED) as sub:
            await own_redis.stop()
            # Lost, as at-most-once allows; what matters is that the caller does not fail.
            await bus.publish(ORDER_CHANGED, {"order_id": 1})
            assert bus.publish_failures == 1
            await own_redis.start()
            # The listener backs off between attempts; a few seconds cover a slow restart.
            reconnected = await asyncio.wait_for(anext(sub), 10.0)
            assert reconnected == BusMessage(GAP, {"reason": "reconnect"})
            await bus.publish(ORDER_CHANGED, {"order_id": 2})
            assert await receive(sub) == BusMessage(ORDER_CHANGED, {"order_id": 2})
    finally:
        await bus.close()


async def test_an_unreachable_redis_does_not_fail_a_publish_but_fails_a_subscribe() -> None:
    # Port 1 on loopback refuses at once: no Redis server is needed to prove this.
    bus = RedisBus("redis://127.0.0.1:1/0", namespace=namespace(), subscribe_timeout=0.3)
    try:
        await bus.publish(ORDER_CHANGED, {"order_id": 1})
        assert bus.publish_failures == 1
        with pytest.raises(BusUnavailable):
            async with bus.subscribe(ORDER_CHANGED):
                pass
        assert bus.subscriber_count(ORDER_CHANGED) == 0
    finally:
        await bus.close()


# --- domain events as notices (pure) ---------------------------------------------------------


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True, slots=True, kw_only=True)
class SomethingNew(DomainEvent):
    ids: tuple[int, ...]
    colour: Colour


def test_money_moves_are_announced_with_ids_only() -> None:
    event = MoneyMoved(transaction_id=9, operation="prepayment", amount=150_000, currency="RUB")
    assert notice_for(event) == (
        MONEY_MOVED,
        {
            "transaction_id": 9,
            "operation": "prepayment",
            "order_id": None,
            "client_id": None,
            "executor_id": None,
        },
    )


def test_an_unknown_event_goes_out_under_its_class_name_as_json() -> None:
    at = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    event = SomethingNew(occurred_at=at, ids=(1, 2), colour=Colour.RED)
    assert notice_for(event) == (
        "domain.SomethingNew",
        {"occurred_at": "2025-03-01T12:30:00+00:00", "ids": [1, 2], "colour": "red"},
    )
