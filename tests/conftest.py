"""Shared fixtures: a migrated database per test on SQLite and, when
PULT_TEST_DATABASE_URL is set, on PostgreSQL too; Redis when PULT_TEST_REDIS_URL is set.

With PULT_CI_NO_SKIPS=1 (set by .ci/run) any skipped PostgreSQL or Redis test fails the run."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.staff import use_password_hasher
from runtime.database import (
    create_engine,
    create_scratch_database,
    drop_database,
    session_factory,
)
from runtime.migrate import upgrade
from runtime.schema import metadata
from runtime.seed import seed_defaults

PG_ENV = "PULT_TEST_DATABASE_URL"
REDIS_ENV = "PULT_TEST_REDIS_URL"
# Tests that need something outside Python: skipped with the reason on a bare machine,
# failing the run under PULT_CI_NO_SKIPS=1 (.ci/run installs or checks all of them).
SERVICE_MARKERS = ("postgres", "redis", "browser", "mailserver")
# Fixtures that start Debian's chromium (tests/e2e/conftest.py) or Dovecot (tests/email/).
BROWSER_FIXTURES = ("live", "live_postgres")
MAILSERVER_FIXTURES = ("dovecot",)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

# Production argon2 (t=3, 64 MiB) costs up to a second of CPU a hash on a loaded machine, and
# the tests make hundreds of staff accounts. In this process only, hash with the smallest
# parameters argon2 allows; production parameters are untouched (core.staff.PRODUCTION_HASHER)
# and processes the tests start (`pult web` in tests/e2e) hash as production does.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
use_password_hasher(TEST_HASHER)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session, migrated once.

    A fresh database (not the shared `test` one) keeps parallel test runs apart."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"set {PG_ENV} to run the PostgreSQL tests")
    url = asyncio.run(create_scratch_database(base, "pult_test"))
    try:
        asyncio.run(upgrade(url))
        yield url
    finally:
        asyncio.run(drop_database(base, url))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "pult.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    asyncio.run(_reset_postgres(url))
    return url


async def _reset_postgres(url: str) -> None:
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            await conn.run_sync(seed_defaults)
    finally:
        await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"set {REDIS_ENV} to run the Redis tests")
    return url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "redis_url" in fixtures:
            item.add_marker(pytest.mark.redis)
        if any(name in fixtures for name in BROWSER_FIXTURES):
            item.add_marker(pytest.mark.browser)
        if any(name in fixtures for name in MAILSERVER_FIXTURES):
            item.add_marker(pytest.mark.mailserver)


_skipped_service_tests: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and any(marker in report.keywords for marker in SERVICE_MARKERS):
        _skipped_service_tests.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("PULT_CI_NO_SKIPS") == "1" and _skipped_service_tests:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(
                f"FAIL: {len(_skipped_service_tests)} service tests (PostgreSQL, Redis, "
                f"browser, mail server) were skipped "
                f"(first: {_skipped_service_tests[0]})",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
