"""The guard every panel route passes through, and the registry of panel routes (the
permission test walks it: every route x every role).

    panel = PanelRoutes(app)
    panel.get("/orders", orders.page, Permission.ORDERS, name="orders")

Not signed in: a page request is redirected to the sign-in page (and back afterwards), an
htmx request gets 401 with `HX-Redirect`. Missing permission: 403. A state-changing request
without the session's CSRF token: 403. A temporary password: everything but the account
pages redirects to the password change. A path id out of range is 404 and U+0000 leaves the
query string before any handler sees it (webapp/panel/inputs.py)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from webapp.access.permissions import Permission
from webapp.access.sessions import Staff, find_staff
from webapp.keys import SERVICES, STAFF
from webapp.panel.inputs import cleaned_query, has_nul, out_of_range_path_id
from webapp.panel.render import render_forbidden

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "pult_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class PanelRoute:
    method: str
    path: str
    permission: Permission
    name: str | None


PANEL_ROUTES = web.AppKey("panel_routes", list[PanelRoute])


class PanelRoutes:
    """Adds guarded routes to an app and records them in `app[PANEL_ROUTES]`."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        app.setdefault(PANEL_ROUTES, [])

    def get(
        self, path: str, handler: Handler, permission: Permission, *, name: str | None = None
    ) -> None:
        self.add("GET", path, handler, permission, name=name)

    def post(
        self, path: str, handler: Handler, permission: Permission, *, name: str | None = None
    ) -> None:
        self.add("POST", path, handler, permission, name=name)

    def add(
        self, method: str, path: str, handler: Handler, permission: Permission, *,
        name: str | None = None,
    ) -> None:  # fmt: skip
        self._app.router.add_route(method, path, guarded(handler, permission), name=name)
        self._app[PANEL_ROUTES].append(PanelRoute(method, path, permission, name))


def guarded(handler: Handler, permission: Permission) -> Handler:
    async def guard(request: web.Request) -> web.StreamResponse:
        staff = await current_staff(request)
        if staff is None:
            raise _sign_in_first(request)
        if out_of_range_path_id(request):
            raise web.HTTPNotFound()
        if has_nul(request.query):
            # Before the body is read (a clone cannot be made after): the handler sees the
            # query without U+0000, which PostgreSQL refuses in a text.
            request = request.clone(
                rel_url=request.rel_url.with_query(cleaned_query(request.query))
            )
        if request.method not in SAFE_METHODS and not await _csrf_ok(request, staff):
            raise web.HTTPForbidden(text="CSRF token missing or wrong; reload the page")
        if staff.must_change_password and permission is not Permission.ACCOUNT:
            raise web.HTTPSeeOther("/account/password")
        request[STAFF] = staff
        if not staff.can(permission):
            return render_forbidden(request)
        return await handler(request)

    guard.__name__ = getattr(handler, "__name__", "guard")
    return guard


async def current_staff(request: web.Request) -> Staff | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with request.app[SERVICES].uow() as uow:
        staff = await find_staff(uow.session, token)
        await uow.commit()
    return staff


async def _csrf_ok(request: web.Request, staff: Staff) -> bool:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        sent = str((await request.post()).get(CSRF_FIELD, ""))
    return bool(sent) and hmac.compare_digest(sent.encode(), staff.csrf_token.encode())


def _sign_in_first(request: web.Request) -> web.HTTPException:
    target = "/login?next=" + quote(request.path_qs, safe="")
    if request.headers.get("HX-Request"):
        return web.HTTPUnauthorized(headers={"HX-Redirect": target})
    if request.method in SAFE_METHODS:
        return web.HTTPSeeOther(target)
    return web.HTTPUnauthorized(text="Sign in first")
