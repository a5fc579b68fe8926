"""The people of the scenario stories. A `TelegramPerson` talks to the bot the way a person
does, through the fake Bot API server: what they do becomes an update the bot fetches with
getUpdates; what they see is what the bot sent to their chat (each message in its current
state, edits included). Managers act at the panel: tests/scenarios/desk.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.fakes.telegram_api import FakeTelegramAPI, SentMessage
from tests.fakes.telegram_updates import TelegramUser
from tests.telegram_helpers import eventually

JSON = dict[str, Any]
NBSP = "\u00a0"  # money is written with no-break spaces: "5 000 ₽"


def rub(amount: str) -> str:
    """ "5 000" -> "5 000 ₽" as the bot writes it."""
    return amount.replace(" ", NBSP) + NBSP + "₽"


def shown(message: SentMessage) -> str:
    """What the person reads: the text, or the caption of a file."""
    return message.text or message.caption or ""


def labels(message: SentMessage) -> list[str]:
    return [button["text"] for row in message.buttons for button in row]


def payload(message: SentMessage, label: str) -> str:
    """The callback data of the inline button `label` on `message`."""
    for row in message.buttons:
        for button in row:
            if button["text"] == label and "callback_data" in button:
                return str(button["callback_data"])
    raise AssertionError(f"no inline button {label!r} on {shown(message)!r}: {labels(message)}")


def link(message: SentMessage, label: str) -> str:
    """The address of the URL button `label` on `message`."""
    for row in message.buttons:
        for button in row:
            if button["text"] == label and "url" in button:
                return str(button["url"])
    raise AssertionError(f"no link button {label!r} on {shown(message)!r}: {labels(message)}")


class TelegramPerson:
    """One person in their private chat with the bot. An action queues an update and
    returns without yielding to the event loop (the bot answers once its poller fetches
    the update; `press` alone may first wait for its button to arrive); `wait_for` looks at
    what the bot sent since the person's last action, or since `mark()`."""

    def __init__(self, fake: FakeTelegramAPI, user: TelegramUser, phone: str) -> None:
        self.fake = fake
        self.user = user
        self.phone = phone
        self._mark = 0

    def __repr__(self) -> str:
        return f"TelegramPerson({self.user.first_name}, chat {self.chat_id})"

    @property
    def chat_id(self) -> int:
        return self.user.id

    # --- what the person sees -----------------------------------------------------------

    def messages(self) -> list[SentMessage]:
        """Everything the bot sent to this chat, oldest first, as it looks now."""
        return self.fake.sent_to(self.chat_id)

    def texts(self) -> list[str]:
        return [shown(message) for message in self.messages()]

    def news(self) -> list[SentMessage]:
        """The messages that arrived since the person's last action (or `mark()`)."""
        return self.messages()[self._mark :]

    def mark(self) -> None:
        """From now on `wait_for` looks only at messages that arrive after this point."""
        self._mark = len(self.messages())

    async def wait_for(self, substring: str) -> SentMessage:
        """The first message since the mark whose text contains `substring`."""

        async def arrived() -> SentMessage | None:
            return next((m for m in self.news() if substring in shown(m)), None)

        return await eventually(arrived, lambda: self._describe(f"a message with {substring!r}"))

    async def wait_until(self, check: Callable[[], bool], what: str) -> None:
        """Until `check()` holds for what the chat shows (an edit, a count of messages)."""

        async def holds() -> bool:
            return check()

        await eventually(holds, lambda: self._describe(what))

    def _describe(self, what: str) -> str:
        recent = [f"  {shown(m)!r} {labels(m)}" for m in self.messages()[-8:]]
        return f"{what} in {self!r}; its latest messages:\n" + "\n".join(recent or ["  (none)"])

    # --- what the person does -----------------------------------------------------------

    async def say(self, text: str) -> None:
        self._act(self.fake.updates.text(self.user, text))

    async def press(self, label: str) -> SentMessage:
        """Press the button `label` on the latest bot message that has it (waiting for one
        to arrive); returns that message. A key of a reply keyboard sends its label."""

        async def carrier() -> SentMessage | None:
            return next((m for m in reversed(self.messages()) if label in labels(m)), None)

        message = await eventually(carrier, lambda: self._describe(f"a button {label!r}"))
        key = next(button for row in message.buttons for button in row if button["text"] == label)
        if key.get("request_contact"):
            raise AssertionError(f"{label!r} shares the contact: use share_contact()")
        if "url" in key:
            raise AssertionError(f"{label!r} opens a link: read it with link()")
        if "callback_data" in key:
            await self.press_on(message, key["callback_data"])
        else:
            await self.say(label)
        return message

    async def press_on(self, message: SentMessage, data: str) -> None:
        """A press of a button with `data` on `message`, even one since taken off it (the
        person's app had not redrawn the message yet, or they tapped an old screen)."""
        self._act(self.fake.updates.callback(self.user, data, message_id=message.message_id))

    async def share_contact(self) -> None:
        """The "share my number" key: the person's own, verified number."""
        self._act(self.fake.updates.contact(self.user, self.phone, own=True))

    async def send_document(
        self, name: str, content: bytes, *, mime_type: str = "application/pdf", **more: Any
    ) -> None:
        self._act(
            self.fake.updates.document(
                self.user, content, file_name=name, mime_type=mime_type, **more
            )
        )

    async def send_photo(self, content: bytes, *, caption: str | None = None) -> None:
        self._act(self.fake.updates.photo(self.user, content, caption=caption))

    async def send_sticker(self) -> None:
        self._act(self.fake.updates.sticker(self.user))

    async def share_live_location(self, latitude: float, longitude: float) -> int:
        """Start sharing a live location; returns the message id later moves edit."""
        update = self.fake.updates.location(self.user, latitude, longitude, live_period=3600)
        self._act(update)
        return int(update["message"]["message_id"])

    async def move_live_location(self, message_id: int, latitude: float, longitude: float) -> None:
        self._act(self.fake.updates.live_location_edit(self.user, message_id, latitude, longitude))

    def _act(self, update: JSON) -> None:
        self.mark()
        self.fake.enqueue(update)


# The fixtures that bring people into a story (tests/scenarios/conftest.py).
MakePerson = Callable[[str], TelegramPerson]
MakeExecutor = Callable[..., Awaitable[TelegramPerson]]


async def introduce(someone: TelegramPerson, name: str) -> None:
    """A client's first contact: the greeting, the name, their own number, the menu."""
    await someone.say("/start")
    await someone.wait_for("Давайте познакомимся: как вас зовут?")
    await someone.say(name)
    asked = await someone.wait_for(f"Спасибо, {name}! Поделитесь номером телефона")
    assert labels(asked) == ["Поделиться номером", "Пропустить"]
    await someone.share_contact()
    await someone.wait_for(f"Приятно познакомиться, {name}!")
    await someone.wait_for("Что вы хотите сделать?")
