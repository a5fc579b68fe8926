"""The unified inbox (placeholder until the inbox page lands)."""

from __future__ import annotations

from aiohttp import web

from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.panel.render import render_page


def add_inbox_routes(panel: PanelRoutes) -> None:
    panel.get("/inbox", inbox, Permission.INBOX, name="inbox")


async def inbox(request: web.Request) -> web.StreamResponse:
    return render_page(request, "panel/inbox.html", section="inbox")
