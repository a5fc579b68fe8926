"""The whole transition matrix, written out by hand: for every kind profile, every status,
every action and every role, the move is allowed exactly where a table row says so and
leads exactly where it says. Anything not in a table must be refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.kinds import BUILTIN_KINDS
from core.lifecycle import (
    FULL_PROFILE,
    Action,
    KindProfile,
    TransitionError,
    allowed_actions,
    plan,
    within_guarantee,
)
from core.models.orders import ActorRole, OrderStatus

PRE = "draft new evaluating quoted awaiting_payment"

# action | from statuses | to | roles.  "mgr" = manager owner, "intake" = operator manager owner
FULL = f"""
submit              | draft                                 | new                | client intake
start_evaluation    | new                                   | evaluating         | intake
quote               | new evaluating quoted                 | quoted             | intake
accept_quote        | quoted                                | awaiting_payment   | client intake
reopen_quote        | quoted awaiting_payment               | evaluating         | intake
mark_paid           | awaiting_payment                      | paid               | mgr system
publish             | paid                                  | on_exchange        | mgr
withdraw            | on_exchange                           | paid               | mgr
take                | on_exchange                           | assigned           | executor
assign              | paid on_exchange                      | assigned           | mgr
decline_job         | assigned                              | paid               | executor
release             | assigned in_progress revision         | paid               | mgr
start_work          | assigned                              | in_progress        | executor mgr
submit_result       | in_progress                           | in_review          | executor mgr
approve             | in_review                             | ready              | mgr
return_for_revision | in_review                             | revision           | mgr
resume              | revision                              | in_progress        | executor mgr
deliver             | ready                                 | delivered          | mgr system
request_revision    | delivered                             | revision_requested | client mgr
accept_revision     | revision_requested                    | in_progress        | mgr
decline_revision    | revision_requested                    | delivered          | mgr
close               | delivered                             | closed             | client mgr system
cancel              | {PRE}                                 | cancelled          | client intake system
cancel              | paid on_exchange assigned in_progress in_review revision ready delivered revision_requested | cancelled | mgr
"""

# Trip: no prepayment, exchange, no review, execution steps. `advance` is checked
# separately (it depends on the step); in the matrix the order sits at the last step.
TRIP = """
submit              | draft                              | new                | client intake
start_evaluation    | new                                | evaluating         | intake
quote               | new evaluating quoted              | quoted             | intake
accept_quote        | quoted                             | paid               | client intake
reopen_quote        | quoted                             | evaluating         | intake
publish             | paid                               | on_exchange        | mgr
withdraw            | on_exchange                        | paid               | mgr
take                | on_exchange                        | assigned           | executor
assign              | paid on_exchange                   | assigned           | mgr
decline_job         | assigned                           | paid               | executor
release             | assigned in_progress               | paid               | mgr
start_work          | assigned                           | in_progress        | executor mgr
submit_result       | in_progress                        | ready              | executor mgr
deliver             | ready                              | closed             | mgr system
request_revision    | delivered                          | revision_requested | client mgr
accept_revision     | revision_requested                 | in_progress        | mgr
decline_revision    | revision_requested                 | delivered          | mgr
close               | delivered                          | closed             | client mgr system
cancel              | draft new evaluating quoted        | cancelled          | client intake system
cancel              | paid on_exchange assigned in_progress ready delivered revision_requested | cancelled | mgr
"""

# Print job: no prepayment, no exchange, no review, no steps.
PRINT = """
submit              | draft                              | new                | client intake
start_evaluation    | new                                | evaluating         | intake
quote               | new evaluating quoted              | quoted             | intake
accept_quote        | quoted                             | paid               | client intake
reopen_quote        | quoted                             | evaluating         | intake
assign              | paid                               | assigned           | mgr
decline_job         | assigned                           | paid               | executor
release             | assigned in_progress               | paid               | mgr
start_work          | assigned                           | in_progress        | executor mgr
submit_result       | in_progress                        | ready              | executor mgr
deliver             | ready                              | closed             | mgr system
request_revision    | delivered                          | revision_requested | client mgr
accept_revision     | revision_requested                 | in_progress        | mgr
decline_revision    | revision_requested                 | delivered          | mgr
close               | delivered                          | closed             | client mgr system
cancel              | draft new evaluating quoted        | cancelled          | client intake system
cancel              | paid assigned in_progress ready delivered revision_requested | cancelled | mgr
"""

TRIP_STEPS = ("accepted", "en_route", "on_site", "started", "finished")
PROFILES = {
    "full": (FULL_PROFILE, FULL),
    "trip": (KindProfile(prepayment=False, exchange=True, review=False, steps=TRIP_STEPS), TRIP),
    "print": (KindProfile(prepayment=False, exchange=False, review=False), PRINT),
}
ROLE_GROUPS = {
    "mgr": {"manager", "owner"},
    "intake": {"operator", "manager", "owner"},
}


def parse(table: str) -> dict[tuple[str, str, str], str]:
    expected: dict[tuple[str, str, str], str] = {}
    for line in table.strip().splitlines():
        action, sources, target, roles = (part.strip() for part in line.split("|"))
        names = set()
        for role in roles.split():
            names |= ROLE_GROUPS.get(role, {role})
        for source in sources.split():
            for role in names:
                key = (action, source, role)
                assert key not in expected, f"duplicate row for {key}"
                expected[key] = target
    return expected


@pytest.mark.parametrize("name", PROFILES)
def test_every_move_matches_the_table(name: str) -> None:
    profile, table = PROFILES[name]
    expected = parse(table)
    step = profile.steps[-1] if profile.steps else None
    checked = 0
    for status in OrderStatus:
        for action in Action:
            for role in ActorRole:
                key = (action.value, status.value, role.value)
                current_step = step if status is OrderStatus.IN_PROGRESS else None
                if key in expected:
                    result = plan(action, status, role, profile, current_step)
                    assert result.to_status.value == expected[key], key
                else:
                    with pytest.raises(TransitionError):
                        plan(action, status, role, profile, current_step)
                checked += 1
    assert checked == len(OrderStatus) * len(Action) * len(ActorRole)


def test_builtin_kinds_match_the_tested_profiles() -> None:
    by_code = {kind.code: kind for kind in BUILTIN_KINDS}
    for code, name in (("student_paper", "full"), ("trip", "trip"), ("print_job", "print")):
        kind = by_code[code]
        profile = KindProfile(
            prepayment=bool(kind.prepayment_percent),
            exchange=kind.uses_exchange,
            review=kind.needs_review,
            steps=kind.execution_steps,
            guarantee_days=kind.guarantee_days,
        )
        assert profile == PROFILES[name][0]


def test_trip_steps_advance_one_by_one_and_result_waits_for_the_last() -> None:
    profile = PROFILES["trip"][0]
    started = plan(Action.START_WORK, OrderStatus.ASSIGNED, ActorRole.EXECUTOR, profile)
    assert started.to_step == "accepted"
    step = started.to_step
    seen = [step]
    for _ in TRIP_STEPS[1:]:
        with pytest.raises(TransitionError) as refused:
            plan(Action.SUBMIT_RESULT, OrderStatus.IN_PROGRESS, ActorRole.EXECUTOR, profile, step)
        assert refused.value.reason == "steps_not_finished"
        step = plan(
            Action.ADVANCE, OrderStatus.IN_PROGRESS, ActorRole.EXECUTOR, profile, step
        ).to_step
        seen.append(step)
    assert tuple(seen) == TRIP_STEPS
    with pytest.raises(TransitionError) as last:
        plan(Action.ADVANCE, OrderStatus.IN_PROGRESS, ActorRole.EXECUTOR, profile, step)
    assert last.value.reason == "no_next_step"
    done = plan(Action.SUBMIT_RESULT, OrderStatus.IN_PROGRESS, ActorRole.EXECUTOR, profile, step)
    assert (done.to_status, done.to_step) == (OrderStatus.READY, None)


def test_handing_over_a_kind_without_a_guarantee_period_closes_the_order() -> None:
    print_job = KindProfile(prepayment=False, exchange=False, review=False)
    handed = plan(Action.DELIVER, OrderStatus.READY, ActorRole.MANAGER, print_job)
    assert handed.to_status is OrderStatus.CLOSED
    guaranteed = replace(print_job, guarantee_days=14)
    kept = plan(Action.DELIVER, OrderStatus.READY, ActorRole.MANAGER, guaranteed)
    assert kept.to_status is OrderStatus.DELIVERED
    # An order left `delivered` before its kind lost the guarantee still closes.
    closed = plan(Action.CLOSE, OrderStatus.DELIVERED, ActorRole.SYSTEM, print_job)
    assert closed.to_status is OrderStatus.CLOSED


def test_kind_without_steps_cannot_advance() -> None:
    with pytest.raises(TransitionError) as refused:
        plan(Action.ADVANCE, OrderStatus.IN_PROGRESS, ActorRole.MANAGER, FULL_PROFILE)
    assert refused.value.reason == "kind_has_no_steps"


def test_refusal_reasons_distinguish_status_role_and_kind() -> None:
    with pytest.raises(TransitionError) as wrong_status:
        plan(Action.DELIVER, OrderStatus.NEW, ActorRole.MANAGER, FULL_PROFILE)
    assert wrong_status.value.reason == "wrong_status"
    with pytest.raises(TransitionError) as wrong_role:
        plan(Action.DELIVER, OrderStatus.READY, ActorRole.CLIENT, FULL_PROFILE)
    assert wrong_role.value.reason == "role_not_allowed"
    with pytest.raises(TransitionError) as skipped:
        plan(Action.PUBLISH, OrderStatus.PAID, ActorRole.MANAGER, PROFILES["print"][0])
    assert skipped.value.reason == "kind_skips_step"


def test_allowed_actions_lists_the_buttons_a_client_sees_on_a_quote() -> None:
    actions = allowed_actions(OrderStatus.QUOTED, ActorRole.CLIENT, FULL_PROFILE)
    assert actions == [Action.ACCEPT_QUOTE, Action.CANCEL]


def test_guarantee_period_boundaries() -> None:
    delivered = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert within_guarantee(delivered, 20, delivered + timedelta(days=20))
    assert not within_guarantee(delivered, 20, delivered + timedelta(days=20, seconds=1))
    assert not within_guarantee(delivered, 0, delivered)
    assert not within_guarantee(None, 20, delivered)


def test_every_status_has_a_label() -> None:
    from core.lifecycle import STATUS_LABELS

    assert set(STATUS_LABELS) == set(OrderStatus)
