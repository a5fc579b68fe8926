"""The operator's intake form for an order taken on the phone (seeds 002, 004): find the
client by the first letters of the name or digits of the phone, or add a new one inline;
the kind and its fields (from the kind's schema in the database, checked as the bot wizard
checks them), deadline, comment and files. Creates the order through core and opens it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import orders
from core.db import utcnow
from core.i18n import N_, gettext
from core.models import Client, FilePurpose, OrderKind, StaffRole
from core.staff import InvalidEmailError, normalize_email
from handlers.answers import Invalid, parse_answer
from inbox.files import FileStoreError, save_file
from inbox.people import normalize_phone
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.access.sessions import Staff
from webapp.keys import SERVICES, STAFF
from webapp.panel.inputs import posted_form
from webapp.panel.order_access import actor_of
from webapp.panel.order_fields import (
    COMMENT_KEY,
    DEADLINE_SPEC,
    FieldsForm,
    blank_form,
    day_end,
    has_role,
    read_form,
    role_moment,
    title_for,
)
from webapp.panel.order_perform import number, text_of
from webapp.panel.render import panel_locale, render_page
from webapp.queries import client_quick_search
from webapp.queries.visibility import client_visible
from webapp.templating import render

PICK_CLIENT = N_("Choose a client from the list or fill in a new client's name.")
BAD_PHONE = N_("The phone number looks wrong: give at least 10 digits.")
BAD_EMAIL = N_("The e-mail address looks wrong.")
SAME_PHONE = N_("{name} already has this phone number: choose them in the list above.")
# For a restricted manager when that client is another manager's: no name, no contact leaks.
OTHERS_PHONE = N_("A client of another manager has this phone number: ask them or an owner.")
NO_KIND = N_("Choose what is ordered.")
BAD_FILE = N_("A file could not be stored: {name}.")
FIX_BELOW = N_("Please correct the marked fields.")
MIN_PHONE_DIGITS = 10


def add_intake_routes(panel: PanelRoutes) -> None:
    panel.get("/orders/new", intake_form, Permission.INTAKE, name="intake")
    panel.post("/orders/new", create, Permission.INTAKE)
    panel.get("/orders/new/clients", client_hits, Permission.INTAKE, name="intake_clients")
    panel.get("/orders/new/fields", kind_fields, Permission.INTAKE, name="intake_fields")


@dataclass
class Intake:
    """What the operator typed (kept when the form comes back with errors)."""

    kind: OrderKind | None
    form: FieldsForm
    client_id: int | None = None
    client_label: str = ""
    new_name: str = ""
    new_phone: str = ""
    new_email: str = ""
    deadline: str = ""
    comment: str = ""
    errors: dict[str, str] = field(default_factory=dict)


async def intake_form(request: web.Request) -> web.StreamResponse:
    async with request.app[SERVICES].uow() as uow:
        kinds = await _kinds(uow.session)
        chosen = _kind_by_id(kinds, number(request.query.get("kind"))) or next(iter(kinds), None)
        locale = panel_locale(request)
        form = await blank_form(uow.session, chosen, locale) if chosen else FieldsForm([])
        intake = Intake(chosen, form, client_id=number(request.query.get("client")))
        # A link from a client's card.
        await _check_client(uow.session, intake, locale, request[STAFF].only_assigned_to)
        intake.errors.clear()
        return _page(request, kinds, intake)


async def kind_fields(request: web.Request) -> web.StreamResponse:
    """The chosen kind's fields (htmx swaps them in when the kind changes)."""
    locale = panel_locale(request)
    async with request.app[SERVICES].uow() as uow:
        kind = _kind_by_id(await _kinds(uow.session), number(request.query.get("kind")))
        if kind is None:
            raise web.HTTPNotFound()
        form = await blank_form(uow.session, kind, locale)
        return render(
            request, "panel/orders/_intake_fields.html", locale,
            intake=Intake(kind, form), form=form, needs_deadline=_needs_deadline(kind),
        )  # fmt: skip


async def client_hits(request: web.Request) -> web.StreamResponse:
    """Clients whose name starts with, or whose phone contains, what is typed so far."""
    text = request.query.get("client_q", "").strip()[:100]
    async with request.app[SERVICES].uow() as uow:
        hits = (
            await client_quick_search(
                uow.session, text, limit=8, only_assigned_to=request[STAFF].only_assigned_to
            )
            if text
            else []
        )
    return render(
        request, "panel/orders/_client_hits.html", panel_locale(request), hits=hits, text=text,
        chosen=None,
    )  # fmt: skip


async def create(request: web.Request) -> web.StreamResponse:
    staff: Staff = request[STAFF]
    services = request.app[SERVICES]
    locale = panel_locale(request)
    posted = await posted_form(request)
    async with services.uow() as uow:
        session = uow.session
        kinds = await _kinds(session)
        kind = _kind_by_id(kinds, number(posted.get("kind")))
        intake = await _read(session, kind, posted, locale, services.tz, staff.only_assigned_to)
        if intake.errors or not intake.form.valid:
            return _page(request, kinds, intake, status=422)
        assert kind is not None
        client = await _client(session, intake)
        title = title_for(kind, intake.form.answers, services.default_locale)
        order = await orders.create_order(
            session, kind=kind, client_id=client.id, actor=actor_of(staff),
            details=_details(intake), title=title,
            manager_id=_manager(staff, client), deadline=_deadline(intake, kind, services.tz),
            scheduled_at=role_moment(kind, intake.form.answers, "scheduled_at", services.tz),
        )  # fmt: skip
        problem = await _files(request, session, posted, order.id, client.id, staff.user_id)
        if problem:
            intake.errors["files"] = gettext(BAD_FILE, locale).format(name=problem)
            return _page(request, kinds, intake, status=422)
        order_id = order.id
        await uow.commit()
    raise web.HTTPSeeOther(f"/orders/{order_id}?done=created")


