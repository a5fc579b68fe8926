"""Alembic environment: runs migrations over the async engine for SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from core.db import schema_filter
from runtime.schema import metadata

config = context.config
target_metadata = metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        include_object=schema_filter(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        await connection.run_sync(_configure)
        return
    engine = create_async_engine(config.attributes["database_url"])
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_configure)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.attributes["database_url"], target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
