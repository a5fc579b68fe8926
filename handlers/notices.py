"""Status notices to the client: when an order moves, its client hears about it from the
bot, in a text from a template (editable in the panel, defaults here), or as a card with
buttons (the quote, the ready order with Pay, the delivered result with its files, the
rating). Moves inside the desk (evaluation, review, a return to the executor) stay quiet,
and so do the client's own actions: the flow that took them has answered already.

Templates live in the `settings` table, most specific key first (see `template_keys`):
`notice.<kind_code>.step.<step>`, `notice.step.<step>` for a trip's execution steps;
`notice.<kind_code>.<name>`, `notice.<name>` otherwise. A value is one text, or texts by
language (`{"ru": "...", "en": "..."}`); an empty one switches that notice off. Texts may
use {number}, {title}, {status}, {price}, {due} and {eta}."""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import DomainEvent, OrderTransitioned
from core.i18n import N_, gettext
from core.models import Client, FilePurpose, Order, OrderEvent, OrderStatus, Setting, StoredFile
from core.payments import due_now
from handlers.cards import money, quote_reply, status_label, t
from handlers.client import PAY, REQUEST_REVISION, rating_reply
from handlers.engine import send_replies
from handlers.recipients import client_identity, locale_of
from handlers.reply import Reply, button, rows
from handlers.services import Services
from inbox.channel import OutgoingFile

log = logging.getLogger(__name__)

S = OrderStatus

# Default texts by notice name (see `notice_name`); a kind's own default wins over these.
DEFAULTS = {
    "paid": N_("Payment for order №{number} is received, thank you! We are starting the work."),
    "confirmed": N_("Order №{number} is confirmed. We are starting the work."),
    "assigned": N_("Work on order №{number} has started."),
    "ready": N_("Order №{number} is ready! To receive the result, please pay the rest: {due}."),
    "delivered": N_("Here is the result of order №{number}. Thank you for your order!"),
    "revision_accepted": N_(
        "Your revision request for order №{number} is accepted: the work is being corrected."
    ),
    "revision_declined": N_(
        "Your revision request for order №{number} is reviewed: the manager will explain the "
        "decision in this chat."
    ),
    "cancelled": N_("Order №{number} is cancelled. If you have questions, just write here."),
}
KIND_DEFAULTS = {
    ("student_paper", "assigned"): N_("An author has started working on order №{number}."),
    ("trip", "ready"): N_("Order №{number} is complete. Amount to pay: {due}."),
    ("trip", "delivered"): N_("Order №{number} is complete. Thank you for choosing us!"),
}
STEP_DEFAULTS = {
    "accepted": N_("A driver is assigned to order №{number}."),
    "en_route": N_("The driver is on the way (order №{number}). Expected arrival: {eta}."),
    "on_site": N_("The driver has arrived (order №{number})."),
    "started": N_("Work on order №{number} has started on site."),
    "finished": N_("Work on order №{number} is finished."),
}
# A step a kind names itself and no template covers.
ANY_STEP = N_("Order №{number}: {status}.")
ETA_UNKNOWN = N_("to be confirmed")
ETA_MINUTES = N_("in about {minutes} min")
# Why a notice does not go out (`why_client_misses_step`).
UNREACHABLE = "unreachable"
SWITCHED_OFF = "switched_off"


async def why_client_misses_step(
    session: AsyncSession, order: Order, step: str, services: Services
) -> str | None:
    """Why the client will not hear that their order reached a trip's `step`: UNREACHABLE
    (no channel to write to), SWITCHED_OFF (the step's notice is turned off); None when the
    notice goes out. The same reachability and template the reaction uses, so what the
    driver is told matches what the client gets."""
    identity = await client_identity(session, order.client_id, services.channels)
    if identity is None:
        return UNREACHABLE
    client = await session.get(Client, order.client_id)
    locale = locale_of(identity, services.locale, client.locale if client else None)
    template = await notice_template(session, order.kind.code, order.status.value, step, locale)
    return SWITCHED_OFF if template is None else None


