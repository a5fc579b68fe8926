"""Reading the arrival time a driver types: a duration ("40", "40 мин", "через полчаса",
"полтора часа", "1,5 ч", "in 2 hours", "сорок минут") or a clock time in the business's
clock ("14:30", "в 9.05", "at 14:30": its next occurrence, so "00:20" said before midnight
is tonight). Pure: no database, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from handlers.numbers import normalize, parse_number_words

MAX_MINUTES = 24 * 60

_PREFIX = re.compile(r"^(?:(?:через|in|за|около|примерно|about|around|at|by|в|к)\s+|~\s*)+")
_CLOCK = re.compile(r"(\d{1,2})[:.](\d{2})")
_DURATION = re.compile(
    r"(?P<count>.*?)\s*(?P<unit>минут[аы]?|мин|м|minutes?|mins?|m|"
    r"час(?:а|ов)?|ч|hours?|hrs?|h)?"
)
_DECIMAL = re.compile(r"\d{1,4}(?:[.,]\d{1,2})?")
_HALF_HOUR = {"полчаса", "пол часа", "half an hour", "half hour"}
_HOUR_AND_HALF = {"полтора часа", "an hour and a half", "one and a half hours"}


class EtaInputError(ValueError):
    """Not an arrival time: neither a duration up to a day nor a clock time."""


@dataclass(frozen=True, slots=True)
class Eta:
    at: datetime  # aware, in the business's clock
    minutes: int | None  # set when the driver said a duration


def parse_eta(text: str, now: datetime, tz: tzinfo) -> Eta:
    cleaned = _PREFIX.sub("", normalize(text)).strip()
    if not cleaned or len(cleaned) > 40:
        raise EtaInputError(text)
    local_now = now.astimezone(tz)
    clock = _CLOCK.fullmatch(cleaned)
    if clock is not None:
        return Eta(_next_occurrence(int(clock[1]), int(clock[2]), local_now, text), None)
    minutes = _duration(cleaned)
    if minutes is None or not 1 <= minutes <= MAX_MINUTES:
        raise EtaInputError(text)
    return Eta(local_now + timedelta(minutes=minutes), minutes)


def eta_data(eta: Eta) -> dict[str, object]:
    """What the step's audit event keeps: `eta` as an ISO time (with the business's UTC
    offset), `eta_minutes` when the driver said a duration."""
    return {"eta": eta.at.replace(microsecond=0).isoformat(), "eta_minutes": eta.minutes}


def _next_occurrence(hour: int, minute: int, local_now: datetime, text: str) -> datetime:
    if hour > 23 or minute > 59:
        raise EtaInputError(text)
    moment = datetime.combine(local_now.date(), time(hour, minute), tzinfo=local_now.tzinfo)
    return moment if moment > local_now else moment + timedelta(days=1)


def _duration(text: str) -> int | None:
    if text in _HALF_HOUR:
        return 30
    if text in _HOUR_AND_HALF:
        return 90
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    hours = match["unit"] is not None and match["unit"][0] in "чh"
    count = _count(match["count"].strip(), bare=match["unit"] is not None)
    if count is None:
        return None
    return round(count * (60 if hours else 1))


def _count(text: str, *, bare: bool) -> float | None:
    """The number before the unit; none at all ("час", "an hour") is one, if a unit came."""
    if text in ("", "a", "an"):
        return 1 if bare else None
    if _DECIMAL.fullmatch(text):
        return float(text.replace(",", "."))
    return parse_number_words(text)
