"""Pages for people. For now only the start page that says Pult is up."""

from __future__ import annotations

from aiohttp import web

from webapp.keys import SERVICES
from webapp.locale import request_locale
from webapp.templating import render


async def index(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    locale = request_locale(request, services.default_locale)
    return render(request, "index.html", locale, version=services.version)
