"""The common path of every order action posted from the card: find the order the staff
member may see, run the core call in one unit of work, turn the rules' refusals into a
message on the card, and redirect back (POST, redirect, GET)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiMapping
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import N_, gettext
from core.ledger import InsufficientFunds
from core.lifecycle import Action, TransitionError
from core.models import Order
from core.payments import PaymentRefused
from core.transitions import OrderRuleError
from handlers.numbers import NumberInputError, parse_money
from webapp.access.permissions import Permission
from webapp.access.sessions import Staff
from webapp.keys import SERVICES, STAFF
from webapp.panel.inputs import parse_id, posted_form
from webapp.panel.order_access import ACTION_PERMISSIONS, actor_of, status_actions, visible_order
from webapp.panel.render import panel_locale, render_page

Work = Callable[[AsyncSession, Order, Staff, MultiMapping[Any]], Awaitable[Any]]
REFUSALS = (TransitionError, OrderRuleError, PaymentRefused, InsufficientFunds)
MAX_COMMENT = 2000
# Pages other than the card an action may return to (the `back` field).
BACK_PAGES = frozenset({"/exchange"})
CONFIRMED = "confirmed"  # the field a confirmation page adds to the repeated form


def card_url(order_id: int, **query: str) -> str:
    return f"/orders/{order_id}" + (f"?{urlencode(query)}" if query else "")


def reason_of(refused: Exception) -> str:
    if isinstance(refused, InsufficientFunds):
        return "insufficient_funds"
    return str(getattr(refused, "reason", "rule"))


async def perform(request: web.Request, work: Work, done: str = "moved") -> web.StreamResponse:
    """Run `work` on the order in the URL in one unit of work. It may answer with a page
    (a confirmation, an input error): then nothing is committed. Otherwise the work is
    committed and the card is shown again, with the rules' refusal if there was one."""
    staff = request[STAFF]
    form = await posted_form(request)
    async with request.app[SERVICES].uow() as uow:
        order = await visible_order(uow.session, request, staff)
        order_id = order.id
        try:
            outcome = await work(uow.session, order, staff, form)
        except REFUSALS as refused:
            raise web.HTTPSeeOther(card_url(order_id, error=reason_of(refused))) from None
        if isinstance(outcome, web.StreamResponse):
            return outcome
        await uow.commit()
    if form.get("back") in BACK_PAGES:
        raise web.HTTPSeeOther(str(form["back"]))
    raise web.HTTPSeeOther(card_url(order_id, done=done))


def problem(request: web.Request, order_id: int, message: str, status: int = 422) -> web.Response:
    """An input the action cannot take, said plainly (`message` is a msgid), with the way
    back."""
    return render_page(
        request, "panel/orders/problem.html", section="orders", status=status,
        order_id=order_id, message=message,
    )  # fmt: skip


def confirmed(form: MultiMapping[Any]) -> bool:
    return form.get(CONFIRMED) == "1"


def text_of(form: MultiMapping[Any], name: str, limit: int = MAX_COMMENT) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


TOO_LARGE = N_("That is more than Pult takes as one amount: at most {limit}.")


def money_message(error: NumberInputError, bad: str) -> str:
    """The msgid for an amount that could not be read: too large, or `bad` (what the form
    expects, for example "a number of roubles")."""
    return TOO_LARGE if error.code == "too_large" else bad


def typed_of(form: MultiMapping[Any], *names: str) -> dict[str, str]:
    """What was typed in these fields, to put back into the form with an error."""
    return {name: text_of(form, name, 50) for name in names}


def money_of(form: MultiMapping[Any], name: str) -> int | None:
    """Kopecks from "1 500", "1500,50"; None when empty; NumberInputError when wrong."""
    text = text_of(form, name, 50)
    return parse_money(text) if text else None


def number(raw: Any) -> int | None:
    """An id from a form or a query (webapp/panel/inputs.py: 1 .. 2**31 - 1), else None."""
    return parse_id(raw)


def say(request: web.Request, message: str) -> str:
    return gettext(message, panel_locale(request))


def action_in(request: web.Request, permission: Permission) -> Action:
    """The action in the URL, if it is one this route's permission covers; else 404."""
    name = request.match_info.get("action", "")
    if name not in Action.__members__.values():
        raise web.HTTPNotFound()
    action = Action(name)
    if ACTION_PERMISSIONS.get(action) is not permission:
        raise web.HTTPNotFound()
    return action


def ensure_allowed(staff: Staff, order: Order, action: Action) -> None:
    """The card showed no such button: the order moved on, or the role may not."""
    if action not in status_actions(staff, order):
        raise TransitionError(action, order.status, actor_of(staff).role, "wrong_status")
