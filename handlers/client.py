"""The client's side after ordering: my orders, one order's card with what can be done now,
the quote (accept and pay / discuss / decline), paying, asking for a revision during the
guarantee period, rating the work, and the balance with the discount tier."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select

from core import ledger, orders, payments
from core.i18n import N_
from core.lifecycle import TransitionError, within_guarantee
from core.models import AccountKind, Order, OrderStatus
from core.pricing import format_money
from core.ratings import AlreadyRated, NotRateable, rate_order
from core.transitions import OrderRuleError, OutsideGuarantee
from handlers.cards import order_card, quote_reply
from handlers.menu import show_menu
from handlers.reply import Reply, button, link_button, rows
from handlers.turn import Turn
from inbox.channel import Button
from inbox.conversations import insert_message, order_thread
from inbox.models import ConversationKind, Direction

REVISION_FLOW = "revision"

NO_ORDERS = N_("You have no orders yet.")
YOUR_ORDERS = N_("Your orders:")
NOT_FOUND = N_("This order is not available.")
PAY = N_("Pay {amount}")
PAY_ONLINE = N_("Pay online")
PAY_FROM_BALANCE = N_("Pay from balance")
PAY_LINK = N_("To pay {amount} for order №{number}, follow the link:")
PAY_BY_MANAGER = N_("To pay {amount} for order №{number}, the manager will send you the details.")
PAID_FROM_BALANCE = N_("Paid from your balance. Thank you!")
BALANCE_TOO_LOW = N_("Your balance is not enough for this payment.")
NOTHING_DUE = N_("Nothing to pay for this order now.")
CONFIRMED = N_("Order №{number} is confirmed. We are starting the work.")
DISCUSS_PROMPT = N_("Write your questions about order №{number}: the manager will answer here.")
DECLINED = N_("Order №{number} is cancelled. If you change your mind, just write to us.")
ACTION_LATE = N_("This action is no longer possible for order №{number}: its status has changed.")
ASK_REVISION = N_("What should be corrected in order №{number}? Describe it in one message.")
REVISION_SENT = N_("The revision request for order №{number} is sent to the manager.")
OUTSIDE_GUARANTEE = N_(
    "The free revision period for order №{number} is over. Please write to the manager."
)
REQUEST_REVISION = N_("Request a revision")
RATE_PROMPT = N_("Please rate the work on order №{number}:")
RATED = N_("Thank you for your rating!")
ALREADY_RATED = N_("You have already rated this order.")
BALANCE_TEXT = N_("Your balance: {balance}. Paid in total: {paid}. Your discount: {discount}%.")
CANCEL = N_("Cancel")


async def my_orders(turn: Turn) -> None:
    client_id = turn.identity.client_id
    found = list(
        await turn.session.scalars(
            select(Order).where(Order.client_id == client_id).order_by(Order.id.desc()).limit(10)
        )
    )
    if not found:
        turn.say(turn.t(NO_ORDERS))
        await show_menu(turn)
        return
    labels = [
        button(f"№{order.number} {order.title}"[:60], f"ord:show:{order.id}") for order in found
    ]
    turn.say(turn.t(YOUR_ORDERS), buttons=rows(labels))


async def balance(turn: Turn) -> None:
    client_id = turn.identity.client_id
    assert client_id is not None
    currency = "RUB"
    free = await ledger.balance(turn.session, AccountKind.CLIENT_BALANCE, client_id, currency)
    paid = await ledger.paid_total(turn.session, client_id, currency)
    discount = await orders.client_discount_bp(turn.session, client_id, currency)
    turn.say(
        turn.t(
            BALANCE_TEXT,
            balance=format_money(free, currency, turn.locale),
            paid=format_money(paid, currency, turn.locale),
            discount=f"{discount / 100:g}",
        )
    )


async def on_button(turn: Turn, action: str, args: list[str]) -> None:
    order = await _own_order(turn, args)
    if order is None:
        turn.say(turn.t(NOT_FOUND))
        return
    handler = _ACTIONS.get(action)
    if handler is None:
        await show(turn, order)
        return
    try:
        await handler(turn, order, args[1:])
    except (TransitionError, OrderRuleError):
        turn.say(turn.t(ACTION_LATE, number=order.number))
        await show(turn, order)
    except (payments.ProviderError, payments.PaymentRefused) as refused:
        # The gateway is down or a payment rule said no: say so; the Pay button stays.
        turn.say(turn.t(refused.user_message), order_id=order.id)


async def _own_order(turn: Turn, args: list[str]) -> Order | None:
    if not args or not args[0].isdigit() or turn.identity.client_id is None:
        return None
    order = await turn.session.get(Order, int(args[0]))
    return order if order is not None and order.client_id == turn.identity.client_id else None


async def show(turn: Turn, order: Order, *_: object) -> None:
    money = await ledger.order_money(turn.session, order.id, order.currency)
    actions = await _actions_for(turn, order)
    paid, debt = money.held + money.charged, payments.debt_of(order, money)
    turn.replies.append(
        Reply(
            html=order_card(order, turn.locale, paid=paid, debt=debt),
            buttons=rows(actions),
            order_id=order.id,
        )
    )


async def _actions_for(turn: Turn, order: Order) -> list[Button]:
    status = order.status
    if status is OrderStatus.QUOTED:
        return [b for row in quote_reply(order, turn.locale).buttons for b in row]
    if status in (OrderStatus.AWAITING_PAYMENT, OrderStatus.READY):
        return [button(turn.t(PAY_ONLINE), f"ord:pay:{order.id}")]
    if status is OrderStatus.DELIVERED and within_guarantee(
        order.delivered_at, order.kind.guarantee_days, turn.now
    ):
        return [button(turn.t(REQUEST_REVISION), f"ord:revise:{order.id}")]
    return []


async def accept(turn: Turn, order: Order, _: list[str]) -> None:
    await orders.accept_quote(turn.session, order, turn.client_actor())
    if order.status is OrderStatus.PAID:
        # A kind without prepayment: accepting confirmed the order, there is nothing to pay
        # (and the status notice skips the client's own move).
        turn.say(turn.t(CONFIRMED, number=order.number), order_id=order.id)
        return
    await pay(turn, order, [])


async def pay(turn: Turn, order: Order, _: list[str]) -> None:
    money = await ledger.order_money(turn.session, order.id, order.currency)
    due = payments.amount_due(order, money).amount
    if due <= 0:
        turn.say(turn.t(NOTHING_DUE))
        return
    amount = format_money(due, order.currency, turn.locale)
    providers = turn.services.payments
    if providers is None:
        turn.say(turn.t(PAY_BY_MANAGER, amount=amount, number=order.number), order_id=order.id)
        return
    # A pending payment even for the manual provider: the panel shows it as expected money.
    payment = await payments.start_payment(
        turn.session, order, providers.default, return_url=turn.services.public_url,
        locale=turn.locale,
    )  # fmt: skip
    buttons = []
    if payment.confirmation_url:
        buttons.append(link_button(turn.t(PAY, amount=amount), payment.confirmation_url))
    if await _balance_covers(turn, order, due):
        buttons.append(button(turn.t(PAY_FROM_BALANCE), f"ord:balance:{order.id}"))
    text = PAY_LINK if payment.confirmation_url else PAY_BY_MANAGER
    turn.say(
        turn.t(text, amount=amount, number=order.number), buttons=rows(buttons), order_id=order.id
    )


async def _balance_covers(turn: Turn, order: Order, due: int) -> bool:
    free = await ledger.balance(
        turn.session, AccountKind.CLIENT_BALANCE, order.client_id, order.currency
    )
    return free >= due


async def from_balance(turn: Turn, order: Order, _: list[str]) -> None:
    paid = await payments.pay_from_balance(turn.session, order, turn.client_actor())
    turn.say(turn.t(PAID_FROM_BALANCE if paid is not None else BALANCE_TOO_LOW))


async def discuss(turn: Turn, order: Order, _: list[str]) -> None:
    turn.say(turn.t(DISCUSS_PROMPT, number=order.number), order_id=order.id)


async def decline(turn: Turn, order: Order, _: list[str]) -> None:
    await orders.cancel_order(turn.session, order, turn.client_actor(), "declined the quote")
    turn.say(turn.t(DECLINED, number=order.number), order_id=order.id)


async def revise(turn: Turn, order: Order, _: list[str]) -> None:
    if not within_guarantee(order.delivered_at, order.kind.guarantee_days, turn.now):
        turn.say(turn.t(OUTSIDE_GUARANTEE, number=order.number), order_id=order.id)
        return
    turn.begin(REVISION_FLOW, "comment", {"order": order.id})
    turn.say(
        turn.t(ASK_REVISION, number=order.number),
        buttons=rows([button(turn.t(CANCEL), "dlg:cancel")]),
    )


async def on_revision_input(turn: Turn) -> None:
    assert turn.state is not None
    order = await turn.session.get(Order, turn.state.data["order"])
    if order is None or not turn.text:
        await ask_revision(turn)
        return
    await turn.finish()
    try:
        await orders.request_revision(turn.session, order, turn.client_actor(), turn.text)
    except OutsideGuarantee:
        turn.say(turn.t(OUTSIDE_GUARANTEE, number=order.number), order_id=order.id)
        return
    except TransitionError:
        turn.say(turn.t(ACTION_LATE, number=order.number))
        return
    # What to fix is also a message in the order's client thread: the manager reads it in
    # the inbox (and is alerted) like anything else the client writes.
    thread = await order_thread(turn.session, order, ConversationKind.CLIENT)
    await insert_message(
        turn.session, thread, Direction.IN, turn.text, channel=turn.incoming.channel,
        identity_id=turn.identity.id, author_client_id=order.client_id,
        external_id=turn.incoming.message_id,
    )  # fmt: skip
    turn.say(turn.t(REVISION_SENT, number=order.number), order_id=order.id)


async def ask_revision(turn: Turn) -> None:
    assert turn.state is not None
    order = await turn.session.get(Order, turn.state.data["order"])
    number = order.number if order else ""
    turn.say(
        turn.t(ASK_REVISION, number=number), buttons=rows([button(turn.t(CANCEL), "dlg:cancel")])
    )


def rating_reply(order: Order, locale: str) -> Reply:
    from handlers.cards import t

    stars = [button("⭐" * n, f"ord:rate:{order.id}:{n}") for n in range(1, 6)]
    return Reply(
        t(RATE_PROMPT, locale, number=order.number), buttons=rows(stars, 5), order_id=order.id
    )


async def rate(turn: Turn, order: Order, args: list[str]) -> None:
    if not args or args[0] not in {"1", "2", "3", "4", "5"}:
        await show(turn, order)
        return
    try:
        await rate_order(turn.session, order, turn.client_actor(), int(args[0]))
    except AlreadyRated:
        turn.say(turn.t(ALREADY_RATED))
        return
    except NotRateable:
        await show(turn, order)
        return
    turn.say(turn.t(RATED))


OrderAction = Callable[[Turn, Order, list[str]], Awaitable[None]]
_ACTIONS: dict[str, OrderAction] = {
    "show": show,
    "accept": accept,
    "pay": pay,
    "balance": from_balance,
    "discuss": discuss,
    "decline": decline,
    "revise": revise,
    "rate": rate,
}
