"""How the inbox words waiting times and shows moments, in the installation's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from webapp.panel.conv_format import channel_badge, full_time, short_time, waiting

NOW = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 14:00 in Moscow
MOSCOW = ZoneInfo("Europe/Moscow")


def test_waiting_time_is_said_in_minutes_hours_or_days() -> None:
    def said(minutes: int, locale: str = "ru") -> str | None:
        return waiting(NOW - timedelta(minutes=minutes), locale, NOW)

    assert said(25) == "ждёт 25 мин"
    assert said(0) == "ждёт меньше минуты"
    assert said(3 * 60 + 10) == "ждёт 3 ч"
    assert said(3 * 24 * 60) == "ждёт 3 дн"
    assert said(25, "en") == "waiting 25 min"
    assert waiting(None, "ru", NOW) is None


def test_times_are_shown_in_the_installations_zone() -> None:
    assert full_time(NOW, MOSCOW) == "30.11.2026 14:00"
    assert short_time(NOW - timedelta(hours=1), MOSCOW, NOW) == "13:00"
    assert short_time(NOW - timedelta(days=2), MOSCOW, NOW) == "28.11 14:00"
    assert short_time(NOW - timedelta(days=400), MOSCOW, NOW) == "26.10.2025"


def test_every_channel_gets_a_badge() -> None:
    assert channel_badge("telegram").short == "TG"
    assert channel_badge("whatsapp").short == "WHA"
    assert channel_badge(None).title == ""
