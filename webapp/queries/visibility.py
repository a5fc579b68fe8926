"""The one visibility rule for a manager whom the "managers see all" setting (off) restricts
to their own work (`Staff.only_assigned_to`). Every query that lists, searches, counts or
opens orders, conversations and clients for the panel applies these conditions; with
`only_assigned_to=None` (owners, operators, managers who see all) they are always true.

- an order: managed by them, or by nobody yet;
- a conversation: assigned to them or to nobody yet, where the assigned manager is the
  order's, else the conversation's, else the client's responsible manager (the query must
  outer-join Order and Client: `with_context`);
- a client (with phone and e-mail): they are the client's manager or manage one of the
  client's orders.

    select(Order.id).where(order_visible(staff.only_assigned_to))"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, true

from core.models import Client, Order
from inbox.models import Conversation

_Query = TypeVar("_Query", bound=Select)


def order_visible(only_assigned_to: int | None) -> ColumnElement[bool]:
    if only_assigned_to is None:
        return true()
    return or_(Order.manager_id == only_assigned_to, Order.manager_id.is_(None))


def client_visible(only_assigned_to: int | None) -> ColumnElement[bool]:
    if only_assigned_to is None:
        return true()
    has_order = exists().where(Order.client_id == Client.id, Order.manager_id == only_assigned_to)
    return or_(Client.manager_id == only_assigned_to, has_order)


def conversation_visible(only_assigned_to: int | None) -> ColumnElement[bool]:
    """Needs Order and Client outer-joined to Conversation (`with_context`)."""
    if only_assigned_to is None:
        return true()
    nobody = and_(
        Order.manager_id.is_(None), Conversation.manager_id.is_(None), Client.manager_id.is_(None)
    )
    return or_(assigned_to(only_assigned_to), nobody)


def assigned_manager() -> ColumnElement[int | None]:
    """The user a conversation is assigned to (needs Order and Client outer-joined)."""
    return func.coalesce(Order.manager_id, Conversation.manager_id, Client.manager_id)


def assigned_to(user_id: int) -> ColumnElement[bool]:
    """`assigned_manager() == user_id`, spelled out column by column: PostgreSQL estimates
    each column from its statistics (it guesses 0.5 % for a COALESCE and then plans a
    parallel scan whose start-up costs more than the whole query)."""
    return or_(
        Order.manager_id == user_id,
        and_(
            Order.manager_id.is_(None),
            or_(
                Conversation.manager_id == user_id,
                and_(Conversation.manager_id.is_(None), Client.manager_id == user_id),
            ),
        ),
    )


def with_context(query: _Query) -> _Query:
    """Outer-join the conversation's order and client (for filters on them)."""
    return query.outerjoin(Order, Order.id == Conversation.order_id).outerjoin(
        Client, Client.id == Conversation.client_id
    )


def conversations_visible_query(only_assigned_to: int | None) -> Select[Any]:
    """The ids of the conversations the viewer may see (for `Conversation.id.in_(...)`)."""
    return with_context(select(Conversation.id)).where(conversation_visible(only_assigned_to))
