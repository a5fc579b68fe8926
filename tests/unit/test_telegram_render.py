"""Rendering an `Outgoing` into Bot API calls: HTML escaping, inline and reply keyboards,
keyboard removal, callback data limits, splitting long text, captions, photos versus
documents, and edits."""

from __future__ import annotations

import pytest
from aiogram.methods import (
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
)
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bots.telegram.render import Attachment, as_document, render
from bots.telegram.split import split_html, utf16_length, visible_length
from inbox.channel import Button, ButtonKind, Outgoing, OutgoingFile

CHAT = "5123456789"
ACCEPT = Button("Подтвердить", payload="quote:accept:1042")
SITE = Button("Оплатить", ButtonKind.URL, "https://pay.example.com/1042")
CONTACT = Button("Отправить номер", ButtonKind.REQUEST_CONTACT)
LOCATION = Button("Где я", ButtonKind.REQUEST_LOCATION)
PDF = OutgoingFile("ab/cd/abcd" + "0" * 60, "Счёт №1042.pdf", "application/pdf")
JPEG = OutgoingFile("12/34/1234" + "0" * 60, "photo.jpg", "image/jpeg")


def outgoing(text: str = "", **fields: object) -> Outgoing:
    return Outgoing(channel="telegram", chat_id=CHAT, text=text, **fields)  # type: ignore[arg-type]


def test_user_text_is_escaped_and_sent_as_html() -> None:
    rendered = render(outgoing("Цена <b>дешевле</b> & быстрее"))

    (call,) = rendered.calls
    assert isinstance(call, SendMessage)
    assert (call.chat_id, call.text, call.parse_mode) == (
        5123456789,
        "Цена &lt;b&gt;дешевле&lt;/b&gt; &amp; быстрее",
        "HTML",
    )
    assert call.reply_markup is None


def test_our_markup_is_sent_as_is() -> None:
    (call,) = render(outgoing("ignored", html="Заказ <b>№1042</b> готов")).calls

    assert isinstance(call, SendMessage)
    assert call.text == "Заказ <b>№1042</b> готов"


def test_callback_and_url_buttons_make_an_inline_keyboard() -> None:
    (call,) = render(outgoing("Стоимость 4 500 ₽", buttons=((ACCEPT, SITE),))).calls

    assert isinstance(call, SendMessage)
    assert call.reply_markup == InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Подтвердить", callback_data="quote:accept:1042"),
                InlineKeyboardButton(text="Оплатить", url="https://pay.example.com/1042"),
            ]
        ]
    )