def template_keys(kind_code: str, status: str, step: str | None) -> list[str]:
    """Settings keys of a notice's template, most specific first."""
    if step is not None:
        return [f"notice.{kind_code}.step.{step}", f"notice.step.{step}"]
    return [f"notice.{kind_code}.{status}", f"notice.{status}"]


async def notice_template(
    session: AsyncSession, kind_code: str, status: str, step: str | None, locale: str
) -> str | None:
    """The text of a notice in `locale`: a stored template first, else the default in code;
    None when there is no such notice or a stored template switched it off."""
    keys = template_keys(kind_code, status, step)
    stored = {
        row.key: row.value
        for row in await session.scalars(select(Setting).where(Setting.key.in_(keys)))
    }
    for key in keys:
        if key in stored:
            return _in_language(stored[key], locale)
    default = _default(kind_code, status, step)
    return gettext(default, locale) if default else None


def _default(kind_code: str, status: str, step: str | None) -> str | None:
    if step is not None:
        return STEP_DEFAULTS.get(step, ANY_STEP)
    return KIND_DEFAULTS.get((kind_code, status), DEFAULTS.get(status))


def _in_language(value: Any, locale: str) -> str | None:
    if isinstance(value, dict):
        value = value.get(locale) or next((text for text in value.values() if text), None)
    return value if isinstance(value, str) and value.strip() else None


class _LeaveUnknown(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: dict[str, Any]) -> str:
    """Placeholders filled in; a template typed in the panel with an unknown or broken
    placeholder is shown as typed rather than failing the change that caused it."""
    try:
        return template.format_map(_LeaveUnknown(values))
    except (ValueError, IndexError, AttributeError):
        return template


def notice_name(event: OrderTransitioned, kind_steps: list[str]) -> str | None:
    """Which notice a move means for the client, or None for moves they do not hear of."""
    if event.actor_role == "client":
        return None  # the client's own action: its flow has answered
    to, source = S(event.to_status), S(event.from_status)
    if to is S.IN_PROGRESS:
        if source is S.REVISION_REQUESTED:
            return "revision_accepted"
        if kind_steps and event.to_step and event.to_step != event.from_step:
            return "step"
        return None  # papers were told at assignment; a resumed revision is internal
    if to is S.PAID:
        return {S.AWAITING_PAYMENT: "paid", S.QUOTED: "confirmed"}.get(source)
    if to is S.ASSIGNED:
        return None if kind_steps else "assigned"  # a trip's steps say it
    if to is S.DELIVERED or (to is S.CLOSED and event.action == "deliver"):
        # A kind without a guarantee period is closed by the handover: still the result.
        return "revision_declined" if source is S.REVISION_REQUESTED else "delivered"
    if to in (S.QUOTED, S.READY, S.CLOSED, S.CANCELLED):
        return to.value
    return None


class ClientNotices:
    """The reaction: `await notices(session, event)`."""

    def __init__(self, services: Services) -> None:
        self.tz = services.tz
        self.locale = services.locale
        self.channels = services.channels

    async def __call__(self, session: AsyncSession, event: DomainEvent) -> None:
        if not isinstance(event, OrderTransitioned):
            return
        order = await session.get(Order, event.order_id)
        assert order is not None
        name = notice_name(event, order.kind.execution_steps)
        if name is None:
            return
        identity = await client_identity(session, order.client_id, self.channels)
        if identity is None:
            log.info("order %s: client %s has no reachable channel", order.number, order.client_id)
            return
        client = await session.get(Client, order.client_id)
        locale = locale_of(identity, self.locale, client.locale if client else None)
        reply = await self._reply(session, order, event, name, locale)
        replies = [reply] if reply is not None else []
        if name == "delivered" and order.status is S.CLOSED and order.executor_id:
            # Handed over and closed in one move: the rating request comes with the result.
            replies.append(rating_reply(order, locale))
        if replies:
            await send_replies(session, identity, replies)

    async def _reply(
        self, session: AsyncSession, order: Order, event: OrderTransitioned, name: str, locale: str
    ) -> Reply | None:
        if name == "quoted":
            # Quoted and accepted in one unit (at the desk, on the phone): no stale buttons.
            return quote_reply(order, locale) if order.status is S.QUOTED else None
        if name == "closed":
            return rating_reply(order, locale) if order.executor_id else None
        if name == "ready":
            return await _ready(session, order, locale)
        step = event.to_step if name == "step" else None
        template = await notice_template(session, order.kind.code, name, step, locale)
        if template is None:
            return None
        values = _values(order, locale)
        if step is not None:
            values["eta"] = await self._eta(session, order, step, locale)
        text = fill(template, values)
        if name == "delivered":
            return await _delivery(session, order, text, locale)
        return Reply(text, order_id=order.id)

    async def _eta(self, session: AsyncSession, order: Order, step: str, locale: str) -> str:
        """The arrival time the driver gave with the step (OrderTransitioned carries no
        data; the audit row of the move does)."""
        data = await session.scalar(
            select(OrderEvent.data)
            .where(OrderEvent.order_id == order.id, OrderEvent.to_step == step)
            .order_by(OrderEvent.id.desc())
            .limit(1)
        )
        return show_eta((data or {}).get("eta"), self.tz, locale)


