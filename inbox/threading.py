"""Threading rules for chat channels (ARCHITECTURE §4), as a pure decision:

1. a reply to a message we sent about an order goes to that conversation;
2. a person with exactly one active order -> that order;
3. several active orders -> ask which (the message is held and filed after the answer);
4. none -> their lead (or application) conversation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ToConversation:
    conversation_id: int


@dataclass(frozen=True, slots=True)
class ToOrder:
    order_id: int


@dataclass(frozen=True, slots=True)
class AskWhich:
    order_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ToLead:
    pass


Decision = ToConversation | ToOrder | AskWhich | ToLead


def decide(replied_conversation: int | None, active_orders: list[int]) -> Decision:
    """`replied_conversation`: the conversation of our message this one replies to, if any.
    `active_orders`: the sender's open orders (as client or as executor), newest first."""
    if replied_conversation is not None:
        return ToConversation(replied_conversation)
    if len(active_orders) == 1:
        return ToOrder(active_orders[0])
    if active_orders:
        return AskWhich(tuple(active_orders))
    return ToLead()


CHOOSE_ORDER_PREFIX = "thread:order:"


def choice_payload(order_id: int) -> str:
    """The button payload of "this message is about order N"."""
    return f"{CHOOSE_ORDER_PREFIX}{order_id}"


def parse_choice(payload: str | None) -> int | None:
    if not payload or not payload.startswith(CHOOSE_ORDER_PREFIX):
        return None
    tail = payload.removeprefix(CHOOSE_ORDER_PREFIX)
    return int(tail) if tail.isdigit() else None
