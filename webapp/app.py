"""The aiohttp application: routes and the objects its handlers share. Channel webhooks
(webapp/telegram.py, ...) are mounted when the runtime hands them in."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from webapp import health, pages
from webapp.keys import SERVICES, TEMPLATES
from webapp.payments import add_payment_routes
from webapp.services import HealthCheck, WebServices
from webapp.templating import create_environment

__all__ = ["HealthCheck", "WebServices", "create_app"]


def create_app(
    services: WebServices, *, webhooks: Iterable[web.AbstractRouteDef] = ()
) -> web.Application:
    app = web.Application()
    app[SERVICES] = services
    app[TEMPLATES] = create_environment()
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/", pages.index, name="index")
    app.router.add_routes(webhooks)
    add_payment_routes(app, services.payments, services.uow)
    return app
