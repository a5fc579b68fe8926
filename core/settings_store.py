"""Business settings the owner edits in the panel, kept in the `settings` table as JSON:
typed keys with their defaults and checks, read and written through one session.

    when = await get_setting(session, DIGEST_TIME)        # "09:00" until the owner sets it
    await set_setting(session, DIGEST_TIME, "08:30")      # raises SettingError if invalid

A stored value that no longer passes its check (edited by hand, an older format) reads as
the default, so a bad row never breaks the page or the job that reads it."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import utcnow
from core.i18n import N_
from core.models import Setting

log = logging.getLogger(__name__)

T = TypeVar("T")

_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class SettingError(ValueError):
    """A value the setting does not accept; `msgid` and `params` say why, for people."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid.format(**params))
        self.msgid = msgid
        self.params = params


@dataclass(frozen=True, slots=True)
class SettingKey(Generic[T]):
    """One setting: where it is stored, its value until set, and the check of a new value
    (returns the value to keep, raises SettingError)."""

    key: str
    default: T
    check: Callable[[Any], T]


def check_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise SettingError(N_("Choose yes or no."))


def check_percent(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise SettingError(N_("Enter a whole number from 0 to 100."))
    return value


def check_time_of_day(value: Any) -> str:
    """A local time of day as HH:MM ("9:05" is kept as "09:05")."""
    match = _HH_MM.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise SettingError(N_("Enter the time as HH:MM, for example 09:00."))
    return f"{int(match[1]):02d}:{match[2]}"


# When the owner's daily digest goes out, in the installation's time zone.
DIGEST_TIME = SettingKey("digest.time", "09:00", check_time_of_day)
# The prepayment share a new order kind starts with in the kinds editor.
PREPAYMENT_DEFAULT = SettingKey("money.prepayment_default_percent", 50, check_percent)
# False restricts managers to the orders and conversations assigned to them (or to nobody);
# read by the panel's sessions (webapp/access/sessions.py).
MANAGERS_SEE_ALL = SettingKey("panel.managers_see_all", True, check_bool)

# Every business setting, in one list: runtime/seed.py writes their defaults into a new
# installation under these keys, and every reader and writer goes through these objects, so
# a key is spelled once. (Notice texts, `notices.*`, are free-form keys of their own.)
SETTING_KEYS: tuple[SettingKey[Any], ...] = (DIGEST_TIME, PREPAYMENT_DEFAULT, MANAGERS_SEE_ALL)


async def get_setting(session: AsyncSession, setting: SettingKey[T]) -> T:
    stored = await session.scalar(select(Setting.value).where(Setting.key == setting.key))
    if stored is None:
        return setting.default
    try:
        return setting.check(stored)
    except SettingError:
        log.warning(
            "setting %s holds %r, which is not valid: using the default", setting.key, stored
        )
        return setting.default


async def set_setting(session: AsyncSession, setting: SettingKey[T], value: Any) -> T:
    """Check and store `value`; returns what was stored (checks may normalise it)."""
    checked = setting.check(value)
    await set_value(session, setting.key, checked)
    return checked


async def get_value(session: AsyncSession, key: str) -> Any:
    """The raw JSON value under `key`, or None when nothing is stored."""
    return await session.scalar(select(Setting.value).where(Setting.key == key))


async def get_values(session: AsyncSession, prefix: str) -> dict[str, Any]:
    """Every raw value whose key starts with `prefix`."""
    rows = await session.scalars(
        select(Setting).where(Setting.key.startswith(prefix, autoescape=True))
    )
    return {row.key: row.value for row in rows}


async def set_value(session: AsyncSession, key: str, value: Any) -> None:
    """Store a raw JSON value (callers with a SettingKey use `set_setting`)."""
    row = await session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()
    await session.flush()


async def reset_value(session: AsyncSession, key: str) -> bool:
    """Forget the stored value (its default applies again); False if none was stored."""
    result = await session.execute(delete(Setting).where(Setting.key == key))
    return bool(getattr(result, "rowcount", 0))
