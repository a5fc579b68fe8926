"""Errors as pages: a wrong address, a form that expired or a record someone just removed
gets a page in the panel's layout and the person's language, with a way back, instead of a
bare English line. Webhooks, the payment page, health and static files keep their plain
answers (machines read those), and htmx requests keep theirs (htmx swaps nothing on an
error)."""

from __future__ import annotations

from aiohttp import web

from core.i18n import N_
from webapp.access.guard import Handler, current_staff
from webapp.keys import STAFF
from webapp.panel.render import render_page

PLAIN_PREFIXES = ("/telegram", "/pay", "/healthz", "/static", "/ws")

TITLES = {
    400: N_("The request could not be understood"),
    403: N_("The action was refused"),
    404: N_("Nothing here"),
    405: N_("The request could not be understood"),
    409: N_("Someone changed this a moment ago"),
    413: N_("The file is too large"),
    422: N_("The request could not be understood"),
}
HINTS = {
    400: N_("Go back and try again."),
    403: N_("The page may have been open too long. Reload it and try again."),
    404: N_("The page does not exist, or it is not yours to see."),
    405: N_("Go back and try again."),
    409: N_("Reload the page to see the current state."),
    413: N_("Send a smaller file."),
    422: N_("Go back and try again."),
}


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:
        if not _as_page(request, error):
            raise
        if request.get(STAFF) is None:
            staff = await current_staff(request)
            if staff is not None:
                request[STAFF] = staff
        return render_page(
            request, "panel/error.html", status=error.status,
            title=TITLES[error.status], hint=HINTS[error.status],
        )  # fmt: skip


def _as_page(request: web.Request, error: web.HTTPException) -> bool:
    return (
        error.status in TITLES
        and not request.path.startswith(PLAIN_PREFIXES)
        and not request.headers.get("HX-Request")
    )
