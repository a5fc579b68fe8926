"""The card's money-moving actions, each behind a confirmation page that shows what will
happen before it does: quoting (price, discount, prepayment), marking paid, delivering,
cancelling (with the refund of what was prepaid) and recording a payment (cash, card,
bank transfer)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger, orders, pricing
from core.i18n import N_
from core.ledger import Source
from core.lifecycle import Action
from core.models import AccountKind, Order, PaymentMethod
from core.payments import DESKS, due_now, record_payment
from core.transitions import profile_of
from handlers.numbers import NumberInputError
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.access.sessions import Staff
from webapp.panel.order_access import actor_of
from webapp.panel.order_card import money_form_error
from webapp.panel.order_format import ACTION_LABELS, Formats
from webapp.panel.order_perform import (
    action_in,
    confirmed,
    ensure_allowed,
    money_message,
    money_of,
    perform,
    say,
    text_of,
    typed_of,
)
from webapp.panel.render import render_page

MANUAL_PROVIDER = "manual"
RECORDABLE = {
    m.value: m for m in (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.BANK_TRANSFER)
}

BAD_AMOUNT = N_("Please give the amount as a number of roubles, for example 1500.")
BAD_DISCOUNT = N_("The discount is a percentage from 0 to 100.")
BAD_METHOD = N_("Please choose how the money came: cash, card or bank transfer.")
CONFIRM_QUOTE = N_("The client will be asked to pay {price}.")
CONFIRM_PAID = N_("The order is marked paid without a recorded payment.")
CONFIRM_DELIVER = N_("The client still owes {amount} for this order.")
CONFIRM_DELIVER_DEBT = N_(
    "It is recorded as the client's debt on this order; money that comes in later settles it."
)
CONFIRM_DELIVER_CHARGE = N_(
    "Charged now (held for the order and from the client's balance): {amount}."
)
CONFIRM_DELIVER_PAID = N_("The order is paid; it is handed over to the client.")
CONFIRM_DELIVER_CLOSES = N_(
    "This kind has no guarantee period: the order is closed with the handover."
)
CONFIRM_CANCEL = N_("The order is cancelled; the client is told.")
CONFIRM_RELEASE = N_("Prepaid money returns to the client's balance: {amount}.")
CONFIRM_CHARGED = N_("The client was already charged {amount} for this order.")
CONFIRM_PAYMENT = N_("{amount} is booked to the client's balance and applied to the order.")
OVERPAYMENT = N_(
    "That is {over} more than is due now ({due}); the rest stays on the client's balance."
)
CONFIRM_OVERPAYMENT = N_("Please check the amount: confirming records this overpayment as it is.")


def add_money_routes(panel: PanelRoutes) -> None:
    panel.post("/orders/{order_id}/money/{action}", money_action, Permission.MONEY)
    panel.post("/orders/{order_id}/payments", payment, Permission.MONEY)


async def money_action(request: web.Request) -> web.StreamResponse:
    action = action_in(request, Permission.MONEY)
    steps = {
        Action.QUOTE: _quote,
        Action.REOPEN_QUOTE: _reopen,
        Action.MARK_PAID: _mark_paid,
        Action.DELIVER: _deliver,
        Action.CANCEL: _cancel,
    }

    async def work(session: AsyncSession, order: Order, staff: Staff, form: Any) -> Any:
        ensure_allowed(staff, order, action)
        return await steps[action](request, session, order, staff, form)

    return await perform(request, work)


def confirm_page(
    request: web.Request, order: Order, action: str, lines: list[str], fields: dict[str, str],
    *, title: str, danger: bool = False, cancel_form: dict[str, Any] | None = None,
    target: str | None = None,
) -> web.Response:  # fmt: skip
    """What the action will do, and the same form again with `confirmed=1` (posted to
    `target`, by default the money action's own URL)."""
    return render_page(
        request, "panel/orders/confirm.html", section="orders", order=order, action=action,
        lines=lines, fields=fields, title=title, danger=danger, cancel_form=cancel_form,
        target=target,
    )  # fmt: skip


def _fmt(request: web.Request) -> Formats:
    return Formats.for_request(request)


async def _quote(
    request: web.Request, session: AsyncSession, order: Order, staff: Staff, form: Any
) -> Any:
    typed = typed_of(form, "price", "discount")
    try:
        price = money_of(form, "price")
    except NumberInputError as error:
        return await money_form_error(
            request, session, order, "quote", money_message(error, BAD_AMOUNT), typed
        )
    if price is None:
        return await money_form_error(request, session, order, "quote", BAD_AMOUNT, typed)
    discount_bp = _discount(text_of(form, "discount", 10))
    if discount_bp is False:
        return await money_form_error(request, session, order, "quote", BAD_DISCOUNT, typed)
    if discount_bp is None:
        discount_bp = await orders.client_discount_bp(session, order.client_id, order.currency)
    if not confirmed(form):
        fmt = _fmt(request)
        quote = pricing.make_quote(price, discount_bp, order.kind.prepayment_percent)
        lines = [
            f"{say(request, 'List price')}: {fmt.money(quote.list_price, order.currency)}",
            f"{say(request, 'Discount')}: {discount_bp / 100:g} % "
            f"({fmt.money(quote.discount_amount, order.currency)})",
            f"{say(request, 'Client price')}: {fmt.money(quote.client_price, order.currency)}",
            f"{say(request, 'Prepayment')}: {fmt.money(quote.prepayment_amount, order.currency)}",
            say(request, CONFIRM_QUOTE).format(price=fmt.money(quote.client_price, order.currency)),
        ]
        fields = {"price": text_of(form, "price", 50), "discount": f"{discount_bp / 100:g}"}
        return confirm_page(
            request, order, "quote", lines, fields, title=ACTION_LABELS[Action.QUOTE]
        )
    return await orders.quote_order(session, order, actor_of(staff), price, discount_bp=discount_bp)


def _discount(text: str) -> int | bool | None:
    """Basis points from a percentage ("5", "7,5"); None when empty; False when wrong."""
    if not text:
        return None
    try:
        percent = Decimal(text.replace(",", ".").rstrip("%").strip())
    except InvalidOperation:
        return False
    if not percent.is_finite() or not 0 <= percent <= 100:
        return False
    return int(percent * 100)


async def _reopen(
    request: web.Request, session: AsyncSession, order: Order, staff: Staff, form: Any
) -> Any:
    return await orders.reopen_quote(session, order, actor_of(staff))


async def _mark_paid(
    request: web.Request, session: AsyncSession, order: Order, staff: Staff, form: Any
) -> Any:
    if not confirmed(form):
        lines = [say(request, CONFIRM_PAID)]
        title = ACTION_LABELS[Action.MARK_PAID]
        return confirm_page(request, order, "mark_paid", lines, {}, title=title)
    return await orders.mark_paid(session, order, actor_of(staff))


async def _deliver(
    request: web.Request, session: AsyncSession, order: Order, staff: Staff, form: Any
) -> Any:
    """Hand over; the confirmation says what is charged now and what stays as a debt."""
    if not confirmed(form):
        fmt = _fmt(request)
        money = await ledger.order_money(session, order.id, order.currency)
        free = await ledger.balance(
            session, AccountKind.CLIENT_BALANCE, order.client_id, order.currency
        )
        owed = max((order.client_price or 0) - money.charged, 0)
        now = min(money.held + free, owed)
        lines = []
        if now:
            lines.append(
                say(request, CONFIRM_DELIVER_CHARGE).format(amount=fmt.money(now, order.currency))
            )
        if owed > now:
            debt = fmt.money(owed - now, order.currency)
            lines.append(say(request, CONFIRM_DELIVER).format(amount=debt))
            lines.append(say(request, CONFIRM_DELIVER_DEBT))
        else:
            lines.append(say(request, CONFIRM_DELIVER_PAID))
        if not profile_of(order.kind).has_guarantee:
            lines.append(say(request, CONFIRM_DELIVER_CLOSES))
        title = ACTION_LABELS[Action.DELIVER]
        return confirm_page(request, order, "deliver", lines, {}, title=title)
    return await orders.deliver_order(session, order, actor_of(staff))


async def _cancel(
    request: web.Request, session: AsyncSession, order: Order, staff: Staff, form: Any
) -> Any:
    """Cancel; what was prepaid goes back to the balance, and is paid out at once if the
    manager chose how (`refund` = cash / card / bank_transfer). After the handover the
    confirmation offers to take back the charge too (`reverse`, ticked by default)."""
    money = await ledger.order_money(session, order.id, order.currency)
    held, charged = money.held, money.charged
    refund = RECORDABLE.get(text_of(form, "refund", 20))
    if not confirmed(form):
        fmt = _fmt(request)
        lines = [say(request, CONFIRM_CANCEL)]
        if held:
            lines.append(
                say(request, CONFIRM_RELEASE).format(amount=fmt.money(held, order.currency))
            )
        if charged:
            lines.append(
                say(request, CONFIRM_CHARGED).format(amount=fmt.money(charged, order.currency))
            )
        title = ACTION_LABELS[Action.CANCEL]
        cancel_form = {
            "held": held, "charged": charged, "methods": list(RECORDABLE.values()), "fmt": fmt,
        }  # fmt: skip
        return confirm_page(
            request, order, "cancel", lines, {}, title=title, danger=True, cancel_form=cancel_form
        )
    client_id, currency, number = order.client_id, order.currency, order.number
    result = await orders.cancel_order(session, order, actor_of(staff), text_of(form, "reason"))
    back = held
    if charged and text_of(form, "reverse", 5) == "1":
        await ledger.reverse_charge(
            session, order.id, client_id, charged, currency,
            recorded_by=staff.user_id, memo=f"order {number} cancelled after delivery",
        )  # fmt: skip
        back += charged
    if back and refund is not None:
        await ledger.refund(
            session, client_id, back, currency, Source.desk(DESKS[refund]),
            recorded_by=staff.user_id, memo=f"order {number} cancelled",
        )  # fmt: skip
    return result


async def payment(request: web.Request) -> web.StreamResponse:
    """Money that came in by cash, card or bank transfer, recorded by a manager."""

    async def work(session: AsyncSession, order: Order, staff: Staff, form: Any) -> Any:
        typed = typed_of(form, "amount", "method")
        try:
            amount = money_of(form, "amount")
        except NumberInputError as error:
            return await money_form_error(
                request, session, order, "payment", money_message(error, BAD_AMOUNT), typed
            )
        if amount is None:
            return await money_form_error(request, session, order, "payment", BAD_AMOUNT, typed)
        method = RECORDABLE.get(text_of(form, "method", 20))
        if method is None:
            return await money_form_error(request, session, order, "payment", BAD_METHOD, typed)
        due = await due_now(session, order)
        over = amount - due.amount
        # Far above what is due (more than twice it, or anything when nothing is due): a
        # slip of the keyboard as often as not, so it takes a confirmation of its own.
        far = over > 0 and over > due.amount
        if not confirmed(form) or (far and text_of(form, "overpayment", 20) != str(over)):
            fmt = _fmt(request)
            lines = [
                f"{fmt.method(method)}: {fmt.money(amount, order.currency)}",
                say(request, CONFIRM_PAYMENT).format(amount=fmt.money(amount, order.currency)),
            ]
            fields = {"amount": text_of(form, "amount", 50), "method": method.value}
            if over > 0:
                lines.append(
                    say(request, OVERPAYMENT).format(
                        over=fmt.money(over, order.currency),
                        due=fmt.money(due.amount, order.currency),
                    )
                )
            if far:
                lines.append(say(request, CONFIRM_OVERPAYMENT))
                fields["overpayment"] = str(over)
            return confirm_page(
                request, order, "payments", lines, fields, title=N_("Record payment"),
                danger=far,
            )  # fmt: skip
        return await record_payment(
            session, order, amount, method, provider=MANUAL_PROVIDER, recorded_by=staff.user_id
        )

    return await perform(request, work, done="paid")
