"""Real-shaped Telegram Bot API objects for the fake server: users and chats, and builders of
the Update dicts a user's actions produce (text, edits, button presses, contacts, locations,
photos, documents, stickers), numbered and filed the way Telegram does it."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any, Protocol

JSON = dict[str, Any]

# WebP-looking bytes: enough for a sticker to be downloadable.
STICKER_BYTES = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11"


@dataclass(frozen=True, slots=True)
class TelegramUser:
    """A person on the other side of the bot (the chat id of their private chat is their id)."""

    id: int = 1001
    first_name: str = "Anna"
    last_name: str | None = "Petrova"
    username: str | None = "anna_p"
    language_code: str | None = "ru"
    is_bot: bool = False

    def as_user(self) -> JSON:
        return _without_none(
            {
                "id": self.id,
                "is_bot": self.is_bot,
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
                "language_code": self.language_code,
            }
        )

    def as_private_chat(self) -> JSON:
        return _without_none(
            {
                "id": self.id,
                "type": "private",
                "first_name": self.first_name,
                "last_name": self.last_name,
                "username": self.username,
            }
        )


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file the server holds: registered by a test or uploaded by the bot. `file_size` is
    what Telegram reports, which may exceed the bytes kept (to fake a too-big file)."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_size: int
    file_name: str | None = None
    mime_type: str | None = None

    def as_file(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "file_path": self.file_path,
        }

    def as_document(self) -> JSON:
        return _without_none(
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_name": self.file_name,
                "mime_type": self.mime_type,
                "file_size": self.file_size,
            }
        )

    def as_photo_size(self, width: int, height: int) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": width,
            "height": height,
            "file_size": self.file_size,
        }


class UpdateSink(Protocol):
    """What the builders need from the fake server: its counters, its files and its memory
    of messages (so a reply or a button press points at a real message)."""

    def next_update_id(self) -> int: ...

    def next_message_id(self, chat_id: int) -> int: ...

    def message_dict(self, chat_id: int, message_id: int) -> JSON: ...

    def remember_incoming(self, chat: JSON, message: JSON) -> None: ...

    def expect_callback_answer(self, query_id: str) -> None: ...

    def add_file(
        self,
        content: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        reported_size: int | None = None,
        folder: str = "documents",
    ) -> StoredFile: ...


class UpdateBuilder:
    """Builds Update dicts for what users do; each call takes the next update id and, for a
    new message, the chat's next message id."""

    def __init__(self, sink: UpdateSink) -> None:
        self._sink = sink
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)

    def text(self, user: TelegramUser, text: str, *, reply_to: int | None = None) -> JSON:
        fields: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._new_message(user, fields, reply_to=reply_to)

    def edited_text(self, user: TelegramUser, message_id: int, text: str) -> JSON:
        return self._edited(user, message_id, {"text": text})

    def callback(
        self, user: TelegramUser, data: str, *, message_id: int, chat_id: int | None = None
    ) -> JSON:
        """A press on an inline button of a message the bot sent to `chat_id` (default: the
        user's private chat)."""
        message = self._sink.message_dict(user.id if chat_id is None else chat_id, message_id)
        query_id = str(next(self._callback_ids))
        self._sink.expect_callback_answer(query_id)
        query = {
            "id": query_id,
            "from": user.as_user(),
            "message": message,
            "chat_instance": f"-{abs(hash((user.id, message['chat']['id']))) % 10**18}",
            "data": data,
        }
        return {"update_id": self._sink.next_update_id(), "callback_query": query}

    def contact(
        self,
        user: TelegramUser,
        phone_number: str,
        *,
        own: bool = True,
        first_name: str = "Ivan",
        last_name: str | None = None,
        user_id: int | None = None,
    ) -> JSON:
        """The user shares their own contact (the "share my number" button: contact.user_id
        is from.id) or someone else's (user_id is that person's, or absent)."""
        if own:
            contact = {
                "phone_number": phone_number,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "user_id": user.id,
            }
        else:
            contact = {
                "phone_number": phone_number,
                "first_name": first_name,
                "last_name": last_name,
                "user_id": user_id,
            }
        return self._new_message(user, {"contact": _without_none(contact)})

    def location(
        self,
        user: TelegramUser,
        latitude: float,
        longitude: float,
        *,
        live_period: int | None = None,
    ) -> JSON:
        """A one-off location, or the start of a live location when `live_period` is set."""
        location = {"latitude": latitude, "longitude": longitude, "live_period": live_period}
        return self._new_message(user, {"location": _without_none(location)})

    def live_location_edit(
        self, user: TelegramUser, message_id: int, latitude: float, longitude: float
    ) -> JSON:
        """A live location moving: Telegram sends it as an edited_message."""
        old = self._sink.message_dict(user.id, message_id)
        location = {**old["location"], "latitude": latitude, "longitude": longitude}
        return self._edited(user, message_id, {"location": location})

    def photo(
        self,
        user: TelegramUser,
        content: bytes,
        *,
        caption: str | None = None,
        sizes: tuple[tuple[int, int], ...] = ((90, 68), (320, 240), (1280, 960)),
    ) -> JSON:
        """A photo in several sizes, smallest first; each size is its own downloadable file
        (holding `content`, the fake does not resize)."""
        photo = [
            self._sink.add_file(content, mime_type="image/jpeg", folder="photos").as_photo_size(
                width, height
            )
            for width, height in sizes
        ]
        return self._new_message(user, _without_none({"photo": photo, "caption": caption}))

    def document(
        self,
        user: TelegramUser,
        content: bytes,
        *,
        file_name: str = "document.pdf",
        mime_type: str = "application/pdf",
        caption: str | None = None,
        reported_size: int | None = None,
    ) -> JSON:
        stored = self._sink.add_file(
            content, file_name=file_name, mime_type=mime_type, reported_size=reported_size
        )
        fields = _without_none({"document": stored.as_document(), "caption": caption})
        return self._new_message(user, fields)

    def sticker(self, user: TelegramUser, *, emoji: str = "👍") -> JSON:
        stored = self._sink.add_file(STICKER_BYTES, mime_type="image/webp", folder="stickers")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "PultTestStickers",
            "file_size": stored.file_size,
        }
        return self._new_message(user, {"sticker": sticker})

    def _new_message(
        self, user: TelegramUser, fields: JSON, *, reply_to: int | None = None
    ) -> JSON:
        chat = user.as_private_chat()
        message: JSON = {
            "message_id": self._sink.next_message_id(user.id),
            "from": user.as_user(),
            "chat": chat,
            "date": int(time.time()),
            **fields,
        }
        if reply_to is not None:
            message["reply_to_message"] = self._sink.message_dict(user.id, reply_to)
        self._sink.remember_incoming(chat, message)
        return {"update_id": self._sink.next_update_id(), "message": message}

    def _edited(self, user: TelegramUser, message_id: int, fields: JSON) -> JSON:
        message = {**self._sink.message_dict(user.id, message_id), **fields}
        message["edit_date"] = int(time.time())
        self._sink.remember_incoming(message["chat"], message)
        return {"update_id": self._sink.next_update_id(), "edited_message": message}


def _without_none(fields: JSON) -> JSON:
    return {key: value for key, value in fields.items() if value is not None}
