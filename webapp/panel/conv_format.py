"""How the inbox and the threads show times, waiting times and channels: in the
installation's time zone, in Russian formats, short enough for a phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core.db import utcnow
from core.i18n import N_, gettext


@dataclass(frozen=True, slots=True)
class ChannelBadge:
    short: str  # two or three letters on the badge
    title: str  # the channel's name (a brand: not translated)


CHANNEL_BADGES = {
    "telegram": ChannelBadge("TG", "Telegram"),
    "email": ChannelBadge("@", "E-mail"),
    "viber": ChannelBadge("Vb", "Viber"),
    "vk": ChannelBadge("VK", "VK"),
    "site": ChannelBadge("Web", N_("Site chat")),
    "sitechat": ChannelBadge("Web", N_("Site chat")),
    "sms": ChannelBadge("SMS", "SMS"),
    "loopback": ChannelBadge("LB", N_("Test channel")),
}
# The order the inbox filter lists channels in (only those the installation has).
KNOWN_CHANNELS = ("telegram", "email", "viber", "vk", "site")

WAITING_MINUTES = N_("waiting {n} min")
WAITING_HOURS = N_("waiting {n} h")
WAITING_DAYS = N_("waiting {n} d")
JUST_NOW = N_("waiting under a minute")


def channel_badge(channel: str | None) -> ChannelBadge:
    if channel is None:
        return ChannelBadge("·", "")
    return CHANNEL_BADGES.get(channel, ChannelBadge(channel[:3].upper(), channel))


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz)


def full_time(moment: datetime, tz: ZoneInfo) -> str:
    """30.11.2026 14:05"""
    return local(moment, tz).strftime("%d.%m.%Y %H:%M")


def short_time(moment: datetime, tz: ZoneInfo, now: datetime | None = None) -> str:
    """14:05 today, 29.11 14:05 this year, else 30.11.2025."""
    at, today = local(moment, tz), local(now or utcnow(), tz)
    if at.date() == today.date():
        return at.strftime("%H:%M")
    if at.year == today.year:
        return at.strftime("%d.%m %H:%M")
    return at.strftime("%d.%m.%Y")


def waiting(since: datetime | None, locale: str, now: datetime | None = None) -> str | None:
    """ "ждёт 25 мин": how long the counterpart has been waiting for an answer."""
    if since is None:
        return None
    minutes = int(((now or utcnow()) - since).total_seconds() // 60)
    if minutes < 1:
        return gettext(JUST_NOW, locale)
    if minutes < 60:
        return gettext(WAITING_MINUTES, locale).format(n=minutes)
    if minutes < 48 * 60:
        return gettext(WAITING_HOURS, locale).format(n=minutes // 60)
    return gettext(WAITING_DAYS, locale).format(n=minutes // (24 * 60))


def waiting_minutes(since: datetime | None, now: datetime | None = None) -> int:
    if since is None:
        return 0
    return max(0, int(((now or utcnow()) - since).total_seconds() // 60))


BYTES = N_("{n} B")
KILOBYTES = N_("{n} KB")
MEGABYTES = N_("{n} MB")


def file_size(size: int, locale: str | None = None) -> str:
    """A file's size such as "12 КБ" or "1,5 МБ" in the page's language; kilobytes are
    rounded up (a small file is never "0 KB")."""
    if size < 1024:
        return gettext(BYTES, locale).format(n=size)
    if size < 1024 * 1024:
        return gettext(KILOBYTES, locale).format(n=-(-size // 1024))
    megabytes = f"{size / 1024 / 1024:.1f}"
    if locale == "ru":
        megabytes = megabytes.replace(".", ",")
    return gettext(MEGABYTES, locale).format(n=megabytes)
