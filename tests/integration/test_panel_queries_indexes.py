"""Migration 0004's indexes on SQLite and PostgreSQL: the panel's indexes exist, the trigram
ones on PostgreSQL only, and the schema comparison leaves out only what is declared for
another backend (so a PostgreSQL-only index missing from the models still shows)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import schema_filter
from runtime.schema import metadata

EVERYWHERE = {
    "conversations": {"ix_conversations_last_message_at_id"},
    "messages": {"ix_messages_inbound"},
    "outbox": {"ix_outbox_message_id"},
    "orders": {"ix_orders_deadline", "ix_orders_updated_at"},
}
POSTGRESQL_ONLY = {
    "messages": {"ix_messages_text_trgm"},
    "clients": {"ix_clients_name_trgm", "ix_clients_company_trgm"},
}


async def test_the_panel_indexes_exist_where_they_belong(engine: AsyncEngine) -> None:
    def names(connection: sa.Connection) -> dict[str, set[str]]:
        inspector = sa.inspect(connection)
        tables = set(EVERYWHERE) | set(POSTGRESQL_ONLY)
        return {t: {i["name"] for i in inspector.get_indexes(t) if i["name"]} for t in tables}

    async with engine.connect() as conn:
        found = await conn.run_sync(names)
    on_postgresql = engine.dialect.name == "postgresql"
    for table, wanted in EVERYWHERE.items():
        assert wanted <= found[table], table
    for table, wanted in POSTGRESQL_ONLY.items():
        assert (wanted <= found[table]) is on_postgresql, table
        assert bool(wanted & found[table]) is on_postgresql, table
    assert "ix_conversations_last_message_at" not in found["conversations"]  # replaced


def test_only_indexes_declared_for_another_backend_are_left_out() -> None:
    messages = metadata.tables["messages"]
    (trigram,) = [i for i in messages.indexes if i.name == "ix_messages_text_trgm"]
    (inbound,) = [i for i in messages.indexes if i.name == "ix_messages_inbound"]
    on_sqlite, on_postgresql = schema_filter("sqlite"), schema_filter("postgresql")
    assert not on_sqlite(trigram, trigram.name, "index", False, None)
    assert on_postgresql(trigram, trigram.name, "index", False, None)
    assert on_sqlite(inbound, inbound.name, "index", False, None)
    # What the database has is always compared: a trigram index the models lost would show.
    assert on_sqlite(sa.Index("ix_messages_text_trgm"), "x", "index", True, None)
    assert on_sqlite(messages, "messages", "table", False, None)
