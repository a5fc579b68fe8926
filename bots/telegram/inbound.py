"""Telegram updates -> `Incoming`: what a person sent (text, caption, files, a shared contact
or location, a button press) with the ids the inbound log de-duplicates on. Pure: no I/O."""

from __future__ import annotations

from typing import Any

from aiogram.enums import ContentType
from aiogram.types import (
    CallbackQuery,
    Contact,
    Message,
    PhotoSize,
    Update,
    User,
)
from aiogram.types import Location as TelegramLocation

from inbox.channel import Incoming, IncomingFile, Location, SharedContact

CHANNEL = "telegram"
# What the bot asks Telegram for, in polling and webhook mode alike.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]

# Messages a person wrote (even ones we cannot use, like a sticker or a poll). Everything
# else is a service message (members joined, title changed, pinned, ...) and no input.
# UNKNOWN is a kind newer than our aiogram: more likely a person's message than not.
_PERSON_CONTENT = frozenset(
    {
        ContentType.TEXT, ContentType.ANIMATION, ContentType.AUDIO, ContentType.DOCUMENT,
        ContentType.LIVE_PHOTO, ContentType.PAID_MEDIA, ContentType.PHOTO, ContentType.STICKER,
        ContentType.STORY, ContentType.VIDEO, ContentType.VIDEO_NOTE, ContentType.VOICE,
        ContentType.CHECKLIST, ContentType.CONTACT, ContentType.DICE, ContentType.GAME,
        ContentType.POLL, ContentType.VENUE, ContentType.LOCATION, ContentType.UNKNOWN,
    }
)  # fmt: skip
PHOTO_CONTENT_TYPE = "image/jpeg"  # Telegram re-encodes every photo it shows as a photo
VIDEO_NOTE_CONTENT_TYPE = "video/mp4"


def to_incoming(update: Update) -> Incoming | None:
    """The event in `update`, or None when it carries nothing a person sent."""
    if update.message is not None:
        return _from_message(update, update.message, edited=False)
    if update.edited_message is not None:
        return _from_message(update, update.edited_message, edited=True)
    if update.callback_query is not None:
        return _from_callback(update, update.callback_query)
    return None


def blocked_by(update: Update) -> str | None:
    """The chat id of a person who has just blocked the bot (`my_chat_member` with the new
    status "kicked"), else None."""
    change = update.my_chat_member
    if change is None or change.new_chat_member.status != "kicked":
        return None
    return str(change.chat.id)


def raw_update(update: Update) -> dict[str, Any]:
    """The update as Telegram sent it: JSON types (dates as unix time) and the wire names
    (`from`, not `from_user`), so it can be stored in a JSON column and parsed again."""
    return update.model_dump(mode="json", by_alias=True, exclude_none=True)


def _from_message(update: Update, message: Message, *, edited: bool) -> Incoming | None:
    sender = message.from_user
    if sender is None or message.content_type not in _PERSON_CONTENT:
        return None  # a channel post, an anonymous admin, or a service message
    message_id = f"{message.chat.id}:{message.message_id}"
    if edited:
        # Each edit is an event of its own (a live location sends one per move).
        message_id += f":e{message.edit_date or 0}"
    return Incoming(
        channel=CHANNEL,
        sender_id=str(sender.id),
        message_id=message_id,
        chat_id=str(message.chat.id),
        text=message.text if message.text is not None else message.caption,
        files=_files(message),
        contact=_contact(message.contact, sender),
        location=_location(message.location),
        reply_to=_reply_to(message),
        sender_name=_name(sender),
        sender_locale=_locale(sender),
        edited=edited,
        raw=raw_update(update),
    )


def _from_callback(update: Update, callback: CallbackQuery) -> Incoming:
    pressed_on = callback.message  # None for buttons under inline-mode messages
    chat_id = str(pressed_on.chat.id) if pressed_on is not None else None
    reply_to = str(pressed_on.message_id) if pressed_on is not None else None
    return Incoming(
        channel=CHANNEL,
        sender_id=str(callback.from_user.id),
        message_id=f"cb:{callback.id}",
        chat_id=chat_id,
        button=callback.data,
        reply_to=reply_to,
        sender_name=_name(callback.from_user),
        sender_locale=_locale(callback.from_user),
        raw=raw_update(update),
    )


def _reply_to(message: Message) -> str | None:
    replied = message.reply_to_message
    if replied is None:
        return None
    # In a forum topic every message "replies" to the topic's first message; that is no
    # answer to anything the bot said.
    if message.is_topic_message and replied.message_id == message.message_thread_id:
        return None
    return str(replied.message_id)


def _files(message: Message) -> tuple[IncomingFile, ...]:
    if message.photo:
        return (_photo(message.photo),)
    for attachment in (message.document, message.video, message.audio, message.voice):
        if attachment is not None:
            return (
                IncomingFile(
                    ref=attachment.file_id,
                    name=getattr(attachment, "file_name", None),  # a voice note has none
                    content_type=attachment.mime_type,
                    size=attachment.file_size,
                ),
            )
    if message.video_note is not None:
        note = message.video_note
        return (IncomingFile(note.file_id, None, VIDEO_NOTE_CONTENT_TYPE, note.file_size),)
    return ()


def _photo(sizes: list[PhotoSize]) -> IncomingFile:
    largest = max(sizes, key=lambda size: (size.width * size.height, size.file_size or 0))
    return IncomingFile(
        ref=largest.file_id, name=None, content_type=PHOTO_CONTENT_TYPE, size=largest.file_size
    )


def _contact(contact: Contact | None, sender: User) -> SharedContact | None:
    if contact is None:
        return None
    return SharedContact(
        phone=contact.phone_number,
        first_name=contact.first_name,
        last_name=contact.last_name,
        # Telegram fills user_id with the sender's id only for the "share my number"
        # button: then the phone is proven to be theirs.
        own=contact.user_id is not None and contact.user_id == sender.id,
    )


def _location(location: TelegramLocation | None) -> Location | None:
    if location is None:
        return None
    return Location(
        latitude=location.latitude,
        longitude=location.longitude,
        live=bool(location.live_period),
        accuracy_m=location.horizontal_accuracy,
    )


def _name(user: User) -> str | None:
    return " ".join(part for part in (user.first_name, user.last_name) if part) or None


def _locale(user: User) -> str | None:
    if not user.language_code:
        return None
    return user.language_code.split("-", 1)[0].lower()
