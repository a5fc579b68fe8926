"""The order card: the order's fields (editable by intake staff), its status with only the
actions the staff member may take, the three threads (embedded from the inbox's thread
fragment), files, bids and assignment, payments and ledger lines, and the history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import N_, gettext
from core.lifecycle import OPEN_STATUSES
from core.models import Executor, ExecutorStatus, FilePurpose, Order, OrderKind, PaymentMethod
from core.payments import amount_due, debt_of
from core.pricing import MAX_AMOUNT
from inbox.conversations import order_thread
from inbox.models import Conversation, ConversationKind
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.access.sessions import Staff
from webapp.keys import SERVICES, STAFF
from webapp.panel.order_access import (
    FORM_ACTIONS,
    MONEY_ACTIONS,
    managers,
    may_assign,
    status_actions,
    visible_order,
)
from webapp.panel.order_fields import FieldsForm, blank_form, has_role, specs, stored_answers
from webapp.panel.order_format import ACTION_LABELS, LABELS, Formats
from webapp.panel.render import panel_locale, render_page
from webapp.queries import order_card
from webapp.templating import render

THREAD_TITLES = {
    ConversationKind.CLIENT: N_("Client thread"),
    ConversationKind.EXECUTOR: N_("Executor thread"),
    ConversationKind.NOTES: N_("Internal notes"),
}
FILE_TITLES = {
    FilePurpose.MATERIAL: N_("Materials"),
    FilePurpose.RESULT: N_("Results"),
    FilePurpose.REVISION: N_("Revisions"),
    FilePurpose.ATTACHMENT: N_("Attachments"),
    FilePurpose.DOCUMENT: N_("Documents"),
}
OTHER_LABELS = {
    "title": N_("Title"),
    "deadline": N_("Deadline"),
    "scheduled_at": N_("Date and time"),
    "comment": N_("Comment"),
}
RECORDABLE_METHODS = (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER)

# Messages shown after an action the rules refused (?error=<code> on the card).
ERRORS = {
    "wrong_status": N_("This action is not possible in the order's current status."),
    "role_not_allowed": N_("Your role may not do this."),
    "kind_skips_step": N_("This kind of order does not use this step."),
    "changed_concurrently": N_("Someone has just changed this order. Look at it again."),
    "already_taken": N_("Someone has just changed this order. Look at it again."),
    "price_missing": N_("The order has no price yet."),
    "executor_not_eligible": N_("This executor cannot take the job now (not active or busy)."),
    "no_next_step": N_("The work has no further step."),
    "steps_not_finished": N_("The executor has not finished all the steps yet."),
    "nothing_due": N_("There is nothing to pay for this order right now."),
    "insufficient_funds": N_("There is not enough money on the account for this."),
    "order_closed": N_("A closed order is not edited any more."),
    "rule": N_("The action was refused."),
}
DONE = {
    "saved": N_("Saved."),
    "moved": N_("Done."),
    "paid": N_("The payment is recorded."),
    "created": N_("The order is created."),
}


def add_card_routes(panel: PanelRoutes) -> None:
    panel.get("/orders/{order_id}", card_page, Permission.ORDERS, name="order")
    panel.get("/orders/{order_id}/status", status_block, Permission.ORDERS, name="order_status")


async def card_page(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    async with request.app[SERVICES].uow() as uow:
        order = await visible_order(uow.session, request, staff)
        threads = await ensure_threads(uow.session, order)
        await uow.commit()
        context = await card_context(request, uow.session, order.id)
        card = context["card"]
        stored = stored_answers(card.kind, card.order, request.app[SERVICES].tz)
        form = await blank_form(uow.session, card.kind, panel_locale(request), stored)
        return render_page(
            request, "panel/orders/card.html", section="orders", threads=threads, form=form,
            notice=_message(request), **context,
        )  # fmt: skip


async def render_card(
    request: web.Request, session: AsyncSession, order_id: int, form: FieldsForm, status: int,
    **typed: Any,
) -> web.Response:  # fmt: skip
    """The card again with the field editor showing what was typed and what is wrong."""
    threads = await _thread_ids(session, order_id)
    context = await card_context(request, session, order_id)
    return render_page(
        request, "panel/orders/card.html", section="orders", threads=threads, form=form,
        notice=None, status=status, **(context | typed),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class MoneyInputError:
    """A money figure the card's form could not take: shown next to that form (`form`:
    quote, publish, assign or payment), with what was typed (`typed`) put back in it."""

    form: str
    message: str  # translated
    typed: dict[str, str]


async def money_form_error(
    request: web.Request, session: AsyncSession, order: Order, which: str, message: str,
    typed: dict[str, str],
) -> web.Response:  # fmt: skip
    """The card again (422) with the error on the money form it came from and the typed
    value kept, instead of a separate page that loses it. `message` is a msgid; `{limit}`
    in it is the largest amount Pult takes."""
    locale = panel_locale(request)
    stored = stored_answers(order.kind, order, request.app[SERVICES].tz)
    form = await blank_form(session, order.kind, locale, stored)
    limit = Formats.for_request(request).money(MAX_AMOUNT, order.currency)
    error = MoneyInputError(which, gettext(message, locale).format(limit=limit), typed)
    return await render_card(request, session, order.id, form, 422, money_error=error)


async def status_block(request: web.Request) -> web.StreamResponse:
    """The status part of the card alone: refreshed live when any order changes."""
    staff = request[STAFF]
    async with request.app[SERVICES].uow() as uow:
        order = await visible_order(uow.session, request, staff)
        context = await card_context(request, uow.session, order.id)
        return render(
            request, "panel/orders/_status.html", panel_locale(request), staff=staff,
            csrf_token=staff.csrf_token, Permission=Permission, **context,
        )  # fmt: skip


async def card_context(
    request: web.Request, session: AsyncSession, order_id: int
) -> dict[str, Any]:
    staff: Staff = request[STAFF]
    card = await order_card(session, order_id, messages_per_thread=0)
    if card is None:
        raise web.HTTPNotFound()
    order = card.order
    actions = status_actions(staff, order)
    return {
        "card": card,
        "order": order,
        "fmt": Formats.for_request(request),
        "buttons": [a for a in actions if a not in FORM_ACTIONS],
        "money_actions": MONEY_ACTIONS,
        "can_quote": any(a.value == "quote" for a in actions),
        "can_publish": any(a.value == "publish" for a in actions),
        "can_release": any(a.value == "release" for a in actions),
        "can_assign": may_assign(staff, order),
        "can_edit": staff.can(Permission.INTAKE) and order.status in OPEN_STATUSES,
        "action_labels": ACTION_LABELS,
        "due": amount_due(order, card.money),
        "debt": debt_of(order, card.money),
        "money_error": None,
        "executors": await _active_executors(session) if may_assign(staff, order) else [],
        "managers": await managers(session) if staff.can(Permission.REASSIGN) else [],
        "methods": RECORDABLE_METHODS,
        "file_titles": FILE_TITLES,
        "thread_titles": THREAD_TITLES,
        "has_deadline_field": has_role(card.kind, "deadline"),
        "has_schedule_field": has_role(card.kind, "scheduled_at"),
        "steps": list(card.kind.execution_steps),
        "field_labels": _field_labels(card.kind, panel_locale(request)),
        **LABELS,
    }


def _field_labels(kind: OrderKind, locale: str) -> dict[str, str]:
    """Names of what an edit may change, as the history says them."""
    labels = {key: gettext(label, locale) for key, label in OTHER_LABELS.items()}
    return labels | {spec.key: gettext(spec.label, locale) for spec in specs(kind)}


async def ensure_threads(session: AsyncSession, order: Order) -> dict[ConversationKind, int]:
    """The order's client thread and notes (and executor thread once there is an executor),
    created on first use as the inbox does, so the card can embed them."""
    kinds = [ConversationKind.CLIENT, ConversationKind.NOTES]
    if order.executor_id is not None:
        kinds.insert(1, ConversationKind.EXECUTOR)
    found = await _thread_ids(session, order.id)
    for kind in kinds:
        if kind not in found or kind is ConversationKind.EXECUTOR:
            found[kind] = (await order_thread(session, order, kind)).id
    return {kind: found[kind] for kind in THREAD_TITLES if kind in found}


async def _thread_ids(session: AsyncSession, order_id: int) -> dict[ConversationKind, int]:
    rows = await session.execute(
        select(Conversation.kind, Conversation.id).where(Conversation.order_id == order_id)
    )
    found = {kind: conversation_id for kind, conversation_id in rows}
    return {kind: found[kind] for kind in THREAD_TITLES if kind in found}


async def _active_executors(session: AsyncSession) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(Executor.id, Executor.name)
        .where(Executor.status == ExecutorStatus.ACTIVE)
        .order_by(Executor.name, Executor.id)
    )
    return [(executor_id, name) for executor_id, name in rows]


def _message(request: web.Request) -> tuple[str, str] | None:
    """("error" | "success", message id) from the query string after an action."""
    error = request.query.get("error")
    if error:
        return "error", ERRORS.get(error, ERRORS["rule"])
    done = request.query.get("done")
    if done in DONE:
        return "success", DONE[done]
    return None
