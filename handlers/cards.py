"""Cards the bots send about an order, in the reader's language: the order card a client
sees, the quote with its actions, the job card an executor sees. Built from rows only, so
flows (answering a person) and reactions (notices after a change) share them.

What an executor reads of the client's words (the intake answers, the order's title) has
contact details masked, as a manager's relay has (inbox.masking, docs/masking.md): the
desk stands between them. Addresses, dates and amounts come through, so a driver still
reads where to go."""

from __future__ import annotations

from core.i18n import N_, gettext
from core.kinds import STEP_LABELS, FieldSpec, FieldType
from core.lifecycle import STATUS_LABELS
from core.models import Order, OrderStatus
from core.pricing import format_money
from handlers.answers import show_value
from handlers.dates import format_date
from handlers.reply import Reply, button, card, rows
from inbox.replies import preview_relay

ORDER = N_("Order №{number}")
STATUS = N_("Status")
PRICE = N_("Price")
DISCOUNT = N_("Discount")
PREPAYMENT = N_("Prepayment")
PAID = N_("Paid")
DEBT = N_("Debt")
DUE = N_("To pay now")
DEADLINE = N_("Deadline")
WHEN = N_("Date and time")
QUOTE_TITLE = N_("Order №{number}: the price is ready")
ACCEPT_AND_PAY = N_("Accept and pay")
ACCEPT = N_("Accept")
DISCUSS = N_("Discuss")
DECLINE = N_("Decline")
JOB_TITLE = N_("New job №{number}")
FIXED_PRICE = N_("Fixed price")
TAKE = N_("Take")
BID = N_("Offer a price")
SKIP = N_("Skip")


def t(message: str, locale: str, **values: object) -> str:
    text = gettext(message, locale)
    return text.format(**values) if values else text


def status_label(order: Order, locale: str) -> str:
    label = t(STATUS_LABELS[order.status], locale)
    if order.status is OrderStatus.IN_PROGRESS and order.step:
        label += f" — {t(STEP_LABELS.get(order.step, order.step), locale)}"
    return label


def money(amount: int | None, order: Order, locale: str) -> str:
    return "" if amount is None else format_money(amount, order.currency, locale)


def detail_rows(order: Order, locale: str, *, masked: bool = False) -> list[tuple[str, str]]:
    """The intake answers, labelled as the kind names them (files are left out);
    `masked`: for an executor, with the client's contacts hidden."""
    found = []
    for data in order.kind.fields:
        spec = FieldSpec.from_json(data)
        value = order.details.get(spec.key)
        if spec.type is FieldType.FILES or value in (None, ""):
            continue
        shown = show_value(spec, value, locale)
        found.append(
            (t(spec.label, locale), masked_for_executor(shown, locale) if masked else shown)
        )
    return found


def masked_for_executor(text: str, locale: str) -> str:
    """The client's words as an executor may read them: contacts replaced."""
    return preview_relay(text, locale).text


def job_title(order: Order, locale: str, message: str) -> str:
    """The heading an executor reads, `message` ("Job №{number}") and the order's title,
    the title (the client's words) masked."""
    title = t(message, locale, number=order.number)
    return title + (f" — {masked_for_executor(order.title, locale)}" if order.title else "")


def _answered(order: Order, role: str) -> bool:
    """Whether an intake field with this role (a deadline, the scheduled time) has an
    answer, and so is among the detail rows."""
    for data in order.kind.fields:
        spec = FieldSpec.from_json(data)
        if spec.role == role and order.details.get(spec.key) not in (None, ""):
            return True
    return False


def order_card(order: Order, locale: str, *, paid: int = 0, debt: int = 0) -> str:
    """`paid`: what the client put towards this order; `debt`: what they still owe for it
    after the handover (core.payments.debt_of)."""
    lines = [(t(STATUS, locale), status_label(order, locale))]
    lines += detail_rows(order, locale)
    if order.client_price is not None:
        lines.append((t(PRICE, locale), money(order.client_price, order, locale)))
        if paid:
            lines.append((t(PAID, locale), money(paid, order, locale)))
        if debt:
            lines.append((t(DEBT, locale), money(debt, order, locale)))
    title = t(ORDER, locale, number=order.number) + (f" — {order.title}" if order.title else "")
    return card(title, lines)


def quote_reply(order: Order, locale: str) -> Reply:
    """The price with Accept (and pay) / Discuss / Decline."""
    lines = [(t(PRICE, locale), money(order.client_price, order, locale))]
    if order.discount_amount:
        lines.append((t(DISCOUNT, locale), money(order.discount_amount, order, locale)))
    if order.prepayment_amount:
        lines.append((t(PREPAYMENT, locale), money(order.prepayment_amount, order, locale)))
    if order.deadline is not None:
        lines.append((t(DEADLINE, locale), format_date(order.deadline.date(), locale)))
    accept = ACCEPT_AND_PAY if order.prepayment_amount else ACCEPT
    return Reply(
        html=card(t(QUOTE_TITLE, locale, number=order.number), lines),
        buttons=(
            (button(t(accept, locale), f"ord:accept:{order.id}"),),
            (
                button(t(DISCUSS, locale), f"ord:discuss:{order.id}"),
                button(t(DECLINE, locale), f"ord:decline:{order.id}"),
            ),
        ),
        order_id=order.id,
    )


def job_reply(order: Order, locale: str) -> Reply:
    """A job on the exchange as executors see it: the task without the client."""
    lines = detail_rows(order, locale, masked=True)
    if order.exchange_price is not None:
        lines.append((t(FIXED_PRICE, locale), money(order.exchange_price, order, locale)))
    if order.scheduled_at is not None and not _answered(order, "scheduled_at"):
        # Set at the desk without the kind's field; the details show the field's answer in
        # the business's clock already, and a second line in UTC only confused drivers.
        lines.append((t(WHEN, locale), order.scheduled_at.strftime("%d.%m.%Y %H:%M UTC")))
    take = (
        button(t(TAKE, locale), f"job:take:{order.id}")
        if order.exchange_price is not None
        else button(t(BID, locale), f"job:bid:{order.id}")
    )
    return Reply(
        html=card(t(JOB_TITLE, locale, number=order.number), lines),
        buttons=rows([take, button(t(SKIP, locale), f"job:skip:{order.id}")], 2),
        order_id=order.id,
    )
