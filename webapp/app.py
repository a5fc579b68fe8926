"""The aiohttp application: routes and the objects its handlers share."""

from __future__ import annotations

from aiohttp import web

from webapp import health, pages
from webapp.keys import SERVICES, TEMPLATES
from webapp.services import HealthCheck, WebServices
from webapp.templating import create_environment

__all__ = ["HealthCheck", "WebServices", "create_app"]


def create_app(services: WebServices) -> web.Application:
    app = web.Application()
    app[SERVICES] = services
    app[TEMPLATES] = create_environment()
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/", pages.index, name="index")
    return app
