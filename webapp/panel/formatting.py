"""What every panel template gets as `fmt`: texts in the page's language, moments in the
installation's clock, money in roubles, order statuses. Areas extend it with their own
words (webapp/panel/order_format.py, people_format.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Self
from zoneinfo import ZoneInfo

from aiohttp import web

from core.db import utcnow
from core.i18n import gettext
from core.kinds import STEP_LABELS
from core.lifecycle import STATUS_LABELS
from core.models import OrderStatus
from core.pricing import format_money
from webapp.keys import SERVICES
from webapp.panel.conv_format import file_size
from webapp.panel.render import panel_locale


class PageFormat:
    def __init__(self, locale: str, tz: ZoneInfo, now: datetime | None = None) -> None:
        self.locale = locale
        self.tz = tz
        self.now = now or utcnow()

    @classmethod
    def for_request(cls, request: web.Request) -> Self:
        return cls(panel_locale(request), request.app[SERVICES].tz)

    def t(self, message: str) -> str:
        return gettext(message, self.locale)

    def money(self, amount: int | None, currency: str = "RUB") -> str:
        return "—" if amount is None else format_money(amount, currency, self.locale)

    def when(self, moment: datetime | None) -> str:
        return "—" if moment is None else moment.astimezone(self.tz).strftime("%d.%m.%Y %H:%M")

    def day(self, moment: datetime | None) -> str:
        return "—" if moment is None else moment.astimezone(self.tz).strftime("%d.%m.%Y")

    def size(self, size: int) -> str:
        """A file's size in the page's language."""
        return file_size(size, self.locale)

    def step(self, step: str | None) -> str:
        """An execution step by its label (a kind's own step name is shown as it is)."""
        return "" if not step else self.t(STEP_LABELS.get(step, step))

    def status(self, status: OrderStatus | str | None) -> str:
        """An order status in words."""
        return "—" if status is None else self.t(STATUS_LABELS[OrderStatus(status)])
