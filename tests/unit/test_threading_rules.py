"""The four chat threading rules, each picking the right destination."""

from __future__ import annotations

from inbox.threading import (
    AskWhich,
    ToConversation,
    ToLead,
    ToOrder,
    choice_payload,
    decide,
    parse_choice,
)


def test_a_reply_to_our_message_wins_over_everything() -> None:
    assert decide(7, [1, 2, 3]) == ToConversation(7)
    assert decide(7, []) == ToConversation(7)


def test_one_active_order_takes_the_message() -> None:
    assert decide(None, [42]) == ToOrder(42)


def test_several_active_orders_ask_which() -> None:
    assert decide(None, [43, 42]) == AskWhich((43, 42))


def test_no_active_order_goes_to_the_lead_conversation() -> None:
    assert decide(None, []) == ToLead()


def test_choice_payload_round_trip_and_garbage() -> None:
    assert parse_choice(choice_payload(1042)) == 1042
    assert parse_choice("thread:order:abc") is None
    assert parse_choice("menu:new") is None
    assert parse_choice(None) is None
