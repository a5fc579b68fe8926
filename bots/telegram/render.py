"""`Outgoing` -> the Bot API calls that show it: HTML text split to Telegram's limits,
inline or reply keyboards, photos and documents, captions, and edits that change a sent
message or retire its buttons. Pure: file bytes are handed in, nothing is sent."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram.methods import (
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from bots.telegram.split import split_html, visible_length
from inbox.channel import Button, ButtonKind, Outgoing, OutgoingFile
from inbox.files import base_type

PARSE_MODE = "HTML"
MESSAGE_LIMIT = 4096  # visible characters of a text message
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
PHOTO_LIMIT = 10 * 1024 * 1024  # bytes; larger images go as documents
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
EDIT_MESSAGE_ID = "edit_message_id"  # Outgoing.extra key: edit this message instead
REMOVE_KEYBOARD = "remove_keyboard"  # Outgoing.extra key: take the reply keyboard away
_REQUEST_KINDS = frozenset({ButtonKind.REQUEST_CONTACT, ButtonKind.REQUEST_LOCATION})
_NUMERIC_CHAT = re.compile(r"-?\d+")

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


@dataclass(frozen=True, slots=True)
class Attachment:
    """An outgoing file with its bytes, read from the file store by the sender."""

    file: OutgoingFile
    data: bytes


@dataclass(frozen=True, slots=True)
class Rendered:
    calls: tuple[TelegramMethod[Any], ...]
    # The call whose message the delivery receipt names: the one carrying the buttons (a
    # press answers it), else the first.
    receipt_index: int = 0


def render(message: Outgoing, attachments: Sequence[Attachment] = ()) -> Rendered:
    """The calls for `message`, in sending order. Text goes first, split at
    MESSAGE_LIMIT; files follow; one file with text that fits a caption is one message.
    The buttons ride on the last message, a reply parameter on the first. Raises
    ValueError for what Telegram cannot show (programming errors, not user input)."""
    if message.extra.get(EDIT_MESSAGE_ID) is not None:
        return Rendered((render_edit(message),))
    if len(attachments) != len(message.files):
        raise ValueError(f"{len(message.files)} files to send, {len(attachments)} loaded")
    body = message_html(message)
    caption = body if len(attachments) == 1 and _fits_caption(body) else None
    texts = split_html(body, MESSAGE_LIMIT) if body and caption is None else []
    count = len(texts) + len(attachments)
    if count == 0:
        raise ValueError("nothing to send: no text and no files")
    markups = _markups(message, count)
    reply = _reply_parameters(message.reply_to)
    chat_id = telegram_chat_id(message.chat_id)
    calls: list[TelegramMethod[Any]] = [
        SendMessage(
            chat_id=chat_id,
            text=text,
            parse_mode=PARSE_MODE,
            reply_markup=markups[index],
            reply_parameters=reply if index == 0 else None,
        )
        for index, text in enumerate(texts)
    ]
    for attachment in attachments:
        index = len(calls)
        calls.append(
            _file_call(chat_id, attachment, caption, markups[index], reply if index == 0 else None)
        )
    return Rendered(tuple(calls), receipt_index=count - 1 if message.buttons else 0)


def render_edit(message: Outgoing) -> EditMessageText | EditMessageReplyMarkup:
    """Edit the message `extra["edit_message_id"]`: new text (and buttons), or, with no
    text, new buttons only; no buttons then retires the old ones."""
    chat_id = telegram_chat_id(message.chat_id)
    message_id = int(message.extra[EDIT_MESSAGE_ID])
    markup = inline_keyboard(message.buttons) if message.buttons else None
    body = message_html(message)
    if not body:
        return EditMessageReplyMarkup(chat_id=chat_id, message_id=message_id, reply_markup=markup)
    if visible_length(body) > MESSAGE_LIMIT:
        raise ValueError(f"an edit cannot be split: over {MESSAGE_LIMIT} characters")
    return EditMessageText(
        chat_id=chat_id,
        message_id=message_id,
        text=body,
        parse_mode=PARSE_MODE,
        reply_markup=markup,
    )


def message_html(message: Outgoing) -> str:
    """`html` is markup our code produced; plain `text` may hold anything a person typed,
    so it is escaped and shows exactly as typed."""
    if message.html is not None:
        return message.html
    return html.escape(message.text, quote=False)


def keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | ReplyKeyboardMarkup:
    """Inline buttons, unless a button asks for the contact or location: only a reply
    keyboard can, so then every button becomes a key (pressing one sends its label)."""
    if any(button.kind in _REQUEST_KINDS for row in rows for button in row):
        return ReplyKeyboardMarkup(
            keyboard=[[_key(button) for button in row] for row in rows if row],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    return inline_keyboard(rows)


def inline_keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_inline_button(button) for button in row] for row in rows if row]
    )


def telegram_chat_id(chat_id: str) -> int | str:
    """Numeric ids as numbers; `@channelname` stays a string."""
    return int(chat_id) if _NUMERIC_CHAT.fullmatch(chat_id) else chat_id


def _inline_button(button: Button) -> InlineKeyboardButton:
    if button.kind in _REQUEST_KINDS:
        raise ValueError(f"{button.kind} needs a reply keyboard: {button.label!r}")
    if not button.payload:
        raise ValueError(f"{button.kind} button without a payload: {button.label!r}")
    if button.kind is ButtonKind.URL:
        return InlineKeyboardButton(text=button.label, url=button.payload)
    if len(button.payload.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        raise ValueError(
            f"callback data over {CALLBACK_DATA_LIMIT} bytes: {button.payload!r}; "
            "keep an id in the payload, not the data"
        )
    return InlineKeyboardButton(text=button.label, callback_data=button.payload)


def _key(button: Button) -> KeyboardButton:
    if button.kind is ButtonKind.REQUEST_CONTACT:
        return KeyboardButton(text=button.label, request_contact=True)
    if button.kind is ButtonKind.REQUEST_LOCATION:
        return KeyboardButton(text=button.label, request_location=True)
    return KeyboardButton(text=button.label)


def _markups(message: Outgoing, count: int) -> list[Markup | None]:
    """One markup slot per call. A message carries one markup, so when the buttons and
    the keyboard removal would share one, the buttons win (a new reply keyboard replaces
    the old one anyway)."""
    markups: list[Markup | None] = [None] * count
    if message.buttons:
        markups[-1] = keyboard(message.buttons)
    if message.extra.get(REMOVE_KEYBOARD) and markups[0] is None:
        markups[0] = ReplyKeyboardRemove(remove_keyboard=True)
    return markups


def _reply_parameters(reply_to: str | None) -> ReplyParameters | None:
    if not reply_to:
        return None
    # The message may have been deleted since: send anyway rather than fail.
    return ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)


def _fits_caption(body: str) -> bool:
    return visible_length(body) <= CAPTION_LIMIT


def _file_call(
    chat_id: int | str,
    attachment: Attachment,
    caption: str | None,
    markup: Markup | None,
    reply: ReplyParameters | None,
) -> SendPhoto | SendDocument:
    upload = BufferedInputFile(attachment.data, filename=attachment.file.name)
    common: dict[str, Any] = {
        "chat_id": chat_id,
        "caption": caption or None,
        "parse_mode": PARSE_MODE if caption else None,
        "reply_markup": markup,
        "reply_parameters": reply,
    }
    if is_photo(attachment):
        return SendPhoto(photo=upload, **common)
    return SendDocument(document=upload, **common)


def is_photo(attachment: Attachment) -> bool:
    """Shown inline as a picture; anything else (and big images, which Telegram would
    refuse as photos) is sent as a document that keeps its name and quality."""
    content_type = base_type(attachment.file.content_type)
    return content_type in PHOTO_TYPES and len(attachment.data) < PHOTO_LIMIT


def as_document(call: SendPhoto) -> SendDocument:
    """The same upload as a document, for an image Telegram will not take as a photo
    (a long receipt scan: photos must be under 20:1 and 10000 px around)."""
    return SendDocument(
        chat_id=call.chat_id,
        document=call.photo,
        caption=call.caption,
        parse_mode=call.parse_mode,
        reply_markup=call.reply_markup,
        reply_parameters=call.reply_parameters,
    )
