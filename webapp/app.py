"""The aiohttp application: routes and the objects its handlers share. Channel webhooks
(webapp/telegram.py, ...) are mounted when the runtime hands them in."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from webapp import health
from webapp.keys import SERVICES, TEMPLATES
from webapp.panel.routes import add_panel_routes
from webapp.payments import add_payment_routes
from webapp.security import security_headers
from webapp.services import HealthCheck, WebServices
from webapp.templating import create_environment

__all__ = ["HealthCheck", "WebServices", "create_app"]

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(
    services: WebServices, *, webhooks: Iterable[web.AbstractRouteDef] = ()
) -> web.Application:
    app = web.Application(middlewares=[security_headers])
    app[SERVICES] = services
    app[TEMPLATES] = create_environment()
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_static("/static/", STATIC_DIR, name="static")
    app.router.add_routes(webhooks)
    add_payment_routes(app, services.payments, services.uow)
    add_panel_routes(app)
    return app
