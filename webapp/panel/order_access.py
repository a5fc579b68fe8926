"""Who may see an order and act on it from the panel: the `only_assigned_to` rule, the
actor a staff member is in core's terms, and which status actions their role and
permissions allow on this order right now (the card shows exactly these as buttons)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.lifecycle import Action, allowed_actions
from core.models import ActorRole, Order, StaffRole, User
from core.transitions import Actor, profile_of
from webapp.access.permissions import Permission
from webapp.access.sessions import Staff
from webapp.panel.inputs import parse_id

# The permission each status action needs in the panel, beyond what the lifecycle allows
# the staff member's role. Money-moving ones ask for a confirmation first.
ACTION_PERMISSIONS: dict[Action, Permission] = {
    Action.SUBMIT: Permission.ORDER_STATUS,
    Action.START_EVALUATION: Permission.ORDER_STATUS,
    Action.QUOTE: Permission.MONEY,
    Action.ACCEPT_QUOTE: Permission.ORDER_STATUS,
    Action.REOPEN_QUOTE: Permission.MONEY,
    Action.MARK_PAID: Permission.MONEY,
    Action.PUBLISH: Permission.EXCHANGE,
    Action.WITHDRAW: Permission.EXCHANGE,
    Action.RELEASE: Permission.REASSIGN,
    Action.START_WORK: Permission.ORDER_STATUS,
    Action.ADVANCE: Permission.ORDER_STATUS,
    Action.SUBMIT_RESULT: Permission.ORDER_STATUS,
    Action.APPROVE: Permission.ORDER_STATUS,
    Action.RETURN_FOR_REVISION: Permission.ORDER_STATUS,
    Action.RESUME: Permission.ORDER_STATUS,
    Action.DELIVER: Permission.MONEY,
    Action.REQUEST_REVISION: Permission.ORDER_STATUS,
    Action.ACCEPT_REVISION: Permission.ORDER_STATUS,
    Action.DECLINE_REVISION: Permission.ORDER_STATUS,
    Action.CLOSE: Permission.ORDER_STATUS,
    Action.CANCEL: Permission.MONEY,
}
# Actions with a form of their own on the card (not a plain status button).
FORM_ACTIONS = frozenset({Action.QUOTE, Action.PUBLISH, Action.ASSIGN, Action.RELEASE})
MONEY_ACTIONS = frozenset(a for a, p in ACTION_PERMISSIONS.items() if p is Permission.MONEY)


def actor_of(staff: Staff) -> Actor:
    return Actor(ActorRole(staff.role.value), user_id=staff.user_id)


def may_see(staff: Staff, order: Order) -> bool:
    """A manager restricted to their own work sees their orders and the ones nobody has:
    `webapp.queries.visibility.order_visible` for an order already loaded (no query)."""
    mine = staff.only_assigned_to
    return mine is None or order.manager_id in (mine, None)


def order_id_of(request: web.Request) -> int:
    raw = request.match_info.get("order_id", "")
    if parse_id(raw) is None:
        raise web.HTTPNotFound()
    return int(raw)


async def visible_order(session: AsyncSession, request: web.Request, staff: Staff) -> Order:
    """The order in the URL, or 404 (also for one the staff member may not see)."""
    order = await session.get(Order, order_id_of(request))
    if order is None or not may_see(staff, order):
        raise web.HTTPNotFound()
    return order


def status_actions(staff: Staff, order: Order) -> list[Action]:
    """The lifecycle's allowed actions for the staff member's role, kept to those their
    panel permissions cover."""
    role = ActorRole(staff.role.value)
    allowed = allowed_actions(order.status, role, profile_of(order.kind), order.step)
    return [
        action
        for action in allowed
        if action in ACTION_PERMISSIONS and staff.can(ACTION_PERMISSIONS[action])
    ]


def may_assign(staff: Staff, order: Order) -> bool:
    role = ActorRole(staff.role.value)
    allowed = allowed_actions(order.status, role, profile_of(order.kind), order.step)
    return Action.ASSIGN in allowed and staff.can(Permission.ASSIGN)


async def managers(session: AsyncSession) -> list[tuple[int, str]]:
    """Active staff who can manage orders (managers and owners), by name."""
    rows = await session.execute(
        select(User.id, User.name)
        .where(User.is_active.is_(True), User.role.in_([StaffRole.MANAGER, StaffRole.OWNER]))
        .order_by(User.name, User.id)
    )
    return [(user_id, name) for user_id, name in rows]
