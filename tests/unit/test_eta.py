"""Reading a driver's arrival time: durations in Russian and English, clock times as their
next occurrence in the business's clock, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.eta import EtaInputError, eta_data, parse_eta

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 3, 1, 20, 50, tzinfo=UTC)  # 23:50 in Moscow


@pytest.mark.parametrize(
    ("said", "minutes"),
    [
        ("40", 40),
        ("40 мин", 40),
        ("40мин.", 40),
        ("через 40 минут", 40),
        ("in 40 minutes", 40),
        ("сорок минут", 40),
        ("через полчаса", 30),
        ("час", 60),
        ("через 1 час", 60),
        ("an hour", 60),
        ("полтора часа", 90),
        ("1,5 ч", 90),
        ("2h", 120),
        ("около 2 часов", 120),
    ],
)
def test_a_duration_counts_from_now(said: str, minutes: int) -> None:
    eta = parse_eta(said, NOW, MOSCOW)
    assert eta.minutes == minutes
    assert (eta.at - NOW).total_seconds() == minutes * 60


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("23:55", datetime(2026, 3, 1, 23, 55, tzinfo=MOSCOW)),
        ("в 00:20", datetime(2026, 3, 2, 0, 20, tzinfo=MOSCOW)),  # after midnight: tonight
        ("at 9.05", datetime(2026, 3, 2, 9, 5, tzinfo=MOSCOW)),
        ("к 14:30", datetime(2026, 3, 2, 14, 30, tzinfo=MOSCOW)),
    ],
)
def test_a_clock_time_is_its_next_occurrence_in_the_business_clock(
    said: str, expected: datetime
) -> None:
    eta = parse_eta(said, NOW, MOSCOW)
    assert eta.at == expected and eta.minutes is None


@pytest.mark.parametrize("said", ["скоро", "", "0", "2000 минут", "25:00", "14:75", "завтра"])
def test_what_is_not_an_arrival_time_is_refused(said: str) -> None:
    with pytest.raises(EtaInputError):
        parse_eta(said, NOW, MOSCOW)


def test_the_event_data_keeps_an_iso_moment_with_the_offset_and_the_minutes() -> None:
    assert eta_data(parse_eta("40 минут", NOW, MOSCOW)) == {
        "eta": "2026-03-02T00:30:00+03:00",
        "eta_minutes": 40,
    }
    assert eta_data(parse_eta("в 9:05", NOW, MOSCOW))["eta_minutes"] is None
