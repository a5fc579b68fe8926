"""Signing in and out, changing one's password and language. The sign-in form is protected
against cross-site posting by a double-submit token (a cookie and a form field), since there
is no session yet to hold one."""

from __future__ import annotations

import asyncio
import functools
import hmac
import secrets
from urllib.parse import urlsplit

import sqlalchemy as sa
from aiohttp import web

from core.i18n import SUPPORTED_LOCALES, gettext
from core.models import User
from core.staff import (
    InvalidEmailError,
    StaffError,
    check_new_password,
    hash_password,
    normalize_email,
    password_needs_rehash,
    verify_password,
)
from webapp.access import devices, throttle
from webapp.access.addresses import client_address
from webapp.access.guard import CSRF_FIELD, SESSION_COOKIE, PanelRoutes, current_staff
from webapp.access.permissions import Permission
from webapp.access.sessions import (
    IDLE_LIFETIME,
    SESSIONS_ENDED,
    end_session,
    end_user_sessions,
    start_session,
)
from webapp.keys import SERVICES, STAFF
from webapp.panel.inputs import posted_form
from webapp.panel.render import panel_locale, render_page

LOGIN_CSRF_COOKIE = "pult_login_csrf"
HOME = "/inbox"


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both answers take as long. Made on
    first use (not at import), so it has the parameters of the hasher in use."""
    return hash_password(secrets.token_urlsafe(16))


def add_account_routes(app: web.Application, panel: PanelRoutes) -> None:
    app.router.add_get("/", home, name="index")
    app.router.add_get("/login", login_form, name="login")
    app.router.add_post("/login", login)
    panel.post("/logout", logout, Permission.ACCOUNT, name="logout")
    panel.get("/account/password", password_form, Permission.ACCOUNT, name="password")
    panel.post("/account/password", change_password, Permission.ACCOUNT)
    panel.post("/account/language", change_language, Permission.ACCOUNT, name="language")


async def home(request: web.Request) -> web.StreamResponse:
    signed_in = await current_staff(request) is not None
    raise web.HTTPSeeOther(HOME if signed_in else "/login")


async def login_form(request: web.Request) -> web.StreamResponse:
    if await current_staff(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return _login_page(request, "", None, safe_next(request.query.get("next")))


async def login(request: web.Request) -> web.StreamResponse:
    form = await posted_form(request)
    email_given = str(form.get("email", "")).strip()
    password = str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form_token = str(form.get(CSRF_FIELD, ""))
    locale = panel_locale(request)
    if not cookie_token or not hmac.compare_digest(cookie_token.encode(), form_token.encode()):
        message = gettext("The form has expired; try again.", locale)
        return _login_page(request, email_given, message, target, status=400)
    address = client_address(request)
    try:
        email = normalize_email(email_given)
    except InvalidEmailError:
        email = email_given.lower()
    async with request.app[SERVICES].uow() as uow:
        session = uow.session
        user = await session.scalar(sa.select(User).where(User.email == email))
        # A browser that signed in to this account before is throttled on its own failures.
        device = devices.device_of(request, user.id) if user is not None else None
        if await throttle.is_throttled(session, email, address, device=device):
            message = gettext("Too many failed attempts. Try again in 15 minutes.", locale)
            return _login_page(request, email_given, message, target, status=429)
        if user is not None:
            stored_hash = user.password_hash
        else:
            stored_hash = await asyncio.to_thread(_dummy_hash)
        matches = await asyncio.to_thread(verify_password, stored_hash, password)
        if user is None or not matches or not user.is_active:
            await throttle.record_failure(session, email, address, device=device)
            await uow.commit()
            message = gettext("Wrong e-mail or password.", locale)
            return _login_page(request, email_given, message, target, status=401)
        if password_needs_rehash(user.password_hash):
            user.password_hash = await asyncio.to_thread(hash_password, password)
        await throttle.forget_failures(session, email, device=device)
        token = await start_session(
            session, user, address=address, user_agent=request.headers.get("User-Agent")
        )
        must_change = user.must_change_password
        user_id = user.id
        await uow.commit()
    response = web.HTTPSeeOther("/account/password" if must_change else target)
    set_session_cookie(request, response, token)
    devices.give_device_cookie(request, response, user_id, secure=_is_https(request))
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    async with services.uow() as uow:
        await end_session(uow.session, request.cookies.get(SESSION_COOKIE, ""))
        await uow.commit()
    await services.bus.publish(SESSIONS_ENDED, {"session_id": request[STAFF].session_id})
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def password_form(request: web.Request) -> web.StreamResponse:
    return render_page(request, "panel/password.html", errors=[], done=False)


async def change_password(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    locale = panel_locale(request)
    form = await posted_form(request)
    current = str(form.get("current", ""))
    new = str(form.get("new", ""))
    errors: list[str] = []
    try:
        check_new_password(new, current=current)
    except StaffError as error:
        errors.append(error.localized(locale))
    if new != str(form.get("repeat", "")):
        errors.append(gettext("The two new passwords differ.", locale))
    async with request.app[SERVICES].uow() as uow:
        user = await uow.session.get(User, staff.user_id)
        assert user is not None  # the guard has just found this user
        if not await asyncio.to_thread(verify_password, user.password_hash, current):
            errors.insert(0, gettext("The current password is wrong.", locale))
        if errors:
            return render_page(
                request, "panel/password.html", errors=errors, done=False, status=400
            )
        user.password_hash = await asyncio.to_thread(hash_password, new)
        user.must_change_password = False
        await end_user_sessions(uow.session, staff.user_id, keep_session_id=staff.session_id)
        await uow.commit()
    ended = {"user_id": staff.user_id, "keep_session_id": staff.session_id}
    await request.app[SERVICES].bus.publish(SESSIONS_ENDED, ended)
    if staff.must_change_password:
        # The forced change was all that stood between this person and their work.
        raise web.HTTPSeeOther(HOME)
    return render_page(request, "panel/password.html", errors=[], done=True)


async def change_language(request: web.Request) -> web.StreamResponse:
    form = await posted_form(request)
    language = str(form.get("lang", ""))
    if language in SUPPORTED_LOCALES:
        async with request.app[SERVICES].uow() as uow:
            user = await uow.session.get(User, request[STAFF].user_id)
            if user is not None:
                user.locale = language
            await uow.commit()
    raise web.HTTPSeeOther(safe_next(str(form.get("next", ""))))


# What the WHATWG URL parser (browsers, and yarl for the Location header) drops before it
# reads a URL: every TAB/LF/CR anywhere, C0 controls and spaces at either end.
_URL_IGNORED = str.maketrans("", "", "\t\n\r")
_URL_TRIMMED = "".join(chr(code) for code in range(0x21))


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//evil.example` or `https://...` (open redirect).

    Checked on the URL as a browser will read it: `/\t/evil.example` is `//evil.example`."""
    cleaned = (target or "").translate(_URL_IGNORED).strip(_URL_TRIMMED)
    if not cleaned.startswith("/") or cleaned.startswith("//") or "\\" in cleaned:
        return HOME
    if any(char < " " or char == "\x7f" for char in cleaned):  # no header may carry these
        return HOME
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return HOME
    return cleaned


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(IDLE_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_is_https(request),
    )


def _is_https(request: web.Request) -> bool:
    return request.app[SERVICES].base_url.startswith("https://") or request.secure


def _login_page(
    request: web.Request, email: str, error: str | None, target: str, *, status: int = 200
) -> web.Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render_page(
        request,
        "panel/login.html",
        status=status,
        csrf_token=token,
        email=email,
        error=error,
        next=target,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, path="/login", httponly=True, samesite="Lax",
        secure=_is_https(request),
    )  # fmt: skip
    return response
