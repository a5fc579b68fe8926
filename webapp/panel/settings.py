"""Settings (the owner's): the general page (digest time, what managers see, the default
prepayment of new kinds) and the cumulative discount tiers. Order kinds, notice templates,
staff and channels have their own modules (settings_kinds, settings_notices, staff,
channels); all share the tab bar in templates/panel/settings/_tabs.html."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select

from core.i18n import N_, gettext
from core.models import DiscountTier
from core.pricing import BP_SCALE
from core.settings_store import (
    DIGEST_TIME,
    MANAGERS_SEE_ALL,
    PREPAYMENT_DEFAULT,
    SettingError,
    SettingKey,
    get_setting,
    set_setting,
)
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES
from webapp.panel.inputs import parse_count, parse_id, posted_form
from webapp.panel.people_format import Format
from webapp.panel.render import panel_locale, render_page

CURRENCY = "RUB"
MAX_TIERS = 20
_AMOUNT = re.compile(r"^\d{1,12}([.,]\d{1,2})?$")
_PERCENT = re.compile(r"^\d{1,3}([.,]\d{1,2})?$")


def add_settings_routes(panel: PanelRoutes) -> None:
    panel.get("/settings", general_page, Permission.SETTINGS, name="settings")
    panel.post("/settings", save_general, Permission.SETTINGS)
    panel.get("/settings/discounts", discounts_page, Permission.SETTINGS, name="discounts")
    panel.post("/settings/discounts", save_discounts, Permission.SETTINGS)


def settings_page(
    request: web.Request, template: str, tab: str, *, status: int = 200, **context: Any
) -> web.Response:
    """A settings sub-page: the settings section, its tab bar and the format helpers."""
    fmt = Format.for_request(request)
    return render_page(
        request, template, section="settings", settings_tab=tab, settings_tabs=TABS, fmt=fmt,
        status=status, **context,
    )  # fmt: skip


# --- general -------------------------------------------------------------------------


async def general_page(request: web.Request) -> web.StreamResponse:
    async with request.app[SERVICES].uow() as uow:
        prepayment: int = await get_setting(uow.session, PREPAYMENT_DEFAULT)
        values: dict[str, Any] = {
            "digest_time": await get_setting(uow.session, DIGEST_TIME),
            "managers_see_all": await get_setting(uow.session, MANAGERS_SEE_ALL),
            "prepayment": str(prepayment),
        }
    saved = request.query.get("saved") == "1"
    return settings_page(request, "panel/settings/general.html", "general", values=values,
                         errors={}, saved=saved)  # fmt: skip


async def save_general(request: web.Request) -> web.StreamResponse:
    form = await posted_form(request)
    values: dict[str, Any] = {
        "digest_time": str(form.get("digest_time", "")).strip(),
        "managers_see_all": form.get("managers_see_all") == "1",
        "prepayment": str(form.get("prepayment", "")).strip(),
    }
    locale = panel_locale(request)
    errors: dict[str, str] = {}
    async with request.app[SERVICES].uow() as uow:
        # Refused by the check below with its own message when not 0..100 (or not a number).
        prepayment: Any = parse_count(values["prepayment"], max_digits=6)
        changes: list[tuple[str, SettingKey[Any], Any]] = [
            ("digest_time", DIGEST_TIME, values["digest_time"]),
            ("managers_see_all", MANAGERS_SEE_ALL, values["managers_see_all"]),
            ("prepayment", PREPAYMENT_DEFAULT, prepayment),
        ]
        for name, key, value in changes:
            try:
                await set_setting(uow.session, key, value)
            except SettingError as error:
                errors[name] = gettext(error.msgid, locale).format(**error.params)
        if errors:
            await uow.rollback()
            return settings_page(request, "panel/settings/general.html", "general",
                                 values=values, errors=errors, saved=False, status=422)  # fmt: skip
        await uow.commit()
    raise web.HTTPSeeOther("/settings?saved=1")


# --- discount tiers ------------------------------------------------------------------


@dataclass
class TierInput:
    """One row of the tiers form as typed (kept when the form comes back with errors)."""

    tier_id: int | None
    threshold: str
    percent: str
    delete: bool = False
    error: str | None = None
    threshold_minor: int = 0
    discount_bp: int = 0


async def discounts_page(request: web.Request) -> web.StreamResponse:
    async with request.app[SERVICES].uow() as uow:
        tiers = await _tiers(uow.session)
        rows = [
            TierInput(t.id, _hundredths(t.threshold), _hundredths(t.discount_bp)) for t in tiers
        ]
    saved = request.query.get("saved") == "1"
    return settings_page(request, "panel/settings/discounts.html", "discounts", rows=rows,
                         new=TierInput(None, "", ""), saved=saved, error=None)  # fmt: skip


async def save_discounts(request: web.Request) -> web.StreamResponse:
    form = await posted_form(request)
    locale = panel_locale(request)
    rows = [
        TierInput(int(tier_id), str(form.get(f"threshold-{tier_id}", "")).strip(),
                  str(form.get(f"percent-{tier_id}", "")).strip(),
                  delete=form.get(f"delete-{tier_id}") == "1")
        for tier_id in (str(value) for value in form.getall("tier", [])) if parse_id(tier_id)
    ]  # fmt: skip
    new = TierInput(None, str(form.get("threshold-new", "")).strip(),
                    str(form.get("percent-new", "")).strip())  # fmt: skip
    wanted = [row for row in rows if not row.delete]
    if new.threshold or new.percent:
        wanted.append(new)
    error = _check_tiers(wanted, locale)
    if error is not None or any(row.error for row in wanted):
        return settings_page(request, "panel/settings/discounts.html", "discounts", rows=rows,
                             new=new, saved=False, error=error, status=422)  # fmt: skip
    async with request.app[SERVICES].uow() as uow:
        session = uow.session
        existing = {tier.id: tier for tier in await _tiers(session)}
        for tier in existing.values():
            await session.delete(tier)
        await session.flush()  # thresholds may move between rows: clear the unique key first
        for row in wanted:
            session.add(DiscountTier(currency=CURRENCY, threshold=row.threshold_minor,
                                     discount_bp=row.discount_bp))  # fmt: skip
        await uow.commit()
    raise web.HTTPSeeOther("/settings/discounts?saved=1")


def _check_tiers(rows: list[TierInput], locale: str) -> str | None:
    for row in rows:
        threshold = row.threshold.replace(" ", "").replace("\u00a0", "")
        percent = row.percent.replace(" ", "").rstrip("%")
        if not _AMOUNT.match(threshold):
            row.error = gettext("Enter the amount in roubles, for example 50000.", locale)
            continue
        if not _PERCENT.match(percent):
            row.error = gettext("Enter the discount in percent, for example 5 or 2,5.", locale)
            continue
        row.threshold_minor = parse_minor(threshold)
        row.discount_bp = parse_minor(percent)
        if not 0 < row.discount_bp <= BP_SCALE:
            row.error = gettext("The discount must be above 0 and at most 100 %.", locale)
    if len(rows) > MAX_TIERS:
        return gettext("At most {limit} tiers.", locale).format(limit=MAX_TIERS)
    thresholds = [row.threshold_minor for row in rows if not row.error]
    if len(set(thresholds)) != len(thresholds):
        return gettext("Two tiers start at the same amount.", locale)
    return None


def parse_minor(text: str) -> int:
    """ "1500,5" -> 150050: a decimal with at most two places, in hundredths."""
    units, _, fraction = text.replace(",", ".").partition(".")
    return int(units) * 100 + int((fraction + "00")[:2])


def _hundredths(minor: int) -> str:
    """150050 -> "1500,50"; 500 -> "5" (the inverse of parse_minor)."""
    units, cents = divmod(minor, 100)
    return f"{units},{cents:02d}" if cents else str(units)


async def _tiers(session: Any) -> list[DiscountTier]:
    return list(
        await session.scalars(
            select(DiscountTier)
            .where(DiscountTier.currency == CURRENCY)
            .order_by(DiscountTier.threshold)
        )
    )


# The settings tab bar: (key, link, label).
TABS = (
    ("general", "/settings", N_("General")),
    ("kinds", "/settings/kinds", N_("Order kinds")),
    ("discounts", "/settings/discounts", N_("Discounts")),
    ("notices", "/settings/notices", N_("Notices")),
    ("staff", "/settings/staff", N_("Staff")),
    ("channels", "/settings/channels", N_("Channels")),
)
