"""The worker loop: heartbeats on every backend, supervision of jobs, a prompt stop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.db import utcnow
from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from runtime.worker import JOBS, read_heartbeat, run_worker, write_heartbeat


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
