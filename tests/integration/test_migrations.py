"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import UTCDateTime, schema_filter, utcnow
from core.models import Setting, StaffLinkCode
from core.settings_store import DIGEST_TIME, MANAGERS_SEE_ALL, get_setting
from core.staff import create_user
from runtime.database import create_engine, session_factory
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


async def test_migration_0009_renames_orphan_settings_and_moves_heartbeat_and_link_codes(
    database_url: str,
) -> None:
    # What an installation seeded before 0009 holds: keys no code read, and records that
    # lived among the business settings.
    await downgrade(database_url, "0005")
    later = (utcnow() + timedelta(hours=3)).isoformat()
    earlier = (utcnow() - timedelta(hours=1)).isoformat()
    engine = create_engine(database_url)
    try:
        async with session_factory(engine).begin() as session:
            user, _ = await create_user(session, "m@desk.example", "M", "manager")
            user_id = user.id
        async with engine.begin() as conn:
            await conn.execute(sa.text("DELETE FROM settings"))
            rows = {
                "digest_time": "08:15",
                "managers_see_all_orders": False,
                "worker.heartbeat": utcnow().isoformat(),
                "staff_link:" + "a" * 64: {"user_id": user_id, "expires_at": later},
                "staff_link:" + "b" * 64: {"user_id": user_id, "expires_at": earlier},
            }
            settings = sa.table("settings", sa.column("key"), sa.column("value", sa.JSON),
                                sa.column("updated_at", UTCDateTime()))  # fmt: skip
            await conn.execute(
                settings.insert(),
                [{"key": k, "value": v, "updated_at": utcnow()} for k, v in rows.items()],
            )
        await upgrade(database_url)
        async with session_factory(engine)() as session:
            keys = set(await session.scalars(sa.select(Setting.key)))
            digest = await get_setting(session, DIGEST_TIME)
            see_all = await get_setting(session, MANAGERS_SEE_ALL)
            codes = list(await session.scalars(sa.select(StaffLinkCode)))
    finally:
        await engine.dispose()

    assert keys == {"digest.time", "panel.managers_see_all"}
    assert (digest, see_all) == ("08:15", False)  # the owner's values are read at last
    assert [(code.code_hash, code.user_id) for code in codes] == [("a" * 64, user_id)]
