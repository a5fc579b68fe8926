"""The channel port: what every adapter (Telegram, Viber, VK, e-mail, site chat) turns its
traffic into (`Incoming`), what it is asked to send (`Outgoing`), what it answers
(`DeliveryReceipt`), the classified errors the outbox dispatcher acts on, and how the bytes
of a file someone sent are fetched (`FileSource`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from enum import Enum, StrEnum
from typing import Any, Protocol, runtime_checkable


class Capability(StrEnum):
    """What a channel can render; flows degrade gracefully where one is missing."""

    BUTTONS = "buttons"  # inline callback buttons
    URL_BUTTONS = "url_buttons"
    REQUEST_CONTACT = "request_contact"
    REQUEST_LOCATION = "request_location"
    FILES = "files"
    HTML = "html"
    EDIT = "edit"  # retire stale buttons by editing a sent message
    READ_RECEIPTS = "read_receipts"


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file the sender attached; adapters fetch the bytes lazily through `ref`."""

    ref: str  # channel-specific handle (Telegram file_id, IMAP part id, upload token)
    name: str | None = None
    content_type: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class SharedContact:
    phone: str
    first_name: str | None = None
    last_name: str | None = None
    # True when the channel vouches that the phone is the sender's own (Telegram contact
    # button with user_id == sender).
    own: bool = False


@dataclass(frozen=True, slots=True)
class Location:
    latitude: float
    longitude: float
    live: bool = False
    accuracy_m: float | None = None


class Automatic(StrEnum):
    """Mail no person wrote this time: filed as a system note, never offered to a flow."""

    AUTO_REPLY = "auto_reply"  # vacation notices, "we got your letter" robots
    BOUNCE = "bounce"  # a delivery failure report (DSN)


@dataclass(frozen=True, slots=True)
class ThreadHint:
    """Where the channel itself says an event belongs, for channels that carry it in the
    message (e-mail: a tagged reply address, References, a `[#1042]` subject). The inbound
    pipeline tries, in order: the order with `proven` set (the channel checked a token),
    the conversation of any of `references` (our sent messages and earlier inbound ones),
    the order by `order_number` when the sender is its client or executor; else a lead."""

    order_number: int | None = None
    side: str | None = None  # "client" | "executor": which of the order's threads
    proven: bool = False  # the number came with a valid token, not just from a subject line
    references: tuple[str, ...] = ()  # channel ids of earlier messages, nearest first


@dataclass(frozen=True, slots=True)
class Incoming:
    """One inbound event, channel-agnostic. `message_id` is the channel's id of this event
    and, with `channel`, the de-duplication key of the inbound log."""

    channel: str
    sender_id: str
    message_id: str
    chat_id: str | None = None
    text: str | None = None
    button: str | None = None  # callback payload of a pressed button
    files: tuple[IncomingFile, ...] = ()
    contact: SharedContact | None = None
    location: Location | None = None
    reply_to: str | None = None  # the channel's id of the message this one answers
    sender_name: str | None = None
    sender_locale: str | None = None
    edited: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    html: str | None = None  # the sender's HTML, kept beside the text (e-mail)
    thread: ThreadHint | None = None  # threading by the channel's own hints (e-mail)
    # False for channels that are not a bot (e-mail): never offered to the dialog engine.
    conversational: bool = True
    automatic: Automatic | None = None
    # Chat ids the channel reports dead (the failed recipients of a bounce).
    unreachable: tuple[str, ...] = ()


def without_nul(incoming: Incoming) -> Incoming:
    """`incoming` with every U+0000 taken out of its strings (the text, names, file names;
    the raw update too when anything else had one), the rest kept. PostgreSQL stores no
    NUL in text, so a message carrying one (a Telegram text may) failed every time it was
    tried and was never stored; nobody reads a NUL, so dropping it changes nothing a
    person sees."""
    if not _carries_nul(incoming):
        return incoming  # nearly always: no copy (every inbound event passes here)
    cleaned = _strip_nul(incoming)
    assert isinstance(cleaned, Incoming)
    return cleaned


_TEXT_FIELDS = (
    "text", "html", "sender_name", "button", "reply_to", "chat_id", "sender_id",
    "message_id", "sender_locale",
)  # fmt: skip


