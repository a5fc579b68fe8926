"""Every panel page module adds its routes here, each behind its permission."""

from __future__ import annotations

from aiohttp import web

from webapp.access.guard import PanelRoutes
from webapp.panel.account import add_account_routes
from webapp.panel.inbox import add_inbox_routes
from webapp.panel.orders import add_orders_routes
from webapp.panel.settings_routes import add_people_and_settings_routes


def add_panel_routes(app: web.Application) -> None:
    panel = PanelRoutes(app)
    add_account_routes(app, panel)
    add_inbox_routes(app, panel)
    add_orders_routes(panel)
    add_people_and_settings_routes(panel)
