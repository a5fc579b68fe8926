"""The driver's side of a trip (an order whose kind has execution steps): the trip card with
Accept / Decline, then one button for the next step — En route asks the arrival time (and
says whether the client could be told it), the last step (Finished) asks a comment and
photos and submits the result — and the location a driver shares, kept on the trip (the
panel shows no map yet, so the bot does not ask for it).

Payloads of the `trip:` area:
  trip:show|accept|decline|report:<order>
  trip:go:<order>:<index of the next step>   (a second press of a done step is refused)
  trip:eta:<minutes>, trip:pass, trip:done    answers inside the ETA and report flows

The client hears of every step from the status notices (OrderTransitioned with `to_step`);
the arrival time is in the step's audit event data (`eta`, `eta_minutes`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy import func, select, update

from core import exchange, orders
from core.i18n import N_
from core.kinds import STEP_LABELS
from core.lifecycle import TransitionError
from core.models import FilePurpose, Order, OrderEvent, OrderKind, OrderStatus
from core.transitions import OrderRuleError
from handlers import jobs
from handlers.cards import detail_rows, money, status_label, t
from handlers.eta import EtaInputError, eta_data, parse_eta
from handlers.flow import Flow, in_savepoint, take_upload
from handlers.menu import stale_button
from handlers.reply import Reply, button, card, rows
from handlers.turn import Turn
from handlers.wizard import CANCEL, DONE, FILES_TAKEN, SKIP
from inbox.channel import Button

ETA_FLOW = "trip_eta"
REPORT_FLOW = "trip_report"
EN_ROUTE = "en_route"

TRIP = N_("Trip №{number}")
ACCEPT = N_("Accept")
DECLINE = N_("Decline")
SEND_REPORT = N_("Send the report")
ACCEPTED = N_("Trip №{number} is yours. Mark each step with the button below as the trip goes on.")
DECLINED = N_("You declined trip №{number}. The manager will find someone else.")
STEP_BEHIND = N_("This step of trip №{number} is already done.")
STEP_DONE = N_("Trip №{number}: {step}.")
ASK_ETA = N_("When will you be there? For example: 40 minutes, 1 hour, at 14:30.")
BAD_ETA = N_("I did not understand the time. Examples: 40 minutes, 1.5 hours, at 14:30.")
MINUTES = N_("{count} min")
ON_THE_WAY = N_("On the way. The client is told you will arrive at about {time}.")
ON_THE_WAY_CLIENT_UNREACHABLE = N_(
    "On the way (arrival at about {time}). The client was not told: we have no way to reach "
    "them. If they must know, write it here: the manager reads this chat."
)
ON_THE_WAY_NOTICE_OFF = N_(
    "On the way (arrival at about {time}). The client was not told: the desk has switched "
    "this notice off. If they must know, write it here: the manager reads this chat."
)
# By the reason handlers.notices.why_client_misses_step gives.
NOT_TOLD = {"unreachable": ON_THE_WAY_CLIENT_UNREACHABLE, "switched_off": ON_THE_WAY_NOTICE_OFF}
ASK_TRIP_COMMENT = N_("A comment on the trip (optional):")
ASK_PHOTO = N_("Send a photo (optional), then press Done.")
TRIP_COMPLETE = N_("Trip №{number} is complete. Thank you!")

QUICK_ETAS = (15, 30, 60)


def trip_reply(order: Order, locale: str) -> Reply:
    """The trip card with the one next action; reactions send it to an assigned driver."""
    lines = [
        (t(jobs.STATUS, locale), status_label(order, locale)),
        *detail_rows(order, locale, masked=True),  # addresses come through, phones do not
    ]
    lines.append((t(jobs.YOUR_PRICE, locale), money(order.executor_price, order, locale)))
    return Reply(
        html=card(t(TRIP, locale, number=order.number), lines),
        buttons=rows(_actions(order, locale), 2),
        order_id=order.id,
    )


def _actions(order: Order, locale: str) -> list[Button]:
    if order.status is OrderStatus.ASSIGNED:
        return [
            button(t(ACCEPT, locale), f"trip:accept:{order.id}"),
            button(t(DECLINE, locale), f"trip:decline:{order.id}"),
        ]
    if order.status is not OrderStatus.IN_PROGRESS:
        return []
    steps = order.kind.execution_steps
    following = _position(order) + 1
    if following >= len(steps):
        return [button(t(SEND_REPORT, locale), f"trip:report:{order.id}")]
    label = t(STEP_LABELS.get(steps[following], steps[following]), locale)
    return [button(label, f"trip:go:{order.id}:{following}")]


def _position(order: Order) -> int:
    steps = order.kind.execution_steps
    return steps.index(order.step) if order.step in steps else -1


async def show(turn: Turn, order: Order) -> None:
    turn.replies.append(trip_reply(order, turn.locale))


async def on_button(turn: Turn, action: str, args: list[str]) -> None:
    if action in ("eta", "pass", "done"):
        await _flow_control(turn, action, args)
        return
    order = await jobs.own_job(turn, args)
    if order is None or not order.kind.execution_steps:
        turn.say(turn.t(jobs.NOT_YOURS))
        return
    if action == "accept":
        await _accept(turn, order)
    elif action == "decline":
        await _decline(turn, order)
    elif action == "go":
        await _go(turn, order, args[1:])
    elif action == "report":
        await _begin_report(turn, order)
    else:
        await show(turn, order)


async def _accept(turn: Turn, order: Order) -> None:
    move = partial(orders.start_work, turn.session, order, turn.executor_actor())
    if await _answer_job(turn, order, move, ACCEPTED):
        await show(turn, order)


async def _decline(turn: Turn, order: Order) -> None:
    move = partial(exchange.decline_job, turn.session, order, turn.executor_actor())
    await _answer_job(turn, order, move, DECLINED)


async def _answer_job(
    turn: Turn, order: Order, move: Callable[[], Awaitable[object]], done: str
) -> bool:
    """The driver's answer to a trip card; a card someone else has already moved on gets
    "too late" instead. True when the answer was taken."""
    number = order.number
    try:
        await in_savepoint(turn, move)
    except (TransitionError, OrderRuleError):
        await jobs.late(turn, order, number)
        return False
    turn.say(turn.t(done, number=number))
    return True


async def _go(turn: Turn, order: Order, args: list[str]) -> None:
    following = _position(order) + 1
    if order.status is not OrderStatus.IN_PROGRESS or args != [str(following)]:
        turn.say(turn.t(STEP_BEHIND, number=order.number))
        await show(turn, order)
        return
    steps = order.kind.execution_steps
    if steps[following] == EN_ROUTE:
        turn.begin(ETA_FLOW, "eta", {"order": order.id, "from": order.step})
        await ask_eta(turn)
        return
    if not await _advance(turn, order, None):
        return
    if following == len(steps) - 1:
        await _begin_report(turn, order)
        return
    label = turn.t(STEP_LABELS.get(order.step or "", order.step or ""))
    turn.say(turn.t(STEP_DONE, number=order.number, step=label))
    await show(turn, order)


async def _advance(turn: Turn, order: Order, data: dict[str, object] | None) -> bool:
    number = order.number
    try:
        await in_savepoint(
            turn, lambda: orders.advance_step(turn.session, order, turn.executor_actor(), data)
        )
    except (TransitionError, OrderRuleError):
        await jobs.late(turn, order, number)
        return False
    return True


# --- the arrival time -------------------------------------------------------------------


async def ask_eta(turn: Turn) -> None:
    quick = [button(turn.t(MINUTES, count=m), f"trip:eta:{m}") for m in QUICK_ETAS]
    cancel = button(turn.t(CANCEL), "dlg:cancel")
    turn.say(turn.t(ASK_ETA), buttons=(*rows(quick, 3), (cancel,)))


async def on_eta_input(turn: Turn) -> None:
    if turn.incoming.location is not None:
        await on_location(turn)  # shared on the way, before answering
        return
    await _en_route(turn, turn.text)


async def _en_route(turn: Turn, said: str) -> None:
    assert turn.state is not None
    try:
        eta = parse_eta(said, turn.now, turn.services.tz)
    except EtaInputError:
        turn.say(turn.t(BAD_ETA))
        await ask_eta(turn)
        return
    data = turn.state.data
    await turn.finish()
    order = await turn.session.get(Order, data["order"])
    if order is None or order.step != data["from"]:
        turn.say(
            turn.t(jobs.NOT_YOURS) if order is None else turn.t(STEP_BEHIND, number=order.number)
        )
        return
    if await _advance(turn, order, eta_data(eta)):
        # Told what really happens: the client's notice goes out by the same rules. (Imported
        # here: notices reach the engine, which routes to this module.)
        from handlers.notices import why_client_misses_step

        missed = await why_client_misses_step(turn.session, order, EN_ROUTE, turn.services)
        said = NOT_TOLD[missed] if missed is not None else ON_THE_WAY
        turn.say(turn.t(said, time=eta.at.strftime("%H:%M")))
        await show(turn, order)


# --- the report at the last step -------------------------------------------------------


async def _begin_report(turn: Turn, order: Order) -> None:
    if order.status is not OrderStatus.IN_PROGRESS or _position(order) + 1 < len(
        order.kind.execution_steps
    ):
        await show(turn, order)
        return
    turn.begin(REPORT_FLOW, "comment", {"order": order.id, "files": []})
    await ask_report(turn)


async def ask_report(turn: Turn) -> None:
    assert turn.state is not None
    cancel = button(turn.t(CANCEL), "dlg:cancel")
    if turn.state.step == "comment":
        turn.say(turn.t(ASK_TRIP_COMMENT), buttons=((button(turn.t(SKIP), "trip:pass"), cancel),))
    else:
        turn.say(turn.t(ASK_PHOTO), buttons=((button(turn.t(DONE), "trip:done"), cancel),))


async def on_report_input(turn: Turn) -> None:
    assert turn.state is not None
    if turn.incoming.location is not None:
        await on_location(turn)
    elif turn.state.step == "comment" and turn.text:
        turn.move("photo", comment=turn.text[:4000])
        await ask_report(turn)
    elif turn.state.step == "photo" and turn.incoming.files:
        await _take_photos(turn)
    else:
        await ask_report(turn)


async def _take_photos(turn: Turn) -> None:
    assert turn.state is not None
    taken = list(turn.state.data["files"])
    for file in turn.incoming.files:
        stored = await take_upload(
            turn, file, FilePurpose.RESULT, executor_id=turn.identity.executor_id
        )
        if stored is not None:
            taken.append(stored.id)
    turn.move("photo", files=taken)
    turn.say(turn.t(FILES_TAKEN, count=len(taken)), buttons=((button(turn.t(DONE), "trip:done"),),))


async def _flow_control(turn: Turn, action: str, args: list[str]) -> None:
    """trip:eta:<minutes> in the ETA flow; trip:pass (no comment), trip:done (no more
    photos) in the report flow."""
    state = turn.state
    if action == "eta" and turn.in_flow(ETA_FLOW) and args and args[0].isdigit():
        await _en_route(turn, args[0])
    elif action == "pass" and turn.in_flow(REPORT_FLOW) and state and state.step == "comment":
        turn.move("photo", comment="")
        await ask_report(turn)
    elif action == "done" and turn.in_flow(REPORT_FLOW):
        await _complete(turn)
    else:
        await stale_button(turn)  # a button of a flow that is over


async def _complete(turn: Turn) -> None:
    assert turn.state is not None
    data = turn.state.data
    await turn.finish()
    order = await turn.session.get(Order, data["order"])
    if order is None:
        turn.say(turn.t(jobs.NOT_YOURS))
        return
    number = order.number
    if await jobs.submit(turn, order, data["files"], data.get("comment", "")):
        turn.say(turn.t(TRIP_COMPLETE, number=number), order_id=order.id)


# --- location ---------------------------------------------------------------------------


async def on_location(turn: Turn) -> bool:
    """Keep a driver's location on their trip in progress (the most recently started of
    several); True when kept (nothing to file), False for anyone else."""
    location = turn.incoming.location
    if location is None or turn.identity.executor_id is None:
        return False
    trip = await _current_trip(turn, turn.identity.executor_id)
    if trip is None:
        return False
    position = {
        "lat": location.latitude,
        "lon": location.longitude,
        "at": turn.now.isoformat(),
        "live": location.live or turn.incoming.edited,
    }
    # A plain UPDATE: a live location moves every few seconds and must neither bump the
    # order's version (a manager's transition would then lose the race) nor lose to one.
    await turn.session.execute(
        update(Order).where(Order.id == trip).values(last_location=position),
        execution_options={"synchronize_session": False},
    )
    return True


async def _current_trip(turn: Turn, executor_id: int) -> int | None:
    started = (
        select(func.max(OrderEvent.id))
        .where(OrderEvent.order_id == Order.id, OrderEvent.action == "start_work")
        .scalar_subquery()
    )
    found = await turn.session.execute(
        select(Order.id, OrderKind.execution_steps)
        .join(OrderKind, Order.kind_id == OrderKind.id)
        .where(Order.executor_id == executor_id, Order.status == OrderStatus.IN_PROGRESS)
        .order_by(func.coalesce(started, 0).desc(), Order.id.desc())
    )
    return next((order_id for order_id, steps in found if steps), None)


FLOWS: dict[str, Flow] = {
    ETA_FLOW: Flow(on_eta_input, ask_eta, jobs.my_jobs),
    REPORT_FLOW: Flow(on_report_input, ask_report, jobs.my_jobs),
}
