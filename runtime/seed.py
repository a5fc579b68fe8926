"""Rows every installation starts with: the built-in order kinds, the order-number counter
and default business settings. Run by the first migration (and by the test fixtures after
they empty a database); everything it creates stays editable."""

from __future__ import annotations

import sqlalchemy as sa

from core.db import UTCDateTime, utcnow
from core.kinds import BUILTIN_KINDS
from core.settings_store import SETTING_KEYS

# Lightweight table clauses, not the models: a migration must keep meaning the same thing
# after the models move on.
_kinds = sa.table(
    "order_kinds",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("fields", sa.JSON),
    sa.column("execution_steps", sa.JSON),
    sa.column("prepayment_percent", sa.Integer),
    sa.column("uses_exchange", sa.Boolean),
    sa.column("needs_review", sa.Boolean),
    sa.column("guarantee_days", sa.Integer),
    sa.column("is_active", sa.Boolean),
    sa.column("position", sa.Integer),
)
_counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger))
_settings = sa.table(
    "settings",
    sa.column("key", sa.String),
    sa.column("value", sa.JSON),
    sa.column("updated_at", UTCDateTime()),
)

# Human order numbers start at 1001 so that they never look like a day or a count.
FIRST_ORDER_NUMBER = 1001
# Written under the keys the code reads (core/settings_store.py), with their defaults, so a
# new installation shows the owner what is in force. Migration 0009 renamed the rows that
# earlier versions of this seed wrote as `digest_time` and `managers_see_all_orders`.
DEFAULT_SETTINGS: dict[str, object] = {setting.key: setting.default for setting in SETTING_KEYS}


def seed_defaults(connection: sa.Connection) -> None:
    connection.execute(
        _kinds.insert(),
        [kind.to_row(position) for position, kind in enumerate(BUILTIN_KINDS)],
    )
    connection.execute(
        _counters.insert(), [{"name": "order_number", "value": FIRST_ORDER_NUMBER - 1}]
    )
    now = utcnow()
    connection.execute(
        _settings.insert(),
        [
            {"key": key, "value": value, "updated_at": now}
            for key, value in DEFAULT_SETTINGS.items()
        ],
    )
