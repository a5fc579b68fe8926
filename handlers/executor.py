"""The executor's side: applying (handlers/application.py), the job feed's buttons — Take
at a fixed price, Offer a price (price, optional comment, optional date), Skip — their jobs
(handlers/jobs.py) and pausing the feed.

Payloads of the `job:` area:
  job:take:<order>, job:bid:<order>, job:skip:<order>   the feed card
  job:show|start|submit|ask:<order>                      my jobs
  job:pass, job:done                                     skip a step / no more files in a flow

A feed card whose job is no longer open has its buttons retired: the press names the card
(`Incoming.reply_to`), and an edit with no buttons takes them away where the channel can."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import func, select

from core import applications, exchange
from core.exchange import ACTIVE_JOB_STATUSES
from core.i18n import N_
from core.models import Bid, BidStatus, Executor, ExecutorStatus, Order, OrderStatus
from core.pricing import format_money
from core.transitions import ExecutorNotEligible, JobAlreadyTaken, OrderRuleError, PriceMissing
from handlers import application, jobs
from handlers.answers import FAR_DATE, NOT_A_DATE, PAST_DATE
from handlers.dates import DateInputError, parse_future_date
from handlers.flow import Flow, in_savepoint
from handlers.menu import show_menu, stale_button
from handlers.numbers import NumberInputError, parse_money
from handlers.reply import Reply, button
from handlers.turn import Turn
from handlers.wizard import CANCEL, SKIP

BID_FLOW = "bid"

TAKEN = N_("This job is already taken.")
GONE = N_("This job is not available any more.")
ALREADY_YOURS = N_("This job is already yours.")
YOURS = N_("The job №{number} is yours!")
SKIPPED = N_("Skipped.")
PAUSED_CANNOT = N_("Your feed is paused. Resume it in the menu to take jobs.")
NOT_ACTIVE = N_("You cannot take jobs now. Please contact the manager.")
NO_CAPACITY = N_("You already have {count} active jobs, as many as you can hold. Finish one first.")
NO_SKILL = N_(
    "This job needs the skill «{skill}», which is not in your profile. Ask the manager to add it."
)
ASK_PRICE = N_("Your price for job №{number}, in roubles:")
BAD_PRICE = N_("Please write the price in roubles, for example 1500.")
ZERO_PRICE = N_("The price must be above zero.")
ASK_BID_COMMENT = N_("A comment for the manager (optional):")
ASK_BID_DATE = N_("By what date can you do it? (optional; for example 25.12)")
BID_SENT = N_("Your offer of {price} for job №{number} is sent to the manager.")
BID_REPLACED = N_("It replaces your previous offer.")
FEED_PAUSED = N_("Your job feed is paused: new jobs will not come until you resume it.")
FEED_RESUMED = N_("Your job feed is on: new jobs that match your skills will come here.")


async def apply(turn: Turn) -> None:
    await application.start(turn)


async def my_jobs(turn: Turn) -> None:
    await jobs.my_jobs(turn)


async def pause_feed(turn: Turn) -> None:
    executor = await turn.executor()
    if executor is not None and applications.pause_feed(executor):
        turn.say(turn.t(FEED_PAUSED))
    await show_menu(turn)


async def resume_feed(turn: Turn) -> None:
    executor = await turn.executor()
    if executor is not None and applications.resume_feed(executor):
        turn.say(turn.t(FEED_RESUMED))
    await show_menu(turn)


async def on_button(turn: Turn, action: str, args: list[str]) -> None:
    executor = await turn.executor()
    if executor is None:
        await show_menu(turn)
        return
    if action in ("pass", "done"):
        await _flow_control(turn, action)
    elif action in ("take", "bid", "skip"):
        await _feed(turn, executor, action, args)
    else:
        await _my_job(turn, action, args)


async def _flow_control(turn: Turn, action: str) -> None:
    if turn.in_flow(BID_FLOW):
        await _bid_control(turn, action)
    elif turn.in_flow(jobs.RESULT_FLOW):
        await jobs.result_control(turn, action)
    else:
        await stale_button(turn)  # a button of a flow that is over


async def _my_job(turn: Turn, action: str, args: list[str]) -> None:
    order = await jobs.own_job(turn, args)
    if order is None:
        turn.say(turn.t(jobs.NOT_YOURS))
        return
    if action == "start":
        await jobs.start(turn, order)
    elif action == "submit":
        await jobs.begin_result(turn, order)
    elif action == "ask":
        await jobs.ask_manager(turn, order)
    else:
        await jobs.show(turn, order)


# --- the feed ---------------------------------------------------------------------------


async def _feed(turn: Turn, executor: Executor, action: str, args: list[str]) -> None:
    if action == "skip":
        _retire_card(turn, SKIPPED)
        return
    order = await turn.session.get(Order, int(args[0])) if args and args[0].isdigit() else None
    if order is None:
        _retire_card(turn, GONE)
    elif order.status is not OrderStatus.ON_EXCHANGE:
        await _not_open(turn, order, executor)
    elif (problem := await refusal(turn, executor, order)) is not None:
        turn.say(problem)
    elif action == "take" and order.exchange_price is not None:
        await _take(turn, order, executor)
    else:
        await _begin_bid(turn, order, executor)


def _retire_card(turn: Turn, message: str | None = None) -> None:
    """Take the buttons off the pressed card; say `message` as well, or instead where the
    channel cannot edit (a skip needs no words where the buttons just vanish)."""
    if turn.incoming.reply_to:
        turn.replies.append(Reply(edit_of=turn.incoming.reply_to))
        if message == SKIPPED:
            return
    if message:
        turn.say(turn.t(message))


async def _not_open(turn: Turn, order: Order, executor: Executor) -> None:
    if order.executor_id == executor.id and order.status in ACTIVE_JOB_STATUSES:
        turn.say(turn.t(ALREADY_YOURS))
        await jobs.show(turn, order)
        return
    _retire_card(turn, TAKEN if order.executor_id is not None else GONE)


async def refusal(turn: Turn, executor: Executor, order: Order) -> str | None:
    """Why this executor may not take or bid for this job now, in their words; None if
    they may. Core checks status and capacity again when the change is made."""
    if executor.status is ExecutorStatus.PAUSED:
        return turn.t(PAUSED_CANNOT)
    if executor.status is not ExecutorStatus.ACTIVE:
        return turn.t(NOT_ACTIVE)
    active = await turn.session.scalar(
        select(func.count(Order.id)).where(
            Order.executor_id == executor.id, Order.status.in_(ACTIVE_JOB_STATUSES)
        )
    )
    if (active or 0) >= executor.capacity:
        return turn.t(NO_CAPACITY, count=active or 0)
    missing = await exchange.missing_skill(turn.session, order, executor)
    return turn.t(NO_SKILL, skill=turn.t(missing)) if missing else None


async def _take(turn: Turn, order: Order, executor: Executor) -> None:
    number = order.number
    try:
        await in_savepoint(turn, lambda: exchange.take_job(turn.session, order, executor))
    except JobAlreadyTaken:
        _retire_card(turn, TAKEN)  # and nothing else: someone was quicker
        return
    except ExecutorNotEligible:  # a job taken elsewhere a moment ago filled the capacity
        turn.say(await refusal(turn, executor, order) or turn.t(NOT_ACTIVE))
        return
    except PriceMissing:
        await turn.session.refresh(order)
        await _begin_bid(turn, order, executor)
        return
    _retire_card(turn)
    turn.say(turn.t(YOURS, number=number), order_id=order.id)
    await jobs.show(turn, order)


# --- offering a price -------------------------------------------------------------------


async def _begin_bid(turn: Turn, order: Order, executor: Executor) -> None:
    turn.begin(BID_FLOW, "price", {"order": order.id, "number": order.number})
    await ask_bid(turn)


async def ask_bid(turn: Turn) -> None:
    assert turn.state is not None
    step, cancel = turn.state.step, button(turn.t(CANCEL), "dlg:cancel")
    if step == "price":
        text = turn.t(ASK_PRICE, number=turn.state.data["number"])
        turn.say(text, buttons=((cancel,),))
        return
    question = ASK_BID_COMMENT if step == "comment" else ASK_BID_DATE
    turn.say(turn.t(question), buttons=((button(turn.t(SKIP), "job:pass"), cancel),))


async def on_bid_input(turn: Turn) -> None:
    assert turn.state is not None
    step = turn.state.step
    if not turn.text:
        await ask_bid(turn)
    elif step == "price":
        await _take_price(turn)
    elif step == "comment":
        turn.move("date", comment=turn.text[:1000])
        await ask_bid(turn)
    else:
        await _take_date(turn)


async def _take_price(turn: Turn) -> None:
    try:
        price = parse_money(turn.text)
    except NumberInputError as error:
        turn.say(turn.t(ZERO_PRICE if error.code == "too_small" else BAD_PRICE))
        await ask_bid(turn)
        return
    turn.move("comment", price=price)
    await ask_bid(turn)


async def _take_date(turn: Turn) -> None:
    today = turn.now.astimezone(turn.services.tz).date()
    try:
        day = parse_future_date(turn.text, today, allow_today=True)
    except DateInputError as error:
        turn.say(turn.t({"past": PAST_DATE, "too_far": FAR_DATE}.get(error.code, NOT_A_DATE)))
        await ask_bid(turn)
        return
    # A day offered ends at the business's evening, in its own clock (as deadlines do).
    eta = datetime.combine(day, time(23, 59), tzinfo=turn.services.tz).astimezone(UTC)
    await _place_bid(turn, eta)


async def _bid_control(turn: Turn, action: str) -> None:
    assert turn.state is not None
    if action == "pass" and turn.state.step == "comment":
        turn.move("date", comment=None)
        await ask_bid(turn)
    elif action == "pass" and turn.state.step == "date":
        await _place_bid(turn, None)
    else:
        await ask_bid(turn)


async def _place_bid(turn: Turn, eta: datetime | None) -> None:
    assert turn.state is not None
    data = turn.state.data
    await turn.finish()
    order = await turn.session.get(Order, data["order"])
    executor = await turn.executor()
    if order is None or executor is None:
        turn.say(turn.t(GONE))
        return
    replaced = await _has_active_bid(turn, order, executor)
    try:
        await in_savepoint(
            turn,
            lambda: exchange.place_bid(
                turn.session, order, executor, data["price"], comment=data.get("comment"), eta=eta
            ),
        )
    except ExecutorNotEligible:
        turn.say(await refusal(turn, executor, order) or turn.t(NOT_ACTIVE))
        return
    except OrderRuleError:
        turn.say(turn.t(TAKEN if order.executor_id else GONE))
        return
    price = format_money(data["price"], order.currency, turn.locale)
    text = turn.t(BID_SENT, price=price, number=order.number)
    turn.say(text + (" " + turn.t(BID_REPLACED) if replaced else ""))


async def _has_active_bid(turn: Turn, order: Order, executor: Executor) -> bool:
    found = await turn.session.scalar(
        select(Bid.id).where(
            Bid.order_id == order.id, Bid.executor_id == executor.id, Bid.status == BidStatus.ACTIVE
        )
    )
    return found is not None


FLOWS: dict[str, Flow] = {
    application.FLOW: Flow(application.on_input, application.ask, application.start),
    BID_FLOW: Flow(on_bid_input, ask_bid, show_menu),
    jobs.RESULT_FLOW: Flow(jobs.on_result_input, jobs.ask_result, jobs.my_jobs),
}
