"""Reading a typed answer to one intake field of an order kind: the value to keep, or a
message (a msgid and its values) that says what was wrong, for the wizard to ask again.
Pure: no database, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any

from core.i18n import N_, gettext
from core.kinds import FieldSpec, FieldType
from handlers.dates import DateInputError, format_date, parse_future_date
from handlers.numbers import NumberInputError, parse_int

MAX_TEXT = 300
MAX_LONGTEXT = 4000

EMPTY = N_("Please write the answer in words.")
TOO_LONG = N_("That is too long: at most {limit} characters, please.")
NOT_A_NUMBER = N_("Please send a whole number, for example 25.")
TOO_SMALL = N_("The number must be at least {minimum}.")
TOO_LARGE = N_("The number must be at most {maximum}.")
NOT_A_DATE = N_("I did not understand the date. Examples: 25.12, tomorrow, in 3 days.")
PAST_DATE = N_("That date has already passed. Please give a date in the future.")
FAR_DATE = N_("That date is too far ahead. Please give a date within two years.")
NO_TIME = N_("Please add the time as well, for example: 25.12 14:30.")
NOT_A_CHOICE = N_("Please choose one of the options with the buttons.")
YES_OR_NO = N_("Please answer yes or no.")
YES = N_("Yes")
NO = N_("No")

_TIME = re.compile(r"(?:^|\s)(?:в\s+|at\s+)?(\d{1,2})[:.](\d{2})(?:\s*ч)?$", re.IGNORECASE)
_YES = {"да", "ага", "yes", "y", "конечно", "+"}
_NO = {"нет", "no", "n", "не", "-"}


@dataclass(frozen=True, slots=True)
class Invalid(Exception):
    """The answer cannot be taken; `message` is a msgid formatted with `values`."""

    message: str
    values: tuple[tuple[str, Any], ...] = ()

    def text(self, locale: str) -> str:
        return gettext(self.message, locale).format(**dict(self.values))


def parse_answer(
    field: FieldSpec, text: str, *, now: datetime, tz: tzinfo, choices: dict[str, str]
) -> Any:
    """The value to store for `field` (JSON-friendly), or raise Invalid. `choices` maps
    each label a person may type (as shown, in any case) to the value kept."""
    text = " ".join(text.split()) if field.type is not FieldType.LONGTEXT else text.strip()
    if not text:
        raise Invalid(EMPTY)
    match field.type:
        case FieldType.TEXT | FieldType.LONGTEXT:
            limit = MAX_LONGTEXT if field.type is FieldType.LONGTEXT else MAX_TEXT
            if len(text) > limit:
                raise Invalid(TOO_LONG, (("limit", limit),))
            return text
        case FieldType.INTEGER:
            return _integer(field, text)
        case FieldType.DATE:
            return _date(text, now.astimezone(tz).date()).isoformat()
        case FieldType.DATETIME:
            return _moment(text, now, tz).isoformat()
        case FieldType.CHOICE:
            return _choice(text, choices)
        case FieldType.BOOLEAN:
            return _yes_no(text)
    raise Invalid(NOT_A_CHOICE)  # FILES are not typed


def _integer(field: FieldSpec, text: str) -> int:
    try:
        return parse_int(text, minimum=field.min, maximum=field.max)
    except NumberInputError as error:
        if error.code == "too_small":
            raise Invalid(TOO_SMALL, (("minimum", error.minimum),)) from None
        if error.code == "too_large":
            raise Invalid(TOO_LARGE, (("maximum", error.maximum),)) from None
        raise Invalid(NOT_A_NUMBER) from None


def _date(text: str, today: date) -> date:
    try:
        return parse_future_date(text, today, allow_today=False)
    except DateInputError as error:
        message = {"past": PAST_DATE, "too_far": FAR_DATE}.get(error.code, NOT_A_DATE)
        raise Invalid(message) from None


def _moment(text: str, now: datetime, tz: tzinfo) -> datetime:
    """ "25.12 14:30", "завтра в 9:00": a day and a time in the business's clock."""
    found = _TIME.search(text)
    if found is None:
        _date(text, now.astimezone(tz).date())  # a bad date is reported as such first
        raise Invalid(NO_TIME)
    hour, minute = int(found[1]), int(found[2])
    if hour > 23 or minute > 59:
        raise Invalid(NO_TIME)
    local_today = now.astimezone(tz).date()
    day_text = text[: found.start()].strip()
    try:
        day = (
            parse_future_date(day_text, local_today, allow_today=True) if day_text else local_today
        )
    except DateInputError as error:
        raise Invalid(PAST_DATE if error.code == "past" else NOT_A_DATE) from None
    moment = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if moment <= now:
        raise Invalid(PAST_DATE)
    return moment


def _choice(text: str, choices: dict[str, str]) -> str:
    if not choices:
        return text  # nothing to choose from yet (no skills listed): take their words
    for label, value in choices.items():
        if label.casefold() == text.casefold():
            return value
    raise Invalid(NOT_A_CHOICE)


def _yes_no(text: str) -> bool:
    word = text.casefold().strip(".!")
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise Invalid(YES_OR_NO)


def show_value(field: FieldSpec, value: Any, locale: str) -> str:
    """A stored answer as the person reads it in the summary."""
    if value is None or value == "" or value == []:
        return "—"
    match field.type:
        case FieldType.DATE:
            return format_date(date.fromisoformat(value), locale)
        case FieldType.DATETIME:
            moment = datetime.fromisoformat(value)
            return f"{format_date(moment.date(), locale)} {moment:%H:%M}"
        case FieldType.BOOLEAN:
            return gettext(YES if value else NO, locale)
        case FieldType.CHOICE:
            return gettext(value, locale)
        case FieldType.FILES:
            return str(len(value))
    return str(value)
