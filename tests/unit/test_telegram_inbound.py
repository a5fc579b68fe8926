"""Telegram updates (real-shaped samples in tests/fixtures/telegram) map to the expected
`Incoming`: ids the inbound log de-duplicates on, text, files, contacts, locations, button
presses; updates with nothing a person sent map to None."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import Update

from bots.telegram.inbound import blocked_by, raw_update, to_incoming
from inbox.channel import Incoming, IncomingFile, Location, SharedContact
from inbox.receive import incoming_from_json, incoming_to_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
ANNA = {"sender_id": "5123456789", "chat_id": "5123456789", "sender_name": "Анна Петрова"}
SERGEY = {"sender_id": "6345678901", "chat_id": "6345678901", "sender_name": "Sergey"}


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def mapped(name: str) -> Incoming | None:
    return to_incoming(Update.model_validate(sample(name)))


def expected(name: str, message_id: str, person: dict[str, str], **fields: Any) -> Incoming:
    locale = "ru" if person is ANNA else "en"
    return Incoming(
        channel="telegram",
        message_id=message_id,
        sender_locale=locale,
        raw=sample(name),
        **person,
        **fields,
    )


def test_text_message() -> None:
    assert mapped("text") == expected(
        "text", "5123456789:1201", ANNA, text="Здравствуйте! Нужна курсовая по экономике к 20 мая"
    )


def test_reply_to_a_bot_message_names_that_message() -> None:
    assert mapped("reply_to_bot") == expected(
        "reply_to_bot", "5123456789:1204", ANNA, text="Да, подтверждаю", reply_to="1203"
    )


def test_an_edit_is_a_new_event_keyed_by_its_edit_date() -> None:
    incoming = mapped("edited_text")

    assert incoming == expected(
        "edited_text",
        "5123456789:1201:e1767606185",
        ANNA,
        text="Здравствуйте! Нужна курсовая по экономике к 25 мая",
        edited=True,
    )
    original = mapped("text")
    assert original is not None and incoming.message_id != original.message_id


def test_button_press_carries_the_payload_and_the_pressed_message() -> None:
    assert mapped("callback_query") == expected(
        "callback_query",
        "cb:2200467330948123456",
        ANNA,
        button="quote:accept:1042",
        reply_to="1203",
    )


def test_own_contact_is_vouched_for() -> None:
    assert mapped("contact_own") == expected(
        "contact_own",
        "5123456789:1207",
        ANNA,
        contact=SharedContact("79161234567", "Анна", "Петрова", own=True),
    )


def test_someone_elses_contact_is_not_the_senders_phone() -> None:
    assert mapped("contact_other") == expected(
        "contact_other",
        "5123456789:1208",
        ANNA,
        contact=SharedContact("+7 903 765-43-21", "Игорь", "Смирнов", own=False),
    )


def test_location() -> None:
    assert mapped("location") == expected(
        "location", "6345678901:311", SERGEY, location=Location(55.751244, 37.618423)
    )


def test_live_location_start_and_each_move_are_separate_events() -> None:
    start, move = mapped("live_location_start"), mapped("live_location_edit")

    assert start == expected(
        "live_location_start",
        "6345678901:312",
        SERGEY,
        location=Location(55.755814, 37.617635, live=True, accuracy_m=12.5),
    )
    assert move == expected(
        "live_location_edit",
        "6345678901:312:e1767607160",
        SERGEY,
        location=Location(55.757001, 37.615212, live=True, accuracy_m=8.0),
        edited=True,
    )


def test_photo_is_its_largest_size_and_the_caption_is_the_text() -> None:
    # The sizes in the sample are not in order: the largest is third of four.
    assert mapped("photo_caption") == expected(
        "photo_caption",
        "5123456789:1210",
        ANNA,
        text="Вот методичка, страницы 12–14",
        files=(IncomingFile("AgACAgIAAxkBAAIEwmZ1-large-1280", None, "image/jpeg", 187654),),
    )


def test_document_keeps_its_russian_name() -> None:
    assert mapped("document_russian_name") == expected(
        "document_russian_name",
        "5123456789:1211",
        ANNA,
        files=(
            IncomingFile(
                "BQACAgIAAxkBAAIEw2Z1-document-1211",
                "Методичка по курсовой 2026.pdf",
                "application/pdf",
                1843200,
            ),
        ),
    )


def test_voice_note_is_a_file_without_a_name() -> None:
    assert mapped("voice") == expected(
        "voice",
        "6345678901:313",
        SERGEY,
        files=(IncomingFile("AwACAgIAAxkBAAIBOWZ1-voice-313", None, "audio/ogg", 11204),),
    )


def test_sticker_is_an_event_with_nothing_usable_but_the_raw_update() -> None:
    incoming = mapped("sticker")

    assert incoming == expected("sticker", "5123456789:1212", ANNA)
    assert incoming.raw["message"]["sticker"]["emoji"] == "👍"


def test_group_message_is_keyed_by_the_group_and_sent_by_the_member() -> None:
    assert mapped("group_message") == Incoming(
        channel="telegram",
        sender_id="6456789012",
        message_id="-1001987654321:88",
        chat_id="-1001987654321",
        text="@pult_desk_bot тираж 200 шт. готов",
        sender_name="Olga Ivanova",
        sender_locale="uk",
        raw=sample("group_message"),
    )


@pytest.mark.parametrize(
    "name", ["group_member_joined", "my_chat_member_kicked", "my_chat_member_unblocked"]
)
def test_updates_without_a_persons_message_map_to_none(name: str) -> None:
    assert mapped(name) is None


def test_blocking_the_bot_names_the_chat() -> None:
    assert blocked_by(Update.model_validate(sample("my_chat_member_kicked"))) == "5123456789"
    assert blocked_by(Update.model_validate(sample("my_chat_member_unblocked"))) is None
    assert blocked_by(Update.model_validate(sample("text"))) is None


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda path: path.stem)
def test_raw_is_the_update_as_telegram_sent_it(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))

    assert raw_update(Update.model_validate(data)) == data


def test_an_incoming_survives_the_inbound_logs_json_column() -> None:
    incoming = mapped("photo_caption")
    assert incoming is not None

    stored = json.loads(json.dumps(incoming_to_json(incoming)))

    assert incoming_from_json(stored) == incoming
