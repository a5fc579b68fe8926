"""The real web app, built by the composition root and served over HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from runtime.bootstrap import Container, bootstrap
from runtime.settings import load_settings
from runtime.worker import write_heartbeat
from webapp.app import create_app

Serve = Callable[..., AbstractAsyncContextManager[tuple[TestClient, Container]]]
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
UNREACHABLE_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/nothing"


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    @asynccontextmanager
    async def serve(**env: str) -> AsyncIterator[tuple[TestClient, Container]]:
        settings = load_settings({"PULT_DATA_DIR": str(tmp_path / "var"), **env}, env_file=None)
        container = await bootstrap(settings)
        try:
            async with TestClient(TestServer(create_app(container))) as client:
                yield client, container
        finally:
            await container.close()

    return serve


async def test_healthz_is_ok_without_redis(serve: Serve, database_url: str) -> None:
    async with serve(PULT_DATABASE_URL=database_url) as (client, container):
        response = await client.get("/healthz")
        body = await response.json()

    assert response.status == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["redis"] == "not configured"
    assert body["version"] == container.version


async def test_healthz_is_ok_with_redis(serve: Serve, database_url: str, redis_url: str) -> None:
    async with serve(PULT_DATABASE_URL=database_url, PULT_REDIS_URL=redis_url) as (client, _):
        response = await client.get("/healthz")
        body = await response.json()

    assert response.status == 200
    assert (body["status"], body["database"], body["redis"]) == ("ok", "ok", "ok")


async def test_healthz_is_degraded_when_redis_is_down(serve: Serve, database_url: str) -> None:
    env = {"PULT_DATABASE_URL": database_url, "PULT_REDIS_URL": UNREACHABLE_REDIS}
    async with serve(**env) as (client, _):
        response = await client.get("/healthz")
        body = await response.json()

    assert response.status == 200
    assert body["status"] == "degraded"
    assert body["database"] == "ok"
    assert body["redis"].startswith("error: ")


async def test_healthz_is_503_when_the_database_is_down(serve: Serve) -> None:
    async with serve(PULT_DATABASE_URL=UNREACHABLE_DATABASE) as (client, _):
        response = await client.get("/healthz")
        body = await response.json()

    assert response.status == 503
    assert body["status"] == "degraded"
    assert body["database"].startswith("error: ")
    assert body["worker"] == {"last_heartbeat": None}


async def test_healthz_shows_the_last_worker_heartbeat(serve: Serve, database_url: str) -> None:
    beat = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    async with serve(PULT_DATABASE_URL=database_url) as (client, container):
        await write_heartbeat(container.sessions, beat)
        body = await (await client.get("/healthz")).json()

    assert datetime.fromisoformat(body["worker"]["last_heartbeat"]) == beat