def show_eta(value: Any, tz: tzinfo, locale: str) -> str:
    """An ETA as the driver's flow stores it: an ISO moment, minutes from now, or words."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return t(ETA_MINUTES, locale, minutes=int(value))
    if isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value.strip()
        return moment.astimezone(tz).strftime("%H:%M") if moment.tzinfo else f"{moment:%H:%M}"
    return t(ETA_UNKNOWN, locale)


def _values(order: Order, locale: str) -> dict[str, Any]:
    return {
        "number": order.number,
        "title": order.title,
        "status": status_label(order, locale),
        "price": money(order.client_price, order, locale),
        "due": "",
        "eta": t(ETA_UNKNOWN, locale),
    }


async def _ready(session: AsyncSession, order: Order, locale: str) -> Reply | None:
    """Ready with money due: pay to receive. Nothing due: the order is delivered at once
    (handlers.reactions.deliver_when_covered) and the delivery is the notice."""
    if order.status is not S.READY:
        return None  # already moved on in the same unit of work
    due = await due_now(session, order)
    if not due.is_due:
        return None
    template = await notice_template(session, order.kind.code, "ready", None, locale)
    if template is None:
        return None
    amount = money(due.amount, order, locale)
    text = fill(template, {**_values(order, locale), "due": amount})
    pay = button(t(PAY, locale, amount=amount), f"ord:pay:{order.id}")
    return Reply(text, buttons=rows([pay]), order_id=order.id)


async def _delivery(session: AsyncSession, order: Order, text: str, locale: str) -> Reply:
    files = tuple(
        OutgoingFile(f.storage_key, f.original_name, f.content_type)
        for f in await result_files(session, order.id)
    )
    buttons: tuple[tuple[Any, ...], ...] = ()
    if order.kind.guarantee_days > 0:
        buttons = rows([button(t(REQUEST_REVISION, locale), f"ord:revise:{order.id}")])
    return Reply(text, files=files, buttons=buttons, order_id=order.id)


async def result_files(session: AsyncSession, order_id: int) -> list[StoredFile]:
    """The files of the latest submission: results and revisions stored since the
    submission before it (a result returned for revision is not sent); all of the order's
    results when the latest submission brought no new file."""
    submitted = list(
        await session.scalars(
            select(OrderEvent.created_at)
            .where(OrderEvent.order_id == order_id, OrderEvent.action == "submit_result")
            .order_by(OrderEvent.id.desc())
            .limit(2)
        )
    )
    results = (
        select(StoredFile)
        .where(
            StoredFile.order_id == order_id,
            StoredFile.purpose.in_([FilePurpose.RESULT, FilePurpose.REVISION]),
        )
        .order_by(StoredFile.id)
    )
    if len(submitted) == 2:
        latest = list(await session.scalars(results.where(StoredFile.created_at > submitted[1])))
        if latest:
            return latest
    return list(await session.scalars(results))
