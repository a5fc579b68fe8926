"""A client's first contact: greet, ask the name, ask the phone (the contact button where
the channel has one; a typed number works too), then the menu. Whatever they wrote first is
filed in their lead conversation all the same, so a manager sees it."""

from __future__ import annotations

import re

from core.i18n import N_
from core.models import Client
from handlers.menu import show_menu, stale_button
from handlers.reply import button, contact_button, rows
from handlers.turn import Turn
from inbox.people import normalize_phone

FLOW = "registration"

GREETING = N_("Hello! This is the order desk. Let us get acquainted: what is your name?")
ASK_NAME = N_("What is your name?")
BAD_NAME = N_("Please write your name in a few letters.")
ASK_PHONE = N_(
    "Thank you, {name}! Please share your phone number with the button below or type it."
)
SHARE_PHONE = N_("Share my phone number")
SKIP = N_("Skip")
BAD_PHONE = N_("That does not look like a phone number. Example: +7 916 123-45-67.")
NOT_YOUR_CONTACT = N_("This is someone else's contact. Please share your own number.")
WELCOME = N_("Nice to meet you, {name}!")

PHONE = re.compile(r"^\+?[\d\s()\-]{7,20}$")


async def is_registered(turn: Turn) -> bool:
    client = await turn.client()
    return client is None or client.phone is not None


async def start(turn: Turn, *, greet: bool = True) -> None:
    turn.begin(FLOW, "name")
    turn.say(turn.t(GREETING if greet else ASK_NAME))


async def ask(turn: Turn) -> None:
    assert turn.state is not None
    if turn.state.step == "name":
        turn.say(turn.t(ASK_NAME))
    else:
        _ask_phone(turn, turn.state.data.get("name", ""))


async def on_input(turn: Turn) -> None:
    assert turn.state is not None
    if turn.state.step == "name":
        await _take_name(turn)
    else:
        await _take_phone(turn)


async def _take_name(turn: Turn) -> None:
    name = " ".join(turn.text.split())
    if not (2 <= len(name) <= 100) or not any(ch.isalpha() for ch in name):
        turn.say(turn.t(BAD_NAME))
        return
    turn.move("phone", name=name)
    _ask_phone(turn, name)


def _ask_phone(turn: Turn, name: str) -> None:
    turn.say(
        turn.t(ASK_PHONE, name=name),
        buttons=rows([contact_button(turn.t(SHARE_PHONE)), button(turn.t(SKIP), "reg:skip")]),
    )


async def _take_phone(turn: Turn) -> None:
    contact = turn.incoming.contact
    if contact is not None and not contact.own:
        turn.say(turn.t(NOT_YOUR_CONTACT))
        return
    raw = contact.phone if contact is not None else turn.text
    if not PHONE.match(raw) or not (10 <= len(normalize_phone(raw)) - 1 <= 15):
        turn.say(turn.t(BAD_PHONE))
        return
    await complete(turn, normalize_phone(raw))


async def complete(turn: Turn, phone: str | None) -> None:
    """Save what was asked; a skipped phone is asked again at the first order."""
    assert turn.state is not None
    name = turn.state.data.get("name", "")
    client = await turn.client()
    if client is not None:
        _update(client, name, phone)
    if phone and turn.identity.phone is None:
        turn.identity.phone = phone  # verified only when the channel vouched (identify())
    await turn.finish()
    turn.say(turn.t(WELCOME, name=name), remove_keyboard=True)
    await show_menu(turn)


def _update(client: Client, name: str, phone: str | None) -> None:
    # A card that already has a phone was made by staff (the person's shared phone joined
    # it, inbox/people.py): its name is the one the desk knows them by.
    if name and not client.phone:
        client.name = name
    if phone:
        client.phone = phone
    elif client.phone is None:
        client.phone = ""  # asked and skipped: do not ask at every message


async def on_button(turn: Turn, action: str, args: list[str]) -> None:
    if action == "skip" and turn.in_flow(FLOW):
        await complete(turn, None)
    else:
        await stale_button(turn)  # the introduction is over