def _carries_nul(incoming: Incoming) -> bool:
    for name in _TEXT_FIELDS:
        value = getattr(incoming, name)
        if value and "\x00" in value:
            return True
    parts: tuple[Any, ...] = (*incoming.files, incoming.contact, incoming.thread)
    # The raw update is not looked at: it is stored as JSON only, where a NUL is escaped.
    return any(part is not None and _has_nul(part) for part in parts)


def _has_nul(part: Any) -> bool:
    """Whether a small value object (a file, a contact, a thread hint) has a NUL string."""
    for spec in fields(part):
        value = getattr(part, spec.name)
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, tuple) and any(isinstance(v, str) and "\x00" in v for v in value):
            return True
    return False


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, tuple):
        return tuple(_strip_nul(item) for item in value)
    if isinstance(value, list):
        return [_strip_nul(item) for item in value]
    if isinstance(value, dict):
        return {_strip_nul(key): _strip_nul(item) for key, item in value.items()}
    if is_dataclass(value) and not isinstance(value, type) and not isinstance(value, Enum):
        changed = {spec.name: _strip_nul(getattr(value, spec.name)) for spec in fields(value)}
        return replace(value, **changed)
    return value


class ButtonKind(StrEnum):
    CALLBACK = "callback"
    URL = "url"
    REQUEST_CONTACT = "request_contact"
    REQUEST_LOCATION = "request_location"


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    kind: ButtonKind = ButtonKind.CALLBACK
    payload: str | None = None  # callback data or URL

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "kind": self.kind.value, "payload": self.payload}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Button:
        return cls(data["label"], ButtonKind(data["kind"]), data.get("payload"))


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    storage_key: str
    name: str
    content_type: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send to one identity on one channel."""

    channel: str
    chat_id: str  # where to send: Telegram chat id, e-mail address, VK peer id, ...
    text: str = ""
    html: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of buttons
    files: tuple[OutgoingFile, ...] = ()
    reply_to: str | None = None  # the channel's id of the message this one answers
    order_id: int | None = None
    conversation_id: int | None = None
    # E-mail threading and similar per-channel extras (subject, References, ...).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    external_id: str  # the channel's id of the sent message


class DeliveryError(Exception):
    """Base of the classified errors a channel raises from `send`."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class RetryableError(DeliveryError):
    """Try again later (network trouble, 5xx, 429). `retry_after` in seconds, if the
    channel said how long to wait (Telegram's retry_after)."""

    def __init__(self, reason: str, detail: str = "", retry_after: float | None = None) -> None:
        super().__init__(reason, detail)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Sending again will not help: the recipient blocked the bot, the address is bad.
    The identity is marked unreachable and the manager is told."""


# Reasons adapters use, so the panel can translate them.
BLOCKED_BY_USER = "blocked_by_user"
BAD_ADDRESS = "bad_address"
MESSAGE_TOO_LONG = "message_too_long"
FILE_TOO_LARGE = "file_too_large"


@runtime_checkable
class Channel(Protocol):
    """An adapter's outbound half."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    async def send(self, message: Outgoing) -> DeliveryReceipt: ...


@runtime_checkable
class FileSource(Protocol):
    """An adapter that can fetch what people send it (the channel object itself, for
    channels whose files are fetched by reference, like Telegram's file ids)."""

    async def download(self, file: IncomingFile, *, max_bytes: int) -> AsyncIterator[bytes]:
        """The file's bytes as a stream. Raises `inbox.files.FileTooLarge` (before or while
        streaming) once the file is over `max_bytes` or over what the channel will serve;
        network errors pass through (the reference stays valid: fetch again later)."""
        ...


class ChannelRegistry:
    """Channels by name, filled in runtime/bootstrap.py: adding a channel is one line there."""

    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._channels: dict[str, Channel] = {}
        for channel in channels:
            self.add(channel)

    def add(self, channel: Channel) -> None:
        if channel.name in self._channels:
            raise ValueError(f"channel {channel.name!r} is registered twice")
        self._channels[channel.name] = channel

    def get(self, name: str) -> Channel:
        try:
            return self._channels[name]
        except KeyError:
            raise LookupError(f"no channel named {name!r} is configured") from None

    def __contains__(self, name: object) -> bool:
        return name in self._channels

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels.values())

    def names(self) -> list[str]:
        return sorted(self._channels)
