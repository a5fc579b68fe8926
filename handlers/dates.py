"""Parse the dates people type into a bot wizard ("25.12", "завтра", "к пятнице",
"через 2 недели", "Dec 25") and write dates back to them ("25 декабря 2026").

Rules worth knowing:
- A day and month without a year mean their next occurrence: today or later this year,
  otherwise next year ("29.02" waits for the next leap year). An explicit year is taken
  as given, so a past one is an error.
- A bare weekday ("пятница", "в пятницу", "к пятнице", "friday") is the nearest such day
  strictly after today: said on a Friday, "в пятницу" means next week's Friday, because a
  client who means today says "сегодня".
- "следующую пятницу" / "next friday" is that weekday in the next calendar week (weeks
  start on Monday): on a Monday it is 11 days ahead, on a Saturday "next Monday" is 2 days.
- "через день" / "in a day" is tomorrow (plain arithmetic, like "через 2 дня").
- Results must lie between today and today plus two years, inclusive."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Literal

from handlers.numbers import normalize, parse_number_words

DateErrorCode = Literal["unrecognized", "past", "too_far"]
HORIZON_MONTHS = 24
# Nobody types a date this long; the cap also keeps int() off huge digit strings.
_MAX_LENGTH = 100


class DateInputError(ValueError):
    """The text is not a date the wizard accepts; `code` says why, for a translated reply."""

    def __init__(self, code: DateErrorCode) -> None:
        super().__init__(code)
        self.code: DateErrorCode = code


# Russian forms first (nominative, genitive, abbreviations), then English ones.
_MONTH_FORMS = (
    ("январь января янв", "january jan"),
    ("февраль февраля фев февр", "february feb"),
    ("март марта мар", "march mar"),
    ("апрель апреля апр", "april apr"),
    ("май мая", "may"),
    ("июнь июня июн", "june jun"),
    ("июль июля июл", "july jul"),
    ("август августа авг", "august aug"),
    ("сентябрь сентября сен сент", "september sep sept"),
    ("октябрь октября окт", "october oct"),
    ("ноябрь ноября ноя нояб", "november nov"),
    ("декабрь декабря дек", "december dec"),
)
_MONTHS = {
    form: number
    for number, (ru, en) in enumerate(_MONTH_FORMS, start=1)
    for form in f"{ru} {en}".split()
}
_RU_GENITIVE = tuple(ru.split()[1] for ru, _ in _MONTH_FORMS)
_EN_NAMES = tuple(en.split()[0].capitalize() for _, en in _MONTH_FORMS)

# Cases after "в"/"к"/"до" ("пятницу", "пятнице", "пятницы") and short forms.
_WEEKDAY_FORMS = (
    "понедельник понедельника понедельнику пн monday mon",
    "вторник вторника вторнику вт tuesday tue tues",
    "среда среду среды среде ср wednesday wed",
    "четверг четверга четвергу чт thursday thu thur thurs",
    "пятница пятницу пятницы пятнице пт friday fri",
    "суббота субботу субботы субботе сб saturday sat",
    "воскресенье воскресенья воскресенью вс sunday sun",
)
_WEEKDAYS = {form: index for index, forms in enumerate(_WEEKDAY_FORMS) for form in forms.split()}

_DAY_WORDS = {
    "сегодня": 0,
    "today": 0,
    "завтра": 1,
    "tomorrow": 1,
    "послезавтра": 2,
    "day after tomorrow": 2,
    "вчера": -1,
    "yesterday": -1,
    "позавчера": -2,
    "day before yesterday": -2,
}
# (months, days) one unit of "через N ..." / "in N ..." moves the date by.
_SHIFT_UNITS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(("день", "дня", "дней", "дн", "сутки", "суток", "day", "days"), (0, 1)),
    **dict.fromkeys(("неделя", "неделю", "недели", "недель", "нед", "week", "weeks"), (0, 7)),
    **dict.fromkeys(("месяц", "месяца", "месяцев", "мес", "month", "months"), (1, 0)),
    **dict.fromkeys(("год", "года", "лет", "year", "years"), (12, 0)),
    "полгода": (6, 0),
}
_COUNT_WORDS = {"a": 1, "an": 1, "пару": 2, "пара": 2, "a couple": 2, "couple": 2}

_PREFIX = re.compile(
    r"^(?:(?:в|во|к|ко|до|на|by|on|until|till|due|before|не\s+позднее|не\s+позже)\s+)+"
)
_ORDINAL = re.compile(r"(?<=[0-9])(?:\s(?:st|nd|rd|th)|-(?:го|е|ое|ого))\b")
_FILLER = re.compile(r"\b(?:of|the)\b")
_YEAR_SUFFIX = re.compile(r"(?<=[0-9]{4})\s(?:г|год|года|year)$")
_DMY = re.compile(
    r"(?P<d>[0-9]{1,2})(?P<s>[./-])(?P<m>[0-9]{1,2})(?:(?P=s)(?P<y>[0-9]{4}|[0-9]{2}))?"
)
_YMD = re.compile(r"(?P<y>[0-9]{4})(?P<s>[./-])(?P<m>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})")
_DAY_MONTH = re.compile(r"(?P<d>[0-9]{1,2}) (?P<mon>[^\W\d_]+)(?: (?P<y>[0-9]{4}))?")
_MONTH_DAY = re.compile(r"(?P<mon>[^\W\d_]+) (?P<d>[0-9]{1,2})(?: (?P<y>[0-9]{4}))?")
_DAY_OF_MONTH = re.compile(r"(?P<d>[0-9]{1,2}) (?:числа|число|числу)")
_SHIFT = re.compile(r"(?:через|in) (?:(?P<count>.+) )?(?P<unit>\S+)")
_WEEKDAY = re.compile(
    r"(?:(?P<next>следующ\w*|next)|эт(?:от|у|а|ой|ого|ому)|this|coming)? ?(?P<day>\S+)"
)


def parse_date(text: str, today: date) -> date:
    """The date `text` names, seen from `today`; `DateInputError` if none or out of range."""
    cleaned = _clean(text)
    if len(cleaned) > _MAX_LENGTH:
        raise DateInputError("unrecognized")
    for reader in _READERS:
        found = reader(cleaned, today)
        if found is not None:
            return _checked(found, today)
    raise DateInputError("unrecognized")


def parse_future_date(text: str, today: date, *, allow_today: bool = False) -> date:
    """Like `parse_date`, but today itself counts as "past" unless `allow_today`."""
    found = parse_date(text, today)
    if found == today and not allow_today:
        raise DateInputError("past")
    return found


def format_date(d: date, locale: str) -> str:
    """ "25 декабря 2026" for Russian (the default, as in core.i18n), "25 December 2026"
    for English. `parse_date` reads both back."""
    if locale.replace("-", "_").split("_")[0].lower() == "en":
        return f"{d.day} {_EN_NAMES[d.month - 1]} {d.year}"
    return f"{d.day} {_RU_GENITIVE[d.month - 1]} {d.year}"


def _clean(text: str) -> str:
    # Commas only separate parts ("December 25, 2026"); "the", "of" and ordinal endings
    # ("25th", "25-го") carry no meaning; "до"/"к"/"в" before a deadline all mean "by".
    text = normalize(text.replace(",", " "))
    text = _FILLER.sub(" ", _ORDINAL.sub("", text))
    text = _YEAR_SUFFIX.sub("", re.sub(r"\s+", " ", text).strip())
    return _PREFIX.sub("", text)


def _checked(found: date, today: date) -> date:
    if found < today:
        raise DateInputError("past")
    if found > _add_months(today, HORIZON_MONTHS):
        raise DateInputError("too_far")
    return found


def _add_months(start: date, months: int) -> date:
    """Calendar months later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _day_word(text: str, today: date) -> date | None:
    offset = _DAY_WORDS.get(text)
    return None if offset is None else today + timedelta(days=offset)


