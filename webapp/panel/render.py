"""Rendering panel pages: the layout's navigation, the signed-in person, their language and
the CSRF token every form and htmx request carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from core.i18n import N_, normalize_locale
from webapp.access.permissions import Permission
from webapp.keys import SERVICES, STAFF
from webapp.locale import request_locale
from webapp.templating import render


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    href: str
    label: str  # message id, translated in the template
    permission: Permission


ROLE_LABELS = {"owner": N_("Owner"), "manager": N_("Manager"), "operator": N_("Operator")}

SECTIONS = (
    Section("inbox", "/inbox", N_("Inbox"), Permission.INBOX),
    Section("orders", "/orders", N_("Orders"), Permission.ORDERS),
    Section("exchange", "/exchange", N_("Exchange"), Permission.EXCHANGE),
    Section("executors", "/executors", N_("Executors"), Permission.EXECUTORS),
    Section("clients", "/clients", N_("Clients"), Permission.CLIENTS),
    Section("settings", "/settings", N_("Settings"), Permission.SETTINGS),
)


def panel_locale(request: web.Request) -> str:
    """`?lang=` when given, else the staff member's own choice, else the browser's."""
    default = request.app[SERVICES].default_locale
    staff = request.get(STAFF)
    if "lang" not in request.query and staff is not None and staff.locale:
        return normalize_locale(staff.locale)
    return request_locale(request, default)


def render_page(
    request: web.Request, name: str, *, section: str | None = None, status: int = 200,
    **context: Any,
) -> web.Response:  # fmt: skip
    """A page in the panel layout (`templates/panel/base.html`)."""
    staff = request.get(STAFF)
    sections = [s for s in SECTIONS if staff is not None and staff.can(s.permission)]
    response = render(
        request,
        name,
        panel_locale(request),
        staff=staff,
        csrf_token=staff.csrf_token if staff is not None else context.pop("csrf_token", ""),
        sections=sections,
        section=section,
        version=request.app[SERVICES].version,
        Permission=Permission,
        role_labels=ROLE_LABELS,
        current_path=request.path_qs,
        **context,
    )
    response.set_status(status)
    return response


def render_forbidden(request: web.Request) -> web.Response:
    return render_page(request, "panel/forbidden.html", status=403)
