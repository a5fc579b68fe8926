"""Settings: the texts of the status notices clients get (handlers/notices.py reads them
from the `notice.*` settings keys, with defaults in code), edited per language with a live
preview on a sample order. A placeholder the notices do not know is refused with a clear
message instead of reaching a client as `{typo}`."""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import N_, SUPPORTED_LOCALES, gettext
from core.lifecycle import STATUS_LABELS
from core.models import Order, OrderStatus
from core.pricing import format_money
from core.settings_store import get_values, reset_value, set_value
from handlers.notices import DEFAULTS, ETA_MINUTES, KIND_DEFAULTS, STEP_DEFAULTS, fill
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES
from webapp.panel.inputs import posted_form
from webapp.panel.render import panel_locale
from webapp.panel.settings import settings_page
from webapp.templating import render

PLACEHOLDERS = ("number", "title", "status", "price", "due", "eta")
MAX_TEXT = 2000

TITLES = {
    "paid": N_("Payment received"),
    "confirmed": N_("Order confirmed (no prepayment)"),
    "assigned": N_("Work started (executor assigned)"),
    "ready": N_("Order ready, rest to pay"),
    "delivered": N_("Result delivered"),
    "revision_accepted": N_("Revision request accepted"),
    "revision_declined": N_("Revision request declined"),
    "cancelled": N_("Order cancelled"),
    "step.accepted": N_("Trip: driver assigned"),
    "step.en_route": N_("Trip: driver on the way"),
    "step.on_site": N_("Trip: driver arrived"),
    "step.started": N_("Trip: work started on site"),
    "step.finished": N_("Trip: work finished"),
    "student_paper.assigned": N_("Student paper: author started"),
    "trip.ready": N_("Trip: complete, amount to pay"),
    "trip.delivered": N_("Trip: complete"),
}


class TemplateError(ValueError):
    pass


@dataclass
class Notice:
    name: str  # the key without "notice."
    title: str
    default: str  # message id
    texts: dict[str, str]  # by language, as shown in the form
    customised: bool
    error: str | None = None
    # What a client would read, by language: (text, None) or ("", what is wrong).
    previews: dict[str, tuple[str, str | None]] = field(default_factory=dict)


def add_notice_routes(panel: PanelRoutes) -> None:
    panel.get("/settings/notices", notices_page, Permission.SETTINGS, name="notices")
    panel.post("/settings/notices", save_notice, Permission.SETTINGS)
    panel.post("/settings/notices/preview", preview, Permission.SETTINGS, name="notice_preview")


def defaults() -> dict[str, str]:
    found = dict(DEFAULTS)
    found.update({f"step.{step}": text for step, text in STEP_DEFAULTS.items()})
    found.update({f"{kind}.{name}": text for (kind, name), text in KIND_DEFAULTS.items()})
    return found


