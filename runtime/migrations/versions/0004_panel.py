"""manager panel: indexes for the panel's read models (webapp/queries, docs/panel.md)

The inbox pages conversations on (last_message_at, id) and reads each one's inbound messages;
the big order tabs sort by deadline or last change; the order card finds a failed
message's outbox item. On PostgreSQL, trigram GIN indexes (pg_trgm) make ILIKE '%...%'
search over message texts and client names fast; SQLite searches without them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INBOUND = "direction = 'in'"


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_last_message_at")
        batch_op.create_index(
            "ix_conversations_last_message_at_id", ["last_message_at", "id"], unique=False
        )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_inbound",
            ["conversation_id", "id"],
            unique=False,
            sqlite_where=sa.text(INBOUND),
            postgresql_where=sa.text(INBOUND),
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_message_id", ["message_id"], unique=False)
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_deadline", ["deadline"], unique=False)
        batch_op.create_index("ix_orders_updated_at", ["updated_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_messages_text_trgm",
            "messages",
            ["text"],
            postgresql_using="gin",
            postgresql_ops={"text": "gin_trgm_ops"},
        )
        op.create_index(
            "ix_clients_name_trgm",
            "clients",
            ["name"],
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_clients_name_trgm", table_name="clients")
        op.drop_index("ix_messages_text_trgm", table_name="messages")
        # pg_trgm stays: other databases objects may use it, and it costs nothing idle.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_updated_at")
        batch_op.drop_index("ix_orders_deadline")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_id")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_inbound")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_last_message_at_id")
        batch_op.create_index("ix_conversations_last_message_at", ["last_message_at"], unique=False)
