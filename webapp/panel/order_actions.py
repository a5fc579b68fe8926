"""What the order card's buttons and forms post: status actions, the exchange, assigning
and releasing executors, changing the manager and editing the order's fields. Every change
goes through a core function; a refusal by the rules comes back to the card as a message.
Money-moving actions are in `order_money`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from core import exchange, ledger, orders
from core.db import utcnow
from core.i18n import N_
from core.lifecycle import Action, TransitionError
from core.models import Bid, Executor, Order, StaffRole, User
from core.order_edits import change_manager, edit_fields
from core.payments import debt_of
from core.transitions import Actor
from handlers.answers import Invalid, parse_answer
from handlers.numbers import NumberInputError
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.access.sessions import Staff
from webapp.keys import SERVICES
from webapp.panel.order_access import actor_of, may_assign
from webapp.panel.order_card import money_form_error, render_card
from webapp.panel.order_fields import (
    COMMENT_KEY,
    DEADLINE_SPEC,
    day_end,
    read_form,
    role_moment,
    specs,
    stored_answers,
)
from webapp.panel.order_format import ACTION_LABELS, Formats
from webapp.panel.order_money import confirm_page
from webapp.panel.order_perform import (
    BACK_PAGES,
    action_in,
    confirmed,
    ensure_allowed,
    money_message,
    money_of,
    number,
    perform,
    problem,
    say,
    text_of,
    typed_of,
)
from webapp.panel.render import panel_locale

BAD_PRICE = N_("Please give the price as a number of roubles, for example 1500.")
GIVE_PRICE = N_("Please give the executor's price.")
PICK_EXECUTOR = N_("Please choose an executor.")
PICK_MANAGER = N_("Please choose a manager.")
NO_SUCH_BID = N_("This bid is not there any more.")
ALREADY_MANAGED = N_("Someone already manages this order.")
ABOVE_CLIENT_PRICE_TITLE = N_("The executor's price is above the client's")
ABOVE_CLIENT_PRICE = N_(
    "The executor's price {executor} is above the client's price {client}: the order "
    "loses {loss}. Confirm only if that is intended."
)
CLOSE_WITH_DEBT = N_("The client still owes {amount} for this order.")
CLOSE_DEBT_STAYS = N_(
    "Closing does not cancel the debt: it stays on the card, and money that comes in later "
    "settles it."
)


def add_action_routes(panel: PanelRoutes) -> None:
    order = "/orders/{order_id}"
    panel.post(order + "/status/{action}", status_action, Permission.ORDER_STATUS)
    panel.post(order + "/exchange/{action}", exchange_action, Permission.EXCHANGE)
    panel.post(order + "/assign", assign, Permission.ASSIGN)
    panel.post(order + "/release", release, Permission.REASSIGN)
    panel.post(order + "/manager", manager, Permission.REASSIGN)
    panel.post(order + "/take-over", take_over, Permission.ORDER_STATUS)
    panel.post(order + "/fields", save_fields, Permission.INTAKE)


# --- status actions that move no money --------------------------------------------------


def _comment(call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def with_comment(session: AsyncSession, order: Order, actor: Actor, form: Any) -> Any:
        return await call(session, order, actor, text_of(form, "comment"))

    return with_comment


def _plain(call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def without(session: AsyncSession, order: Order, actor: Actor, form: Any) -> Any:
        return await call(session, order, actor)

    return without


STATUS_CALLS: dict[Action, Callable[..., Awaitable[Any]]] = {
    Action.SUBMIT: _plain(orders.submit_order),
    Action.START_EVALUATION: _plain(orders.start_evaluation),
    Action.ACCEPT_QUOTE: _plain(orders.accept_quote),
    Action.START_WORK: _plain(orders.start_work),
    Action.ADVANCE: _plain(orders.advance_step),
    Action.SUBMIT_RESULT: _comment(orders.submit_result),
    Action.APPROVE: _plain(orders.approve_result),
    Action.RETURN_FOR_REVISION: _comment(orders.return_for_revision),
    Action.RESUME: _plain(orders.resume_work),
    Action.REQUEST_REVISION: _comment(orders.request_revision),
    Action.ACCEPT_REVISION: _plain(orders.accept_revision),
    Action.DECLINE_REVISION: _comment(orders.decline_revision),
    Action.CLOSE: _plain(orders.close_order),
}


async def status_action(request: web.Request) -> web.StreamResponse:
    action = action_in(request, Permission.ORDER_STATUS)

    async def work(session: AsyncSession, order: Order, staff: Staff, form: Any) -> Any:
        ensure_allowed(staff, order, action)
        if action is Action.CLOSE and not confirmed(form):
            debt = debt_of(order, await ledger.order_money(session, order.id, order.currency))
            if debt:  # closing with a debt is a decision: say so first
                fmt = Formats.for_request(request)
                lines = [
                    say(request, CLOSE_WITH_DEBT).format(amount=fmt.money(debt, order.currency)),
                    say(request, CLOSE_DEBT_STAYS),
                ]
                return confirm_page(
                    request, order, "close", lines, {}, title=ACTION_LABELS[Action.CLOSE],
                    danger=True, target=f"/orders/{order.id}/status/close",
                )  # fmt: skip
        await STATUS_CALLS[action](session, order, actor_of(staff), form)
        return None

    return await perform(request, work)


# --- the exchange, executors and the manager --------------------------------------------


async def exchange_action(request: web.Request) -> web.StreamResponse:
    action = action_in(request, Permission.EXCHANGE)

    async def work(session: AsyncSession, order: Order, staff: Staff, form: Any) -> Any:
        ensure_allowed(staff, order, action)
        if action is Action.WITHDRAW:
            return await exchange.withdraw_from_exchange(session, order, actor_of(staff))
        try:
            price = money_of(form, "price")
        except NumberInputError as error:
            return await money_form_error(
                request, session, order, "publish", money_message(error, BAD_PRICE),
                typed_of(form, "price"),
            )  # fmt: skip
        if price is not None and not confirmed(form) and _above_client_price(order, price):
            fields = {"price": text_of(form, "price", 50)}
            if text_of(form, "back", 50) in BACK_PAGES:  # published from the exchange board
                fields["back"] = text_of(form, "back", 50)
            return _loss_page(request, order, price, "/exchange/publish", fields)
        return await exchange.publish_to_exchange(session, order, actor_of(staff), price)

    return await perform(request, work)


async def assign(request: web.Request) -> web.StreamResponse:
    """Give the job to a bidder (`bid`) or straight to an executor (`executor`, `price`)."""

    async def work(session: AsyncSession, order: Order, staff: Staff, form: Any) -> Any:
        if not may_assign(staff, order):
            raise TransitionError(Action.ASSIGN, order.status, actor_of(staff).role, "wrong_status")
        bid_id, executor_id = number(form.get("bid")), number(form.get("executor"))
        if bid_id is not None:
            bid = await session.get(Bid, bid_id)
            if bid is None or bid.order_id != order.id:
                return problem(request, order.id, NO_SUCH_BID, 404)
            executor = await session.get(Executor, bid.executor_id)
            assert executor is not None
            if not confirmed(form) and _above_client_price(order, bid.price):
                return _loss_page(request, order, bid.price, "/assign", {"bid": str(bid.id)})
            return await exchange.assign_executor(
                session, order, actor_of(staff), executor, bid=bid
            )
        typed = typed_of(form, "price", "executor")
        executor = await session.get(Executor, executor_id) if executor_id else None
        if executor is None:
            return await money_form_error(request, session, order, "assign", PICK_EXECUTOR, typed)
        try:
            price = money_of(form, "price")
        except NumberInputError as error:
            message = money_message(error, BAD_PRICE)
            return await money_form_error(request, session, order, "assign", message, typed)
        if price is None and order.exchange_price is None:
            return await money_form_error(request, session, order, "assign", GIVE_PRICE, typed)
        agreed = price if price is not None else order.exchange_price
        if agreed is not None and not confirmed(form) and _above_client_price(order, agreed):
            return _loss_page(request, order, agreed, "/assign", typed)
        return await exchange.assign_executor(
            session, order, actor_of(staff), executor, price=price
        )

    return await perform(request, work)


def _above_client_price(order: Order, executor_price: int) -> bool:
    return order.client_price is not None and executor_price > order.client_price


def _loss_page(
    request: web.Request, order: Order, executor_price: int, path: str, fields: dict[str, str]
) -> web.Response:
    """An executor's price above the client's: the order would lose money. Likely a slip
    (20 000 typed against 8 550), possibly a decision: either way it is said, and the same
    form is sent again only when the manager confirms."""
    fmt = Formats.for_request(request)
    client_price = order.client_price or 0
    lines = [
        say(request, ABOVE_CLIENT_PRICE).format(
            executor=fmt.money(executor_price, order.currency),
            client=fmt.money(client_price, order.currency),
            loss=fmt.money(executor_price - client_price, order.currency),
        )
    ]
    return confirm_page(
        request, order, "assign", lines, fields, title=ABOVE_CLIENT_PRICE_TITLE, danger=True,
        target=f"/orders/{order.id}{path}",
    )  # fmt: skip


async def release(request: web.Request) -> web.StreamResponse:
    async def work(session: AsyncSession, order: Order, staff: Staff, form: Any) -> Any:
        ensure_allowed(staff, order, Action.RELEASE)
        reason = text_of(form, "reason")
        return await exchange.release_executor(session, order, actor_of(staff), reason)

    return await perform(request, work)


async def manager(request: web.Request) -> web.StreamResponse:
    async def work(session: AsyncSession, order: Order, staff: Staff, form: Any) -> Any:
        chosen = form.get("manager")
        if chosen == "none":
            return await change_manager(session, order, actor_of(staff), None)
        user = await session.get(User, number(chosen)) if number(chosen) else None
        if user is None or not user.is_active or user.role is StaffRole.OPERATOR:
            return problem(request, order.id, PICK_MANAGER)
        return await change_manager(session, order, actor_of(staff), user)

    return await perform(request, work, done="saved")


async def take_over(request: web.Request) -> web.StreamResponse:
    """A manager takes an order nobody manages yet (changing someone's is REASSIGN)."""

    async def work(session: AsyncSession, order: Order, staff: Staff, form: Any) -> Any:
        me = await session.get(User, staff.user_id)
        if order.manager_id is not None or me is None or me.role is StaffRole.OPERATOR:
            return problem(request, order.id, ALREADY_MANAGED, 409)
        return await change_manager(session, order, actor_of(staff), me)

    return await perform(request, work, done="saved")


# --- the order's fields -----------------------------------------------------------------


async def save_fields(request: web.Request) -> web.StreamResponse:
    """Edit the answers, title, deadline and comment; wrong input comes back marked, with
    everything typed kept."""
    services = request.app[SERVICES]
    locale = panel_locale(request)

    async def work(session: AsyncSession, order: Order, staff: Staff, posted: Any) -> Any:
        now, kind = utcnow(), order.kind
        stored = stored_answers(kind, order, services.tz)
        form = await read_form(
            session, kind, posted, locale=locale, now=now, tz=services.tz, stored=stored
        )
        deadline, scheduled_at = _moments(order, form.answers, stored, services.tz)
        typed_deadline = text_of(posted, "deadline", 40)
        deadline_error = None
        if not any(spec.role in ("deadline", "scheduled_at") for spec in specs(kind)):
            deadline, deadline_error = _free_deadline(
                order, typed_deadline, now, services.tz, locale
            )
        comment = text_of(posted, "comment")
        title = text_of(posted, "title", 300)
        if not form.valid or deadline_error:
            return await render_card(
                request, session, order.id, form, 422, form_title=title,
                form_comment=comment, form_deadline=typed_deadline, deadline_error=deadline_error,
            )  # fmt: skip
        keys = {spec.key for spec in specs(kind)}
        details = {k: v for k, v in order.details.items() if k not in keys and k != COMMENT_KEY}
        details |= {k: v for k, v in form.answers.items()}
        if comment:
            details[COMMENT_KEY] = comment
        return await edit_fields(
            session, order, actor_of(staff), details=details, title=title or order.title,
            deadline=deadline, scheduled_at=scheduled_at,
        )  # fmt: skip

    return await perform(request, work, done="saved")


def _moments(
    order: Order, answers: dict[str, Any], stored: dict[str, Any], tz: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """The deadline and scheduled time from the answers; an answer left as it was keeps
    the order's exact moment (not the end of that day)."""
    moments = []
    for role, current in (("deadline", order.deadline), ("scheduled_at", order.scheduled_at)):
        spec = next((each for each in specs(order.kind) if each.role == role), None)
        unchanged = spec is not None and answers.get(spec.key) == stored.get(spec.key)
        if spec is None or (unchanged and current is not None):
            moments.append(current)
        else:
            moments.append(role_moment(order.kind, answers, role, tz))
    return moments[0], moments[1]


def _free_deadline(
    order: Order, typed: str, now: datetime, tz: ZoneInfo, locale: str
) -> tuple[datetime | None, str | None]:
    """The deadline of a kind that asks none: a day, in the future unless unchanged."""
    if not typed:
        return None, None
    if order.deadline is not None and order.deadline.astimezone(tz).date().isoformat() == typed:
        return order.deadline, None
    try:
        day = parse_answer(DEADLINE_SPEC, typed, now=now, tz=tz, choices={})
    except Invalid as problem_:
        return None, problem_.text(locale)
    return day_end(day, tz), None