def check_template(text: str, locale: str) -> None:
    """Raise TemplateError (a message for people) if the text has a placeholder the
    notices do not fill, or braces that do not pair."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError:
        raise TemplateError(
            gettext("Braces do not pair: write placeholders as {{number}}.", locale).format()
        ) from None
    for name in names:
        if name not in PLACEHOLDERS:
            message = gettext("Unknown placeholder {{{name}}}. Use: {known}.", locale)
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise TemplateError(message.format(name=name, known=known))


async def notices_page(request: web.Request) -> web.StreamResponse:
    async with request.app[SERVICES].uow() as uow:
        notices = await _notices(uow.session, panel_locale(request))
    saved = request.query.get("saved", "")
    return _page(request, notices, saved=saved)


async def save_notice(request: web.Request) -> web.StreamResponse:
    form = await posted_form(request)
    name = str(form.get("name", ""))
    locale = panel_locale(request)
    known = defaults()
    if name not in known:
        raise web.HTTPBadRequest(text="Unknown notice")
    key = f"notice.{name}"
    async with request.app[SERVICES].uow() as uow:
        if form.get("action") == "reset":
            await reset_value(uow.session, key)
            await uow.commit()
            raise web.HTTPSeeOther(f"/settings/notices?saved={name}#notice-{name}")
        texts = {lang: str(form.get(f"text-{lang}", "")).strip() for lang in SUPPORTED_LOCALES}
        error = None
        try:
            for text in texts.values():
                if len(text) > MAX_TEXT:
                    raise TemplateError(gettext("The text is too long.", locale))
                check_template(text, locale)
        except TemplateError as problem:
            error = str(problem)
        if error is not None:
            notices = await _notices(uow.session, locale, (name, texts, error))
            return _page(request, notices, status=422)
        await set_value(uow.session, key, texts)
        await uow.commit()
    raise web.HTTPSeeOther(f"/settings/notices?saved={name}#notice-{name}")


async def preview(request: web.Request) -> web.StreamResponse:
    """An htmx fragment: the text as a client would read it, or what is wrong with it."""
    form = await posted_form(request)
    locale = str(form.get("lang", "")) or panel_locale(request)
    if locale not in SUPPORTED_LOCALES:
        locale = panel_locale(request)
    text = str(form.get("text", form.get(f"text-{locale}", "")))
    async with request.app[SERVICES].uow() as uow:
        shown, error = _preview(
            text, await sample_values(uow.session, locale), panel_locale(request)
        )
    # Always 200: htmx swaps only successful answers, and the error is the content here.
    return render(request, "panel/settings/notice_preview.html", panel_locale(request),
                  text=shown, error=error)  # fmt: skip


async def sample_values(session: AsyncSession, locale: str) -> dict[str, Any]:
    """Values of the newest order with a price, or of a made-up one on an empty desk."""
    order = await session.scalar(
        select(Order).where(Order.client_price.is_not(None)).order_by(Order.id.desc()).limit(1)
    )
    number, title, price = 1042, gettext(N_("Coursework in economics"), locale), 1_250_000
    status = OrderStatus.IN_PROGRESS
    if order is not None:
        number, title, status = order.number, order.title, order.status
        price = order.client_price or 0
    return {
        "number": number,
        "title": title,
        "status": gettext(STATUS_LABELS[status], locale),
        "price": format_money(price, "RUB", locale),
        "due": format_money(price // 2, "RUB", locale),
        "eta": gettext(ETA_MINUTES, locale).format(minutes=15),
    }


async def _notices(
    session: AsyncSession, locale: str, typed: tuple[str, dict[str, str], str] | None = None
) -> list[Notice]:
    """Every notice with its texts and previews; `typed` (name, texts, error) replaces one
    notice's texts with what was sent back with a mistake."""
    stored = await get_values(session, "notice.")
    samples = {lang: await sample_values(session, lang) for lang in SUPPORTED_LOCALES}
    notices = []
    for name, default in defaults().items():
        value = stored.get(f"notice.{name}")
        texts = {lang: _stored_text(value, lang, default) for lang in SUPPORTED_LOCALES}
        notice = Notice(name, TITLES.get(name, name), default, texts, value is not None)
        if typed is not None and typed[0] == name:
            notice.texts, notice.error = typed[1], typed[2]
        notice.previews = {
            lang: _preview(text, samples[lang], locale) for lang, text in notice.texts.items()
        }
        notices.append(notice)
    return notices


def _preview(text: str, values: dict[str, Any], locale: str) -> tuple[str, str | None]:
    try:
        check_template(text, locale)
    except TemplateError as problem:
        return "", str(problem)
    return fill(text, values), None


def _stored_text(value: Any, lang: str, default: str) -> str:
    if value is None:
        return gettext(default, lang)
    if isinstance(value, dict):
        return str(value.get(lang, ""))
    return str(value)


def _page(
    request: web.Request, notices: list[Notice], *, saved: str = "", status: int = 200
) -> web.Response:
    return settings_page(
        request, "panel/settings/notices.html", "notices", notices=notices, saved=saved,
        languages=SUPPORTED_LOCALES, placeholders=PLACEHOLDERS, status=status,
    )  # fmt: skip
