"""Dates typed into the bot wizard: numeric, named-month, relative and weekday forms in
Russian and English, the next-occurrence rule, the two-year horizon and `format_date`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from handlers.dates import DateInputError, format_date, parse_date, parse_future_date

MON = date(2026, 11, 30)  # a Monday near the year end
NEW_YEARS_EVE = date(2026, 12, 31)  # a Thursday
FRIDAY = date(2026, 12, 25)
LEAP_DAY = date(2028, 2, 29)  # a Tuesday


def _two_years_after(today: date) -> date:
    try:
        return today.replace(year=today.year + 2)
    except ValueError:  # 29 February
        return today.replace(year=today.year + 2, day=28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25.12", date(2026, 12, 25)),
        ("25.12.2026", date(2026, 12, 25)),
        ("25.12.26", date(2026, 12, 25)),
        ("25/12", date(2026, 12, 25)),
        ("25-12-2026", date(2026, 12, 25)),
        ("2026-12-25", date(2026, 12, 25)),
        ("2026/12/25", date(2026, 12, 25)),
        ("5.1", date(2027, 1, 5)),
        ("05.01.2027", date(2027, 1, 5)),
        ("25 декабря", date(2026, 12, 25)),
        ("25 дек", date(2026, 12, 25)),
        ("25 дек.", date(2026, 12, 25)),
        ("25дек", date(2026, 12, 25)),
        ("25 декабря 2026", date(2026, 12, 25)),
        ("25 декабря 2026 г.", date(2026, 12, 25)),
        ("25 декабря 2026 года", date(2026, 12, 25)),
        ("25-го декабря", date(2026, 12, 25)),
        ("декабрь 25", date(2026, 12, 25)),
        ("1 мая", date(2027, 5, 1)),
        ("3 сент", date(2027, 9, 3)),
        ("сегодня", MON),
        ("завтра", date(2026, 12, 1)),
        ("послезавтра", date(2026, 12, 2)),
        ("на завтра", date(2026, 12, 1)),
        ("через 3 дня", date(2026, 12, 3)),
        ("через 3дня", date(2026, 12, 3)),
        ("через день", date(2026, 12, 1)),
        ("через сутки", date(2026, 12, 1)),
        ("через неделю", date(2026, 12, 7)),
        ("через 2 недели", date(2026, 12, 14)),
        ("через месяц", date(2026, 12, 30)),
        ("через 3 месяца", date(2027, 2, 28)),  # 30 Feb does not exist: the month's end
        ("через полгода", date(2027, 5, 30)),
        ("через два дня", date(2026, 12, 2)),
        ("через две недели", date(2026, 12, 14)),
        ("через одну неделю", date(2026, 12, 7)),
        ("через пару дней", date(2026, 12, 2)),
        ("через десять дней", date(2026, 12, 10)),
        ("через пять дней", date(2026, 12, 5)),
        ("в пятницу", date(2026, 12, 4)),
        ("пятница", date(2026, 12, 4)),
        ("к пятнице", date(2026, 12, 4)),
        ("до пятницы", date(2026, 12, 4)),
        ("пт", date(2026, 12, 4)),
        ("во вторник", date(2026, 12, 1)),
        ("ко вторнику", date(2026, 12, 1)),
        ("в воскресенье", date(2026, 12, 6)),
        ("в понедельник", date(2026, 12, 7)),  # today is Monday: next week's
        ("в следующую пятницу", date(2026, 12, 11)),
        ("следующий понедельник", date(2026, 12, 7)),
        ("до 15 января", date(2027, 1, 15)),
        ("к 15 января", date(2027, 1, 15)),
        ("не позднее 15 января", date(2027, 1, 15)),
        ("к 25 числу", date(2026, 12, 25)),
        ("30 числа", MON),
        ("today", MON),
        ("tomorrow", date(2026, 12, 1)),
        ("the day after tomorrow", date(2026, 12, 2)),
        ("in 3 days", date(2026, 12, 3)),
        ("in a week", date(2026, 12, 7)),
        ("in two weeks", date(2026, 12, 14)),
        ("in a couple of days", date(2026, 12, 2)),
        ("in 1 month", date(2026, 12, 30)),
        ("Dec 25", date(2026, 12, 25)),
        ("25 Dec", date(2026, 12, 25)),
        ("December 25, 2026", date(2026, 12, 25)),
        ("25th of December", date(2026, 12, 25)),
        ("Jan 1st", date(2027, 1, 1)),
        ("friday", date(2026, 12, 4)),
        ("by Friday", date(2026, 12, 4)),
        ("next friday", date(2026, 12, 11)),
        ("this friday", date(2026, 12, 4)),
    ],
)
def test_forms_seen_from_a_monday_near_the_year_end(text: str, expected: date) -> None:
    assert parse_date(text, MON) == expected


@pytest.mark.parametrize(
    "text",
    ["  Завтра  ", "ЗАВТРА", "завтра.", "завтра!", "Завтра!!", " \tзавтра\n", "TOMORROW?"],
)
def test_case_whitespace_and_trailing_punctuation_do_not_matter(text: str) -> None:
    assert parse_date(text, MON) == date(2026, 12, 1)


def test_zero_days_ahead_is_today() -> None:
    assert parse_date("через 0 дней", MON) == MON


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # Day and month without a year: this year if still ahead, else next year.
        ("10.01", MON, date(2027, 1, 10)),
        ("30.11", MON, MON),  # today itself is still this year's occurrence
        ("29.11", MON, date(2027, 11, 29)),
        ("31.12", NEW_YEARS_EVE, NEW_YEARS_EVE),
        ("1.01", NEW_YEARS_EVE, date(2027, 1, 1)),
        ("завтра", NEW_YEARS_EVE, date(2027, 1, 1)),
        ("через неделю", NEW_YEARS_EVE, date(2027, 1, 7)),
        ("в пятницу", NEW_YEARS_EVE, date(2027, 1, 1)),
        ("next friday", NEW_YEARS_EVE, date(2027, 1, 8)),
        ("в четверг", NEW_YEARS_EVE, date(2027, 1, 7)),
        # Said on a Friday, "пятница" is next week's Friday; "next" is the week after that
        # calendar week, which here is the same day.
        ("в пятницу", FRIDAY, date(2027, 1, 1)),
        ("next friday", FRIDAY, date(2027, 1, 1)),
        ("next monday", date(2026, 12, 26), date(2026, 12, 28)),  # a Saturday
        # Leap years: 29 February waits for the next leap year unless one is given.
        ("29.02", MON, date(2028, 2, 29)),
        ("29.02", date(2028, 2, 28), LEAP_DAY),
        ("29.02", LEAP_DAY, LEAP_DAY),
        ("29.02.2028", MON, LEAP_DAY),
        ("завтра", date(2028, 2, 28), LEAP_DAY),
        ("завтра", LEAP_DAY, date(2028, 3, 1)),
        ("через месяц", date(2027, 1, 31), date(2027, 2, 28)),
        ("через месяц", date(2028, 1, 31), LEAP_DAY),
        ("через 2 года", LEAP_DAY, date(2030, 2, 28)),
        ("к 31 числу", date(2026, 11, 5), date(2026, 12, 31)),  # November has no 31st
    ],
)
def test_next_occurrence_around_year_ends_and_leap_days(
    text: str, today: date, expected: date
) -> None:
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("abc", "unrecognized"),
        ("", "unrecognized"),
        ("   ", "unrecognized"),
        ("32.12", "unrecognized"),
        ("31.02", "unrecognized"),
        ("30.02", "unrecognized"),
        ("31.04", "unrecognized"),
        ("29.02.2027", "unrecognized"),
        ("00.12", "unrecognized"),
        ("12.13", "unrecognized"),
        ("12/25", "unrecognized"),  # month first is not a form we read
        ("25.12/2026", "unrecognized"),  # mixed separators
        ("25 смарта", "unrecognized"),
        ("через 1,5 недели", "unrecognized"),
        ("через много дней", "unrecognized"),
        ("в 3 дня", "unrecognized"),
        ("0 числа", "unrecognized"),
        ("32 числа", "unrecognized"),
        ("следующую", "unrecognized"),
        ("вчера", "past"),
        ("позавчера", "past"),
        ("yesterday", "past"),
        ("25.12.2020", "past"),
        ("25.12.20", "past"),
        ("29.11.2026", "past"),
        ("1 января 2026", "past"),
        ("через 25 месяцев", "too_far"),
        ("через 3 года", "too_far"),
        ("in 1000000 years", "too_far"),
        ("01.12.2028", "too_far"),
        ("25.12.2099", "too_far"),
    ],
)
def test_errors_carry_a_code(text: str, code: str) -> None:
    with pytest.raises(DateInputError) as caught:
        parse_date(text, MON)
    assert caught.value.code == code
    assert str(caught.value) == code


def test_the_horizon_is_two_years_inclusive() -> None:
    assert parse_date("30.11.2028", MON) == date(2028, 11, 30)
    assert parse_date("через 2 года", MON) == date(2028, 11, 30)
    with pytest.raises(DateInputError) as caught:
        parse_date("01.12.2028", MON)
    assert caught.value.code == "too_far"


def test_future_date_refuses_today_unless_allowed() -> None:
    with pytest.raises(DateInputError) as caught:
        parse_future_date("сегодня", MON)
    assert caught.value.code == "past"
    assert parse_future_date("сегодня", MON, allow_today=True) == MON
    assert parse_future_date("завтра", MON) == date(2026, 12, 1)
    with pytest.raises(DateInputError) as caught:
        parse_future_date("вчера", MON, allow_today=True)
    assert caught.value.code == "past"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ru", "25 декабря 2026"),
        ("ru_RU", "25 декабря 2026"),
        ("en", "25 December 2026"),
        ("en-GB", "25 December 2026"),
        ("EN_us", "25 December 2026"),
        ("de", "25 декабря 2026"),  # unsupported languages fall back to Russian
    ],
)
def test_format_date(locale: str, expected: str) -> None:
    assert format_date(FRIDAY, locale) == expected


def test_format_date_uses_genitive_months_and_no_leading_zero() -> None:
    written = [format_date(date(2027, month, 1), "ru") for month in range(1, 13)]
    assert written == [
        f"1 {name} 2027"
        for name in (
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        )
    ]
    assert format_date(date(2027, 5, 3), "en") == "3 May 2027"


todays = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


@st.composite
def today_and_date_ahead(draw: st.DrawFn) -> tuple[date, date]:
    today = draw(todays)
    return today, draw(st.dates(min_value=today, max_value=_two_years_after(today)))


@given(today_and_date_ahead())
def test_any_date_within_the_horizon_reads_back_in_every_written_form(
    pair: tuple[date, date],
) -> None:
    today, target = pair
    assert parse_date(target.strftime("%d.%m.%Y"), today) == target
    assert parse_date(target.strftime("%d.%m.%y"), today) == target
    assert parse_date(target.isoformat(), today) == target
    assert parse_date(format_date(target, "ru"), today) == target
    assert parse_date(format_date(target, "en"), today) == target
    assert parse_date(f"{target:%B} {target.day}, {target.year}", today) == target


@given(todays, st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=31))
def test_day_and_month_without_year_is_the_next_occurrence(
    today: date, month: int, day: int
) -> None:
    assume((month, day) != (2, 29))  # waits for a leap year: covered by examples
    try:
        this_year = date(today.year, month, day)
    except ValueError:
        return  # "31.04" and the like: covered by the error examples
    expected = this_year if this_year >= today else this_year.replace(year=today.year + 1)
    assert parse_date(f"{day}.{month}", today) == expected
    assert parse_date(f"{day:02d}/{month:02d}", today) == expected


@given(todays, st.integers(min_value=0, max_value=730))
def test_in_n_days(today: date, days: int) -> None:
    assert parse_date(f"через {days} дней", today) == today + timedelta(days=days)
    assert parse_date(f"in {days} days", today) == today + timedelta(days=days)


@given(todays, st.integers(min_value=0, max_value=6), st.booleans())
def test_weekdays_land_on_that_weekday(today: date, weekday: int, said_next: bool) -> None:
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    found = parse_date(("next " if said_next else "") + names[weekday], today)
    assert found.weekday() == weekday
    if said_next:
        this_monday = today - timedelta(days=today.weekday())
        assert 7 <= (found - this_monday).days <= 13
    else:
        assert 1 <= (found - today).days <= 7


@given(todays, st.integers(min_value=1, max_value=3000))
def test_explicit_past_dates_are_past(today: date, days_ago: int) -> None:
    past = today - timedelta(days=days_ago)
    with pytest.raises(DateInputError) as caught:
        parse_date(past.strftime("%d.%m.%Y"), today)
    assert caught.value.code == "past"


@given(todays, st.integers(min_value=1, max_value=3000))
def test_dates_beyond_two_years_are_too_far(today: date, days_beyond: int) -> None:
    beyond = _two_years_after(today) + timedelta(days=days_beyond)
    with pytest.raises(DateInputError) as caught:
        parse_date(beyond.strftime("%d.%m.%Y"), today)
    assert caught.value.code == "too_far"


# Pieces of real inputs glued at random reach far more of the parser than random text.
DATE_PIECES = st.sampled_from(
    [*"0123456789./-, ", "через ", "дня", "недели", "декабря", "пятницу", "в ", "next "]
)
date_like_texts = st.lists(DATE_PIECES, max_size=12).map("".join)


@given(todays, st.one_of(st.text(), date_like_texts))
def test_any_text_is_a_date_in_range_or_a_coded_error(today: date, text: str) -> None:
    try:
        found = parse_date(text, today)
    except DateInputError as error:
        assert error.code in ("unrecognized", "past", "too_far")
    else:
        assert today <= found <= _two_years_after(today)


@pytest.mark.parametrize("text", ["через " + "9" * 5000 + " дней", "1" * 5000 + ".12"])
def test_huge_inputs_are_refused_as_unreadable(text: str) -> None:
    with pytest.raises(DateInputError) as caught:
        parse_date(text, MON)
    assert caught.value.code == "unrecognized"
