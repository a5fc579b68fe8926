"""A pooled PostgreSQL connection the server has closed is replaced at checkout, without a
ping per checkout: the next unit of work simply works."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from runtime.database import create_engine


@pytest.mark.postgres
async def test_a_connection_the_server_closed_is_replaced_at_checkout(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    killer = create_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with killer.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.2)  # the loop reads the server's goodbye on the pooled socket

        async with engine.connect() as connection:
            again = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again != pid
    finally:
        await engine.dispose()
        await killer.dispose()
