"""Staff edits outside the lifecycle (core/order_edits.py): what changed is audited, the
status stays, and closed orders or non-staff actors are refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core import orders
from core.events import OrderEdited, take_pending
from core.models import OrderEvent, OrderStatus, StaffRole
from core.order_edits import NotStaff, OrderClosed, change_manager, edit_fields
from core.transitions import Actor
from inbox.bus.publisher import notice_for
from tests import builders


async def _events(session: AsyncSession, order_id: int) -> list[OrderEvent]:
    found = await session.scalars(
        sa.select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
    )
    return list(found)


async def test_an_edit_keeps_the_status_and_audits_what_changed(session: AsyncSession) -> None:
    order, manager = await builders.paper_order(session)
    order.details = {"topic": "Old", "pages": 10}
    deadline = datetime(2031, 5, 1, 20, 59, tzinfo=UTC)

    changed = await edit_fields(
        session, order, manager, details={"topic": "New", "pages": 10, "originality": 80},
        title="Paper", deadline=deadline,
    )  # fmt: skip
    again = await edit_fields(
        session, order, manager, details={"topic": "New", "pages": 10, "originality": 80},
        title="Paper", deadline=deadline,
    )  # fmt: skip

    assert changed == {
        "topic": ["Old", "New"], "originality": [None, 80], "title": ["", "Paper"],
        "deadline": [None, deadline.isoformat()],
    }  # fmt: skip
    assert again == {}
    assert order.status is OrderStatus.NEW and order.details["topic"] == "New"
    edits = [e for e in await _events(session, order.id) if e.action == "edit_fields"]
    assert len(edits) == 1
    assert (edits[0].from_status, edits[0].to_status) == ("new", "new")
    assert edits[0].data["changed"]["topic"] == ["Old", "New"]
    # Open panels hear of it as `order.changed`; the client gets no status notice.
    recorded = [e for e in take_pending(session) if isinstance(e, OrderEdited)]
    assert [(e.order_id, e.action, e.status) for e in recorded] == [
        (order.id, "edit_fields", "new")
    ]
    assert notice_for(recorded[0]) == ("order.changed", {"order_id": order.id, "status": "new"})


async def test_the_manager_changes_with_an_event_and_closed_orders_stay_as_they_were(
    session: AsyncSession,
) -> None:
    order, owner = await builders.paper_order(session)
    other = await builders.staff(session, StaffRole.MANAGER)

    await change_manager(session, order, owner, other)
    await change_manager(session, order, owner, other)  # no change, no event
    await orders.cancel_order(session, order, owner)

    assert order.manager_id == other.id
    actions = [e.action for e in await _events(session, order.id)]
    assert actions.count("change_manager") == 1
    with pytest.raises(OrderClosed):
        await edit_fields(session, order, owner, details={})
    with pytest.raises(OrderClosed):
        await change_manager(session, order, owner, None)


async def test_clients_and_executors_do_not_edit_through_the_staff_service(
    session: AsyncSession,
) -> None:
    order, _ = await builders.paper_order(session)

    with pytest.raises(NotStaff):
        await edit_fields(session, order, Actor.client(order.client_id), details={})
    with pytest.raises(NotStaff):
        await change_manager(session, order, Actor.executor(1), None)
