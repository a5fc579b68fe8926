"""The people and settings pages: executors, clients, and the owner's settings (general,
discounts, order kinds, notices, staff, channels)."""

from __future__ import annotations

from webapp.access.guard import PanelRoutes
from webapp.panel.channels import add_channel_routes
from webapp.panel.client_merge import add_client_merge_routes
from webapp.panel.clients import add_client_routes
from webapp.panel.executors import add_executor_routes
from webapp.panel.settings import add_settings_routes
from webapp.panel.settings_kinds import add_kind_routes
from webapp.panel.settings_notices import add_notice_routes
from webapp.panel.staff import add_staff_routes


def add_people_and_settings_routes(panel: PanelRoutes) -> None:
    add_executor_routes(panel)
    add_client_routes(panel)
    add_client_merge_routes(panel)
    add_settings_routes(panel)
    add_kind_routes(panel)
    add_notice_routes(panel)
    add_staff_routes(panel)
    add_channel_routes(panel)