def test_a_request_button_makes_a_one_time_reply_keyboard_of_all_buttons() -> None:
    (call,) = render(
        outgoing("Как с вами связаться?", buttons=((CONTACT, LOCATION), (ACCEPT,)))
    ).calls

    assert isinstance(call, SendMessage)
    assert call.reply_markup == ReplyKeyboardMarkup(
        keyboard=[
            [
                KeyboardButton(text="Отправить номер", request_contact=True),
                KeyboardButton(text="Где я", request_location=True),
            ],
            [KeyboardButton(text="Подтвердить")],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def test_remove_keyboard() -> None:
    (call,) = render(outgoing("Спасибо, номер получен", extra={"remove_keyboard": True})).calls

    assert isinstance(call, SendMessage)
    assert call.reply_markup == ReplyKeyboardRemove(remove_keyboard=True)


def test_callback_data_over_64_bytes_is_a_programming_error() -> None:
    fits = Button("ok", payload="я" * 32)  # 64 bytes in UTF-8
    too_long = Button("no", payload="я" * 32 + "x")

    render(outgoing("x", buttons=((fits,),)))
    with pytest.raises(ValueError, match="64 bytes"):
        render(outgoing("x", buttons=((too_long,),)))


def test_10000_characters_become_3_messages_with_the_buttons_on_the_last() -> None:
    paragraphs = [f"{n:03} " + "слово " * 65 for n in range(26)]  # 393 characters each
    text = "\n\n".join(paragraph.strip() for paragraph in paragraphs)[:10_000]
    assert len(text) == 10_000 and not text[-1].isspace()

    rendered = render(outgoing(text, buttons=((ACCEPT,),)))

    calls = rendered.calls
    assert len(calls) == 3
    assert all(isinstance(call, SendMessage) and len(call.text) <= 4096 for call in calls)
    assert [call.reply_markup is not None for call in calls] == [False, False, True]
    assert rendered.receipt_index == 2
    texts = [call.text for call in calls if isinstance(call, SendMessage)]
    # Cut between paragraphs, nothing lost.
    assert all(chunk.endswith("слово") for chunk in texts[:-1])
    assert "\n\n".join(texts) == text


def test_split_keeps_tags_balanced_and_counts_visible_characters() -> None:
    markup = "<b>" + "a&amp;b " * 1000 + "</b>"  # 4000 visible, 8000 in the source

    chunks = split_html(markup, 1500)

    assert [visible_length(chunk) <= 1500 for chunk in chunks] == [True] * 3
    assert all(chunk.startswith("<b>") and chunk.endswith("</b>") for chunk in chunks)
    assert visible_length(markup) == 4000
    assert utf16_length("👍") == 2


def test_text_that_fits_a_caption_goes_with_the_single_file_and_its_buttons() -> None:
    rendered = render(
        outgoing("Счёт <готов>", files=(PDF,), buttons=((ACCEPT,),)),
        [Attachment(PDF, b"%PDF-1.7 ...")],
    )

    (call,) = rendered.calls
    assert isinstance(call, SendDocument)
    assert (call.caption, call.parse_mode) == ("Счёт &lt;готов&gt;", "HTML")
    assert isinstance(call.reply_markup, InlineKeyboardMarkup)
    assert call.document.filename == "Счёт №1042.pdf"  # type: ignore[union-attr]


def test_text_too_long_for_a_caption_goes_first_then_the_file_with_the_buttons() -> None:
    rendered = render(
        outgoing("к" * 1025, files=(PDF,), buttons=((ACCEPT,),), reply_to="1204"),
        [Attachment(PDF, b"%PDF-1.7 ...")],
    )

    text, document = rendered.calls
    assert isinstance(text, SendMessage) and isinstance(document, SendDocument)
    assert document.caption is None
    assert (text.reply_markup, isinstance(document.reply_markup, InlineKeyboardMarkup)) == (
        None,
        True,
    )
    assert text.reply_parameters is not None and text.reply_parameters.message_id == 1204
    assert document.reply_parameters is None
    assert rendered.receipt_index == 1


def test_several_files_never_take_the_text_as_caption() -> None:
    rendered = render(
        outgoing("Два файла", files=(PDF, JPEG)),
        [Attachment(PDF, b"%PDF"), Attachment(JPEG, b"\xff\xd8\xff")],
    )

    kinds = [type(call) for call in rendered.calls]
    assert kinds == [SendMessage, SendDocument, SendPhoto]
    assert rendered.receipt_index == 0


def test_images_are_photos_unless_too_big() -> None:
    small = render(outgoing(files=(JPEG,)), [Attachment(JPEG, b"\xff\xd8\xff" * 10)])
    big = render(outgoing(files=(JPEG,)), [Attachment(JPEG, b"\xff" * (10 * 1024 * 1024))])

    assert isinstance(small.calls[0], SendPhoto)
    assert isinstance(big.calls[0], SendDocument)
    photo = small.calls[0]
    assert isinstance(photo, SendPhoto)
    assert as_document(photo).document is photo.photo


def test_remove_keyboard_goes_on_the_first_message_when_buttons_go_on_a_later_one() -> None:
    rendered = render(outgoing("к" * 5000, buttons=((ACCEPT,),), extra={"remove_keyboard": True}))

    first, last = rendered.calls
    assert isinstance(first, SendMessage) and isinstance(last, SendMessage)
    assert isinstance(first.reply_markup, ReplyKeyboardRemove)
    assert isinstance(last.reply_markup, InlineKeyboardMarkup)


def test_nothing_to_send_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="nothing to send"):
        render(outgoing(""))


def test_edit_with_text_replaces_text_and_buttons() -> None:
    (call,) = render(outgoing("Заказ №1042 подтверждён", extra={"edit_message_id": "1203"})).calls

    assert isinstance(call, EditMessageText)
    assert (call.chat_id, call.message_id, call.text, call.reply_markup) == (
        5123456789,
        1203,
        "Заказ №1042 подтверждён",
        None,
    )


def test_edit_without_text_retires_the_buttons() -> None:
    (call,) = render(outgoing(extra={"edit_message_id": "1203"})).calls

    assert isinstance(call, EditMessageReplyMarkup)
    assert (call.message_id, call.reply_markup) == (1203, None)


def test_edit_cannot_carry_a_reply_keyboard() -> None:
    with pytest.raises(ValueError, match="reply keyboard"):
        render(outgoing(buttons=((CONTACT,),), extra={"edit_message_id": "1203"}))
