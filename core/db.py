"""Declarative base, column types shared by every model, and the naming convention for
constraints (so Alembic migrations name them the same way on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Index, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC.

    SQLite has no timezone type and hands back naive values; this type stores naive UTC
    everywhere and always returns aware UTC, so comparisons work the same on both engines.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Pult stores aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def postgresql_only(index: Index) -> Index:
    """An index that exists on PostgreSQL only (a trigram GIN index): the migrations create it
    there, `create_all` skips it elsewhere, and `schema_filter` leaves it out of the
    models-versus-migrations comparison on other backends."""
    index.info["only_dialect"] = "postgresql"
    return index.ddl_if(dialect="postgresql")


def schema_filter(dialect_name: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's `include_object` for `dialect_name`: every object but the model indexes
    declared for another backend only (`postgresql_only`)."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        only = obj.info.get("only_dialect") if type_ == "index" and not reflected else None
        return only is None or only == dialect_name

    return include
