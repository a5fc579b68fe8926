"""Downloading a stored file from the panel, `GET /files/{id}`: under a safe name (RFC 5987
for Cyrillic names, the extension made to agree with the sniffed content), with the
sniffed content type, never sniffed again by the browser; pictures open in the page,
everything else is saved."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from sqlalchemy import select

from core.models import Order, StoredFile
from inbox.files import BlobNotFound, InvalidStorageKey, base_type, content_disposition, safe_name
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES, STAFF
from webapp.queries.visibility import order_visible

# Raster images only: an SVG may carry script, so it is always an attachment.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# Even a file opened in a tab runs nothing and loads nothing.
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def add_file_routes(panel: PanelRoutes) -> None:
    panel.get("/files/{id}", download, Permission.INBOX, name="file")


async def download(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    try:
        file_id = int(request.match_info["id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    services = request.app[SERVICES]
    async with services.uow() as uow:
        stored = await uow.session.get(StoredFile, file_id)
        if stored is None:
            raise web.HTTPNotFound()
        if staff.only_assigned_to is not None and stored.order_id is not None:
            visible = select(Order.id).where(
                Order.id == stored.order_id, order_visible(staff.only_assigned_to)
            )
            if await uow.session.scalar(visible) is None:
                raise web.HTTPNotFound()
        # Read before the unit of work ends: leaving it without a commit expires the row.
        key, original_name, content_type = (
            stored.storage_key,
            stored.original_name,
            stored.content_type,
        )
    try:
        path = services.files.path(key)
    except InvalidStorageKey:
        raise web.HTTPNotFound() from None
    if not path.is_file():
        raise web.HTTPNotFound() from BlobNotFound(key)
    disposition: Literal["inline", "attachment"] = (
        "inline" if base_type(content_type) in INLINE_TYPES else "attachment"
    )
    name = safe_name(original_name, content_type)
    return web.FileResponse(
        path,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": content_disposition(name, disposition),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": FILE_POLICY,
            "Cache-Control": "private, max-age=3600",
        },
    )
