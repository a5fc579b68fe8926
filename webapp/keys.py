"""Typed keys of the objects the application keeps for its handlers."""

from __future__ import annotations

import jinja2
from aiohttp import web

from webapp.services import WebServices

SERVICES = web.AppKey("services", WebServices)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
