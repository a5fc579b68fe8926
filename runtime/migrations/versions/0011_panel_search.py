"""panel search: company names

The inbox search looks for what was typed in clients' company names too ("СтройМонтаж"
finds the client of ООО «СтройМонтаж»). On PostgreSQL a trigram GIN index makes that
ILIKE '%...%' fast, as for client names (0004); SQLite searches without it.

Revision ID: 0011
Revises: 0005
Create Date: 2026-12-08 01:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_clients_company_trgm",
            "clients",
            ["company"],
            postgresql_using="gin",
            postgresql_ops={"company": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_clients_company_trgm", table_name="clients")