async def _read(
    session: AsyncSession, kind: OrderKind | None, posted: MultiMapping[Any], locale: str, tz: Any,
    only_assigned_to: int | None,
) -> Intake:  # fmt: skip
    now = utcnow()
    if kind is None:
        intake = Intake(None, FieldsForm([]))
        intake.errors["kind"] = gettext(NO_KIND, locale)
    else:
        form = await read_form(session, kind, posted, locale=locale, now=now, tz=tz)
        intake = Intake(kind, form)
    intake.client_id = number(posted.get("client_id"))
    intake.new_name = text_of(posted, "new_name", 200)
    intake.new_phone = text_of(posted, "new_phone", 40)
    intake.new_email = text_of(posted, "new_email", 254)
    intake.deadline = text_of(posted, "deadline", 40)
    intake.comment = text_of(posted, "comment")
    await _check_client(session, intake, locale, only_assigned_to)
    if kind is not None and _needs_deadline(kind) and intake.deadline:
        try:
            intake.deadline = parse_answer(
                DEADLINE_SPEC, intake.deadline, now=now, tz=tz, choices={}
            )
        except Invalid as wrong:
            intake.errors["deadline"] = wrong.text(locale)
    return intake


async def _check_client(
    session: AsyncSession, intake: Intake, locale: str, only_assigned_to: int | None
) -> None:
    if intake.client_id is not None:
        # Another manager's client is "no such client" to a restricted manager.
        client = await session.scalar(
            select(Client).where(Client.id == intake.client_id, client_visible(only_assigned_to))
        )
        if client is None:
            intake.client_id = None
        else:
            intake.client_label = client.name + (f" · {client.phone}" if client.phone else "")
            return
    if not intake.new_name:
        intake.errors["client"] = gettext(PICK_CLIENT, locale)
        return
    if intake.new_phone:
        phone = normalize_phone(intake.new_phone)
        if len(phone) - 1 < MIN_PHONE_DIGITS:
            intake.errors["new_phone"] = gettext(BAD_PHONE, locale)
            return
        same = await session.scalar(select(Client).where(Client.phone == phone).limit(1))
        if same is not None:
            visible = await session.scalar(
                select(Client.id).where(Client.id == same.id, client_visible(only_assigned_to))
            )
            if visible is None:
                intake.errors["new_phone"] = gettext(OTHERS_PHONE, locale)
            else:
                intake.errors["new_phone"] = gettext(SAME_PHONE, locale).format(name=same.name)
    if intake.new_email:
        try:
            normalize_email(intake.new_email)
        except InvalidEmailError:
            intake.errors["new_email"] = gettext(BAD_EMAIL, locale)


async def _client(session: AsyncSession, intake: Intake) -> Client:
    if intake.client_id is not None:
        client = await session.get(Client, intake.client_id)
        assert client is not None
        return client
    phone = normalize_phone(intake.new_phone) if intake.new_phone else None
    email = normalize_email(intake.new_email) if intake.new_email else None
    client = Client(name=intake.new_name, phone=phone, email=email)
    session.add(client)
    await session.flush()
    return client


def _details(intake: Intake) -> dict[str, Any]:
    details = {key: value for key, value in intake.form.answers.items() if value is not None}
    if intake.comment:
        details[COMMENT_KEY] = intake.comment
    return details


def _deadline(intake: Intake, kind: OrderKind, tz: Any) -> Any:
    if _needs_deadline(kind):
        return day_end(intake.deadline, tz) if intake.deadline else None
    return role_moment(kind, intake.form.answers, "deadline", tz)


def _manager(staff: Staff, client: Client) -> int | None:
    """A manager taking the call keeps the order; an operator leaves it to the client's
    manager, or to whoever picks it up."""
    if staff.role is StaffRole.MANAGER:
        return staff.user_id
    return client.manager_id


async def _files(
    request: web.Request, session: AsyncSession, posted: MultiMapping[Any], order_id: int,
    client_id: int, user_id: int,
) -> str | None:  # fmt: skip
    """Store the attached files as the order's materials; the name of one that failed."""
    store = request.app[SERVICES].files
    for upload in posted.getall("files", []):
        if not isinstance(upload, web.FileField) or not upload.filename:
            continue
        try:
            await save_file(
                session, store, upload.file.read(), original_name=upload.filename,
                purpose=FilePurpose.MATERIAL, order_id=order_id, client_id=client_id,
                uploaded_by=user_id, declared_type=upload.content_type,
            )  # fmt: skip
        except FileStoreError:
            return upload.filename
    return None


def _needs_deadline(kind: OrderKind) -> bool:
    """A kind with no deadline or time field of its own gets a plain deadline input."""
    return not has_role(kind, "deadline") and not has_role(kind, "scheduled_at")


async def _kinds(session: AsyncSession) -> list[OrderKind]:
    found = await session.scalars(
        select(OrderKind).where(OrderKind.is_active.is_(True)).order_by(OrderKind.position)
    )
    return list(found)


def _kind_by_id(kinds: list[OrderKind], kind_id: int | None) -> OrderKind | None:
    return next((kind for kind in kinds if kind.id == kind_id), None)


def _page(
    request: web.Request, kinds: list[OrderKind], intake: Intake, *, status: int = 200
) -> web.Response:
    return render_page(
        request, "panel/orders/intake.html", section="orders", status=status, kinds=kinds,
        intake=intake, form=intake.form, fix_below=FIX_BELOW,
        needs_deadline=_needs_deadline(intake.kind) if intake.kind else False,
    )  # fmt: skip
