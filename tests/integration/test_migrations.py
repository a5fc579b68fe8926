"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import schema_filter
from runtime.database import create_engine
from runtime.migrate import downgrade, upgrade
from runtime.schema import metadata


def _diff(connection: sa.Connection) -> list[Any]:
    opts = {
        "compare_type": True,
        "compare_server_default": True,
        # PostgreSQL-only indexes (trigram GIN) are compared on PostgreSQL only.
        "include_object": schema_filter(connection.dialect.name),
    }
    context = MigrationContext.configure(connection, opts=opts)
    return list(compare_metadata(context, metadata))


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_first_migration_seeds_builtin_kinds_and_counter(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        codes = (
            await conn.execute(sa.text("SELECT code FROM order_kinds ORDER BY position"))
        ).all()
        counter = (
            await conn.execute(sa.text("SELECT value FROM counters WHERE name = 'order_number'"))
        ).scalar_one()
    assert [row.code for row in codes] == ["student_paper", "print_job", "trip"]
    assert counter == 1000


async def test_downgrade_to_base_and_back_leaves_a_working_schema(database_url: str) -> None:
    await downgrade(database_url, "base")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            left = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert set(left) <= {"alembic_version"}
        await upgrade(database_url)
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
            kinds = await conn.scalar(sa.text("SELECT count(*) FROM order_kinds"))
    finally:
        await engine.dispose()
    assert (diff, kinds) == ([], 3)
