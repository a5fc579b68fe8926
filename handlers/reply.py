"""What a flow answers: `Reply` (text or a little safe markup, buttons, files), rendered by
each channel adapter its own way, and the helpers that build safe markup and button rows.

Markup is the small HTML subset every adapter understands (<b>, <i>, <a href>); anything a
person typed is escaped on the way in, so a client's "<script>" is shown, not run."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from inbox.channel import Button, ButtonKind, OutgoingFile

# Telegram's limit for callback data; other channels allow more.
MAX_PAYLOAD_BYTES = 64


@dataclass(frozen=True, slots=True)
class Reply:
    text: str = ""
    html: str | None = None  # safe markup built with `bold` / `card`; wins over `text`
    buttons: tuple[tuple[Button, ...], ...] = ()
    files: tuple[OutgoingFile, ...] = ()
    remove_keyboard: bool = False  # take away a reply keyboard (after a contact was shared)
    order_id: int | None = None  # a reply to this message goes to that order's thread
    edit_of: str | None = None  # the channel's id of a message to edit instead of sending


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def bold(text: str) -> str:
    return f"<b>{escape(text)}</b>"


def card(title: str, rows: Iterable[tuple[str, str]], footer: str = "") -> str:
    """A titled list of "label: value" lines, every part escaped."""
    lines = [bold(title)]
    lines += [f"{escape(label)}: {escape(value)}" for label, value in rows if value != ""]
    if footer:
        lines += ["", escape(footer)]
    return "\n".join(lines)


def button(label: str, payload: str) -> Button:
    if len(payload.encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"button payload longer than {MAX_PAYLOAD_BYTES} bytes: {payload!r}")
    return Button(label, ButtonKind.CALLBACK, payload)


def link_button(label: str, url: str) -> Button:
    return Button(label, ButtonKind.URL, url)


def contact_button(label: str) -> Button:
    return Button(label, ButtonKind.REQUEST_CONTACT)


def location_button(label: str) -> Button:
    return Button(label, ButtonKind.REQUEST_LOCATION)


def rows(buttons: Sequence[Button], per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
