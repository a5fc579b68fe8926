"""Merging two client cards that are one person (the same walk-in entered twice, a bot lead
and a phone order): owner and manager only (Permission.MERGE_CLIENTS), from the card that
stays. `GET /clients/{id}/merge` offers the likely duplicates (the same phone, e-mail or
name) and takes a card number; with `?other=` it shows both cards side by side and what
would move, with the confirming button. `POST /clients/{id}/merge` (`other`, `confirm`)
merges through `inbox.merge.merge_clients` and goes back to the card."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import N_, gettext
from core.models import Client, User
from core.transitions import Actor
from inbox.merge import CannotMerge, merge_clients, what_would_move
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES, STAFF
from webapp.panel.inputs import parse_id
from webapp.panel.people_format import Format
from webapp.panel.render import panel_locale, render_page
from webapp.queries.visibility import client_visible

MAX_CANDIDATES = 10

NOT_A_CARD = N_("There is no client card №{number}.")
SAME_CARD = N_("That is this card itself: choose another client.")
CONFIRM_FIRST = N_("Tick the confirmation to merge the cards.")


def add_client_merge_routes(panel: PanelRoutes) -> None:
    panel.get("/clients/{id:\\d+}/merge", merge_page, Permission.MERGE_CLIENTS, name="client_merge")
    panel.post("/clients/{id:\\d+}/merge", merge, Permission.MERGE_CLIENTS)


async def merge_page(request: web.Request) -> web.StreamResponse:
    keep_id = _id(request.match_info["id"])
    other_text = request.query.get("other", "").strip()
    return await _page(request, keep_id, other_text)


async def merge(request: web.Request) -> web.StreamResponse:
    keep_id = _id(request.match_info["id"])
    form = await request.post()
    other_text = str(form.get("other", "")).strip()
    locale = panel_locale(request)
    if form.get("confirm") != "yes":
        return await _page(request, keep_id, other_text, error=gettext(CONFIRM_FIRST, locale))
    staff = request[STAFF]
    async with request.app[SERVICES].uow() as uow:
        session = uow.session
        await _visible(session, request, keep_id)
        gone_id = _id_or_none(other_text)
        if gone_id is None or not await _can_see(session, request, gone_id):
            error = gettext(NOT_A_CARD, locale).format(number=other_text[:20])
            return await _page(request, keep_id, "", error=error)
        user = await session.get(User, staff.user_id)
        assert user is not None
        try:
            await merge_clients(session, keep_id, gone_id, actor=Actor.staff(user), by=staff.name)
        except CannotMerge as refused:
            await uow.rollback()
            message = SAME_CARD if refused.reason == "same" else NOT_A_CARD
            error = gettext(message, locale).format(number=other_text[:20])
            return await _page(request, keep_id, "", error=error)
        await uow.commit()
    raise web.HTTPSeeOther(f"/clients/{keep_id}?merged={gone_id}")


@dataclass(frozen=True, slots=True)
class Card:
    """What the page shows of one client card (read inside the transaction)."""

    id: int
    name: str
    company: str | None
    phone: str | None
    email: str | None

    @classmethod
    def of(cls, client: Client) -> Card:
        return cls(client.id, client.name, client.company, client.phone, client.email)


async def _page(
    request: web.Request, keep_id: int, other_text: str, *, error: str | None = None
) -> web.StreamResponse:
    locale = panel_locale(request)
    async with request.app[SERVICES].uow() as uow:
        session = uow.session
        keep = await _visible(session, request, keep_id)
        other = None
        if other_text:
            other_id = _id_or_none(other_text)
            if other_id == keep_id:
                error = error or gettext(SAME_CARD, locale)
            elif other_id is not None and await _can_see(session, request, other_id):
                other = await session.get(Client, other_id)
            if other is None and error is None:
                error = gettext(NOT_A_CARD, locale).format(number=other_text[:20])
        keep_counts = await what_would_move(session, keep.id)
        other_counts = await what_would_move(session, other.id) if other else None
        candidates = [] if other else await _candidates(session, request, keep)
        shown = Card.of(keep), Card.of(other) if other else None
        listed = [Card.of(client) for client in candidates]
    return render_page(
        request, "panel/people/client_merge.html", section="clients", keep=shown[0],
        other=shown[1], candidates=listed,
        keep_counts=keep_counts, other_counts=other_counts,
        other_text=other_text[:20], error=error, fmt=Format.for_request(request),
        status=422 if error else 200,
    )  # fmt: skip


async def _candidates(session: AsyncSession, request: web.Request, keep: Client) -> list[Client]:
    """Cards that look like the same person: the same phone, e-mail or name."""
    same = [func.lower(Client.name) == keep.name.lower()]
    if keep.phone:
        same.append(Client.phone == keep.phone)
    if keep.email:
        same.append(func.lower(Client.email) == keep.email.lower())
    found = await session.scalars(
        select(Client)
        .where(Client.id != keep.id, or_(*same), client_visible(request[STAFF].only_assigned_to))
        .order_by(Client.id)
        .limit(MAX_CANDIDATES)
    )
    return list(found)


async def _visible(session: AsyncSession, request: web.Request, client_id: int) -> Client:
    client = await session.get(Client, client_id)
    if client is None or not await _can_see(session, request, client_id):
        raise web.HTTPNotFound(text="No such client")
    return client


async def _can_see(session: AsyncSession, request: web.Request, client_id: int) -> bool:
    """A manager restricted to their own work merges only clients they may open."""
    visible = client_visible(request[STAFF].only_assigned_to)
    found = await session.scalar(select(Client.id).where(Client.id == client_id, visible))
    return found is not None


def _id(text: str) -> int:
    found = _id_or_none(text)
    if found is None:
        raise web.HTTPNotFound(text="No such client")
    return found


def _id_or_none(text: str) -> int | None:
    """A card number as staff type it ("№12", "#12", "12")."""
    return parse_id(text.strip().lstrip("№#"))
