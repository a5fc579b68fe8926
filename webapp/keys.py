"""Typed keys of the objects the application keeps for its handlers, and of what the panel
guard puts on a request."""

from __future__ import annotations

import jinja2
from aiohttp import web

from webapp.access.sessions import Staff
from webapp.services import WebServices

SERVICES = web.AppKey("services", WebServices)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
# The signed-in person, set by the panel guard (webapp/access/guard.py).
STAFF = web.RequestKey("staff", Staff)