def _shift(text: str, today: date) -> date | None:
    match = _SHIFT.fullmatch(text)
    unit = _SHIFT_UNITS.get(match["unit"]) if match else None
    if match is None or unit is None:
        return None
    count = _count(match["count"])
    if count is None:
        return None
    months, days = unit
    try:
        return _add_months(today, months * count) + timedelta(days=days * count)
    except (OverflowError, ValueError):
        # Past year 9999: certainly beyond the horizon, not an unreadable text.
        raise DateInputError("too_far") from None


def _count(text: str | None) -> int | None:
    if text is None:
        return 1
    if text in _COUNT_WORDS:
        return _COUNT_WORDS[text]
    return int(text) if text.isascii() and text.isdigit() else parse_number_words(text)


def _weekday(text: str, today: date) -> date | None:
    match = _WEEKDAY.fullmatch(text)
    weekday = _WEEKDAYS.get(match["day"]) if match else None
    if match is None or weekday is None:
        return None
    if match["next"]:
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=weekday)
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def _numeric(text: str, today: date) -> date | None:
    match = _DMY.fullmatch(text) or _YMD.fullmatch(text)
    if match is None:
        return None
    year = match["y"]
    if year is not None and len(year) == 2:
        year = f"20{year}"  # "25.12.26": deadlines are never in the 1900s
    return _resolve(int(match["d"]), int(match["m"]), year, today)


def _named_month(text: str, today: date) -> date | None:
    match = _DAY_MONTH.fullmatch(text) or _MONTH_DAY.fullmatch(text)
    month = _MONTHS.get(match["mon"]) if match else None
    if match is None or month is None:
        return None
    return _resolve(int(match["d"]), month, match["y"], today)


def _day_of_month(text: str, today: date) -> date | None:
    """ "к 25 числу": the next 25th, this month or a later one that has it."""
    match = _DAY_OF_MONTH.fullmatch(text)
    if match is None:
        return None
    day = int(match["d"])
    for ahead in range(12):
        month_start = _add_months(today.replace(day=1), ahead)
        if 1 <= day <= calendar.monthrange(month_start.year, month_start.month)[1]:
            candidate = month_start.replace(day=day)
            if candidate >= today:
                return candidate
    return None


def _resolve(day: int, month: int, year: str | None, today: date) -> date | None:
    """An explicit year is kept (even if past); without one, the next occurrence."""
    if year is not None:
        try:
            return date(int(year), month, day)
        except ValueError:
            return None
    # 2000 is a leap year, so this admits "29.02" and rejects "31.02" or "30.02".
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(2000, month)[1]):
        return None
    for year_number in range(today.year, today.year + 9):  # Feb 29 recurs within 8 years
        if calendar.isleap(year_number) or (month, day) != (2, 29):
            candidate = date(year_number, month, day)
            if candidate >= today:
                return candidate
    return None


_READERS: tuple[Callable[[str, date], date | None], ...] = (
    _day_word,
    _shift,
    _weekday,
    _numeric,
    _named_month,
    _day_of_month,
)
