"""settings keys as the code reads them; heartbeat and staff link codes in their own tables

The first migration seeded `digest_time` and `managers_see_all_orders`, which no code ever
read (it reads `digest.time` and `panel.managers_see_all`): those rows are renamed (a value
the owner already saved under the new key wins). The worker heartbeat (`worker.heartbeat`)
and staff link codes (`staff_link:<sha256>`) lived in `settings`; they get tables of their
own. A live link code is moved; the heartbeat is dropped (the next beat, within 30 s,
writes the new table).

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-08 01:15:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (old key, key the code reads). Table clauses, not models: see runtime/seed.py.
RENAMED = (
    ("digest_time", "digest.time"),
    ("managers_see_all_orders", "panel.managers_see_all"),
)
HEARTBEAT_KEY = "worker.heartbeat"
LINK_PREFIX = "staff_link:"

_settings = sa.table(
    "settings",
    sa.column("key", sa.String),
    sa.column("value", sa.JSON),
    sa.column("updated_at", core.db.UTCDateTime()),
)
_codes = sa.table(
    "staff_link_codes",
    sa.column("code_hash", sa.String),
    sa.column("user_id", sa.Integer),
    sa.column("expires_at", core.db.UTCDateTime()),
)
_users = sa.table("users", sa.column("id", sa.Integer))


def upgrade() -> None:
    op.create_table(
        "staff_link_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_link_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_staff_link_codes")),
        sa.UniqueConstraint("user_id", name=op.f("uq_staff_link_codes_user_id")),
    )
    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("beat_at", core.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_heartbeats")),
    )
    connection = op.get_bind()
    _rename(connection, RENAMED)
    _move_link_codes(connection)
    connection.execute(sa.delete(_settings).where(_settings.c.key == HEARTBEAT_KEY))


def downgrade() -> None:
    connection = op.get_bind()
    _rename(connection, tuple((new, old) for old, new in RENAMED))
    op.drop_table("worker_heartbeats")
    op.drop_table("staff_link_codes")  # live link codes are lost: issue a new one


def _rename(connection: sa.Connection, pairs: tuple[tuple[str, str], ...]) -> None:
    for old, new in pairs:
        taken = connection.scalar(sa.select(_settings.c.key).where(_settings.c.key == new))
        if taken is None:
            connection.execute(sa.update(_settings).where(_settings.c.key == old).values(key=new))
        else:
            connection.execute(sa.delete(_settings).where(_settings.c.key == old))


def _move_link_codes(connection: sa.Connection) -> None:
    rows = connection.execute(
        sa.select(_settings.c.key, _settings.c.value).where(
            _settings.c.key.startswith(LINK_PREFIX, autoescape=True)
        )
    ).all()
    users = set(connection.scalars(sa.select(_users.c.id)))
    now = datetime.now(UTC)
    # One live code per user (the newest), as inbox/staff_link.py keeps it.
    kept: dict[int, tuple[datetime, str]] = {}
    for key, value in rows:
        try:
            user_id = int(value["user_id"])
            expires_at = datetime.fromisoformat(value["expires_at"])
        except (KeyError, TypeError, ValueError):
            continue
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if user_id in users and expires_at > now and expires_at > kept.get(user_id, (now, ""))[0]:
            kept[user_id] = (expires_at, key[len(LINK_PREFIX) :])
    if kept:
        connection.execute(
            sa.insert(_codes),
            [
                {"code_hash": code_hash, "user_id": user_id, "expires_at": expires_at}
                for user_id, (expires_at, code_hash) in kept.items()
            ],
        )
    connection.execute(
        sa.delete(_settings).where(_settings.c.key.startswith(LINK_PREFIX, autoescape=True))
    )
