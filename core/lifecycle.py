"""The order lifecycle as data: which action moves an order from which status to which, and
who may take it. Pure rules, no database: `plan()` answers "may this role do this now, and
where does it lead?" for an order of a given kind.

Kinds skip the steps they do not use: without prepayment there is no awaiting_payment
(accepting a quote confirms the order, status `paid` then means "confirmed, nothing to
prepay"); without the exchange there is no on_exchange; without review, a submitted result
is ready at once and there is no in_review / revision loop; without a guarantee period,
handing the order over is the end (deliver leads straight to `closed`: there is nothing
left to wait for), and only kinds with one stay `delivered` until the client closes it or
the period ends."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from core.i18n import N_
from core.models.orders import ActorRole, OrderStatus

S = OrderStatus
R = ActorRole


class Action(StrEnum):
    SUBMIT = "submit"
    START_EVALUATION = "start_evaluation"
    QUOTE = "quote"
    ACCEPT_QUOTE = "accept_quote"
    REOPEN_QUOTE = "reopen_quote"
    MARK_PAID = "mark_paid"
    PUBLISH = "publish"
    WITHDRAW = "withdraw"
    TAKE = "take"
    ASSIGN = "assign"
    DECLINE_JOB = "decline_job"
    RELEASE = "release"
    START_WORK = "start_work"
    ADVANCE = "advance"
    SUBMIT_RESULT = "submit_result"
    APPROVE = "approve"
    RETURN_FOR_REVISION = "return_for_revision"
    RESUME = "resume"
    DELIVER = "deliver"
    REQUEST_REVISION = "request_revision"
    ACCEPT_REVISION = "accept_revision"
    DECLINE_REVISION = "decline_revision"
    CLOSE = "close"
    CANCEL = "cancel"


STATUS_LABELS = {
    S.DRAFT: N_("Draft"),
    S.NEW: N_("New"),
    S.EVALUATING: N_("Evaluating"),
    S.QUOTED: N_("Quoted"),
    S.AWAITING_PAYMENT: N_("Awaiting payment"),
    S.PAID: N_("Paid / confirmed"),
    S.ON_EXCHANGE: N_("On the exchange"),
    S.ASSIGNED: N_("Assigned"),
    S.IN_PROGRESS: N_("In progress"),
    S.IN_REVIEW: N_("In review"),
    S.REVISION: N_("Revision"),
    S.READY: N_("Ready"),
    S.DELIVERED: N_("Delivered"),
    S.REVISION_REQUESTED: N_("Revision requested"),
    S.CLOSED: N_("Closed"),
    S.CANCELLED: N_("Cancelled"),
}

OPEN_STATUSES = frozenset(OrderStatus) - {S.CLOSED, S.CANCELLED}
# Before money is taken the client (and the operator at the desk) may still walk away.
PRE_PAYMENT_STATUSES = frozenset({S.DRAFT, S.NEW, S.EVALUATING, S.QUOTED, S.AWAITING_PAYMENT})
STAFF = frozenset({R.MANAGER, R.OWNER})
INTAKE = STAFF | {R.OPERATOR}


@dataclass(frozen=True, slots=True)
class Move:
    sources: frozenset[OrderStatus]
    target: OrderStatus
    roles: frozenset[ActorRole]


def _move(sources: Iterable[OrderStatus], target: OrderStatus, roles: Iterable[ActorRole]) -> Move:
    return Move(frozenset(sources), target, frozenset(roles))


# The whole table. A target the kind skips is forwarded (see FORWARD); a source the kind
# skips can never be the current status, so those moves simply never apply.
TRANSITIONS: dict[Action, tuple[Move, ...]] = {
    Action.SUBMIT: (_move([S.DRAFT], S.NEW, INTAKE | {R.CLIENT}),),
    Action.START_EVALUATION: (_move([S.NEW], S.EVALUATING, INTAKE),),
    Action.QUOTE: (_move([S.NEW, S.EVALUATING, S.QUOTED], S.QUOTED, INTAKE),),
    Action.ACCEPT_QUOTE: (_move([S.QUOTED], S.AWAITING_PAYMENT, INTAKE | {R.CLIENT}),),
    Action.REOPEN_QUOTE: (_move([S.QUOTED, S.AWAITING_PAYMENT], S.EVALUATING, INTAKE),),
    Action.MARK_PAID: (_move([S.AWAITING_PAYMENT], S.PAID, STAFF | {R.SYSTEM}),),
    Action.PUBLISH: (_move([S.PAID], S.ON_EXCHANGE, STAFF),),
    Action.WITHDRAW: (_move([S.ON_EXCHANGE], S.PAID, STAFF),),
    Action.TAKE: (_move([S.ON_EXCHANGE], S.ASSIGNED, [R.EXECUTOR]),),
    Action.ASSIGN: (_move([S.PAID, S.ON_EXCHANGE], S.ASSIGNED, STAFF),),
    Action.DECLINE_JOB: (_move([S.ASSIGNED], S.PAID, [R.EXECUTOR]),),
    Action.RELEASE: (_move([S.ASSIGNED, S.IN_PROGRESS, S.REVISION], S.PAID, STAFF),),
    Action.START_WORK: (_move([S.ASSIGNED], S.IN_PROGRESS, STAFF | {R.EXECUTOR}),),
    Action.ADVANCE: (_move([S.IN_PROGRESS], S.IN_PROGRESS, STAFF | {R.EXECUTOR}),),
    Action.SUBMIT_RESULT: (_move([S.IN_PROGRESS], S.IN_REVIEW, STAFF | {R.EXECUTOR}),),
    Action.APPROVE: (_move([S.IN_REVIEW], S.READY, STAFF),),
    Action.RETURN_FOR_REVISION: (_move([S.IN_REVIEW], S.REVISION, STAFF),),
    Action.RESUME: (_move([S.REVISION], S.IN_PROGRESS, STAFF | {R.EXECUTOR}),),
    Action.DELIVER: (_move([S.READY], S.DELIVERED, STAFF | {R.SYSTEM}),),
    Action.REQUEST_REVISION: (_move([S.DELIVERED], S.REVISION_REQUESTED, STAFF | {R.CLIENT}),),
    Action.ACCEPT_REVISION: (_move([S.REVISION_REQUESTED], S.IN_PROGRESS, STAFF),),
    Action.DECLINE_REVISION: (_move([S.REVISION_REQUESTED], S.DELIVERED, STAFF),),
    Action.CLOSE: (_move([S.DELIVERED], S.CLOSED, STAFF | {R.CLIENT, R.SYSTEM}),),
    Action.CANCEL: (
        _move(PRE_PAYMENT_STATUSES, S.CANCELLED, INTAKE | {R.CLIENT, R.SYSTEM}),
        _move(OPEN_STATUSES - PRE_PAYMENT_STATUSES, S.CANCELLED, STAFF),
    ),
}

# Where an action lands when the kind skips its nominal target.
FORWARD = {S.AWAITING_PAYMENT: S.PAID, S.IN_REVIEW: S.READY}

# Actions after which the order has no execution step any more.
_LEAVES_EXECUTION = frozenset(OrderStatus) - {S.IN_PROGRESS}


@dataclass(frozen=True, slots=True)
class KindProfile:
    """What of the lifecycle an order kind uses."""

    prepayment: bool
    exchange: bool
    review: bool
    steps: tuple[str, ...] = ()
    guarantee_days: int = 0

    @property
    def has_guarantee(self) -> bool:
        return self.guarantee_days > 0

    @property
    def skipped(self) -> frozenset[OrderStatus]:
        skipped: set[OrderStatus] = set()
        if not self.prepayment:
            skipped.add(S.AWAITING_PAYMENT)
        if not self.exchange:
            skipped.add(S.ON_EXCHANGE)
        if not self.review:
            skipped |= {S.IN_REVIEW, S.REVISION}
        return frozenset(skipped)


# Every status in use (the student paper's profile, guarantee period included).
FULL_PROFILE = KindProfile(prepayment=True, exchange=True, review=True, guarantee_days=20)


@dataclass(frozen=True, slots=True)
class Plan:
    action: Action
    from_status: OrderStatus
    to_status: OrderStatus
    from_step: str | None
    to_step: str | None


class TransitionError(Exception):
    """A move the rules do not allow. `reason` is a stable code the outer layers translate."""

    def __init__(self, action: Action, status: OrderStatus, role: ActorRole, reason: str) -> None:
        self.action = action
        self.status = status
        self.role = role
        self.reason = reason
        super().__init__(f"{role} may not {action} an order in status {status}: {reason}")


def plan(
    action: Action,
    status: OrderStatus,
    role: ActorRole,
    profile: KindProfile,
    step: str | None = None,
) -> Plan:
    """Where `action` by `role` leads from `status`, or TransitionError."""
    move = _find_move(action, status, role, profile)
    target = move.target
    while target in profile.skipped:
        if target not in FORWARD:
            raise TransitionError(action, status, role, "kind_skips_step")
        target = FORWARD[target]
    if action is Action.DELIVER and not profile.has_guarantee:
        # Nothing to wait for after the handover: the order is finished (the archive).
        # An order already `delivered` (its kind's guarantee removed later) still closes
        # the usual way.
        target = S.CLOSED
    to_step = _next_step(action, status, role, profile, step)
    return Plan(action, status, target, step, None if target in _LEAVES_EXECUTION else to_step)


def _find_move(action: Action, status: OrderStatus, role: ActorRole, profile: KindProfile) -> Move:
    if status in profile.skipped:
        raise TransitionError(action, status, role, "kind_skips_step")
    by_status = [move for move in TRANSITIONS[action] if status in move.sources]
    if not by_status:
        raise TransitionError(action, status, role, "wrong_status")
    for move in by_status:
        if role in move.roles:
            return move
    raise TransitionError(action, status, role, "role_not_allowed")


def _next_step(
    action: Action, status: OrderStatus, role: ActorRole, profile: KindProfile, step: str | None
) -> str | None:
    steps = profile.steps
    first = steps[0] if steps else None
    if action is Action.ADVANCE:
        if not steps:
            raise TransitionError(action, status, role, "kind_has_no_steps")
        position = steps.index(step) if step in steps else -1
        if position + 1 >= len(steps):
            raise TransitionError(action, status, role, "no_next_step")
        return steps[position + 1]
    if action is Action.SUBMIT_RESULT and steps and step != steps[-1]:
        raise TransitionError(action, status, role, "steps_not_finished")
    if action in (Action.START_WORK, Action.RESUME, Action.ACCEPT_REVISION):
        return first
    return step


def allowed_actions(
    status: OrderStatus, role: ActorRole, profile: KindProfile, step: str | None = None
) -> list[Action]:
    """The actions a role may take now, in table order (the panel shows these as buttons)."""
    allowed = []
    for action in Action:
        try:
            plan(action, status, role, profile, step)
        except TransitionError:
            continue
        allowed.append(action)
    return allowed


def within_guarantee(delivered_at: datetime | None, guarantee_days: int, now: datetime) -> bool:
    """A client may ask for a free revision only during the kind's guarantee period."""
    if delivered_at is None or guarantee_days <= 0:
        return False
    return now <= delivered_at + timedelta(days=guarantee_days)
