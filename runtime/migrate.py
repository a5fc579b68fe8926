"""Schema migrations: Alembic driven from code (no alembic.ini), for the CLI and the tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT_LOCATION = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["database_url"] = database_url
    return config


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to `revision`. Alembic's env runs its own event loop, so it runs
    in a worker thread and the caller's loop stays free."""
    await asyncio.to_thread(command.upgrade, alembic_config(database_url), revision)


async def downgrade(database_url: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), revision)


def head_revision() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
