"""The aiohttp application: routes and the objects its handlers share. Channel webhooks
(webapp/telegram.py, ...) are mounted when the runtime hands them in."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from webapp import health
from webapp.keys import SERVICES, TEMPLATES
from webapp.panel.errors import error_pages
from webapp.panel.routes import add_panel_routes
from webapp.payments import add_payment_routes
from webapp.security import security_headers
from webapp.services import HealthCheck, WebServices
from webapp.templating import create_environment

__all__ = ["HealthCheck", "WebServices", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
FORM_FIELDS_ROOM = 1024 * 1024


def create_app(
    services: WebServices, *, webhooks: Iterable[web.AbstractRouteDef] = ()
) -> web.Application:
    # A form may carry files up to the file store's limit (plus room for its other fields);
    # the thread composer streams its uploads and is not bound by this.
    max_body = services.files.max_size + FORM_FIELDS_ROOM
    app = web.Application(middlewares=[security_headers, error_pages], client_max_size=max_body)
    app[SERVICES] = services
    app[TEMPLATES] = create_environment()
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_static("/static/", STATIC_DIR, name="static")
    app.router.add_routes(webhooks)
    add_payment_routes(app, services.payments, services.uow)
    add_panel_routes(app)
    return app
