"""What flows need from the outside world, chosen in runtime/bootstrap.py: a payment
provider, the inbound file intake, the public address of the web app, the installation's
language and the channels it has."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from core.i18n import DEFAULT_LOCALE


@dataclass(frozen=True, slots=True)
class Services:
    # bots.payments.PaymentProviders (its `default` takes the client's money); None: a
    # manager sends the details and records the payment.
    payments: Any = None
    # inbox.files.inbound.InboundFiles; None: files are not taken in (tests without a store).
    files: Any = None
    public_url: str | None = None
    # The business's clock: "tomorrow" and deadlines are read in it (PULT_TIMEZONE).
    tz: tzinfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    # The installation's language (PULT_LOCALE): for people whose own we do not know.
    locale: str = DEFAULT_LOCALE
    # Names of the channels this installation sends on (the ChannelRegistry itself in
    # production, filled after the reactions are registered): with "email" among them, a
    # person whose card has an address is reachable by mail before they ever wrote.
    channels: Container[str] = ()
