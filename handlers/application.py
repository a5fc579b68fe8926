"""Applying to work with us: name, phone (the contact button or typed), e-mail (optional:
the bot chat and the phone already reach the person), skills (toggle buttons, at least
one), experience, sample files. The result is an executor in status `applicant` who owns
this chat, and the application filed in their application conversation for a manager,
who decides with core.applications.

A chat identity has one owner. A lead (a client without orders) switches to the new
executor; their lead conversation stays readable. A client with orders keeps the chat for
those orders and is asked to apply from another account or to talk to a manager."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.i18n import N_, gettext
from core.models import Executor, ExecutorStatus, FilePurpose, Order, Skill, StoredFile
from handlers import registration
from handlers.answers import NOT_A_CHOICE
from handlers.flow import take_upload
from handlers.menu import cancel, show_menu, stale_button
from handlers.reply import button, contact_button, rows
from handlers.turn import Turn
from handlers.wizard import BACK, CANCEL, DONE, FILES_EXPECTED, SKIP
from inbox.channel import Button
from inbox.conversations import add_message, application_conversation
from inbox.models import Direction
from inbox.people import normalize_phone

FLOW = "apply"
STEPS = ("name", "phone", "email", "skills", "experience", "samples")

ASK_NAME = N_("Glad you want to work with us! What is your full name?")
ASK_PHONE = N_("Your phone number: share it with the button below or type it.")
PHONE_TAKEN = N_("Phone number: {phone}.")
ASK_EMAIL = N_("Your e-mail (optional: you can skip this):")
BAD_EMAIL = N_("That does not look like an e-mail address. Example: anna@example.com.")
ASK_SKILLS = N_("What do you do? Choose one or more, then press Done.")
NO_SKILL_CHOSEN = N_("Please choose at least one.")
ASK_EXPERIENCE = N_("Tell us briefly about your experience: what you have done and for how long.")
BAD_EXPERIENCE = N_("Please describe your experience in a few words (at most 4000 characters).")
ASK_SAMPLES = N_(
    "Send samples of your work as files, then press Done. No samples? Just press Done."
)
SAMPLES_TAKEN = N_("Samples received: {count}. Send more or press Done.")
CLIENT_CHAT = N_(
    "This chat is linked to your orders. To work with us, write to us from another account "
    "or ask the manager."
)
SENT = N_("Thank you, {name}! Your application is sent.")
TITLE = N_("Application to work with us")
NAME = N_("Name")
PHONE = N_("Phone")
EMAIL = N_("E-mail")
SKILLS = N_("Skills")
EXPERIENCE = N_("Experience")
SAMPLES = N_("Samples")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
MAX_EXPERIENCE = 4000


async def start(turn: Turn) -> None:
    if turn.identity.executor_id is not None:
        await show_menu(turn)
        return
    if not await _may_take_chat(turn):
        turn.say(turn.t(CLIENT_CHAT))
        return
    has_skills = bool(await turn.session.scalar(select(func.count(Skill.id))))
    steps = [step for step in STEPS if has_skills or step != "skills"]
    turn.begin(FLOW, "name", {"steps": steps, "skills": [], "files": []})
    await ask(turn)


async def _may_take_chat(turn: Turn) -> bool:
    """Only a lead's chat may change hands: a client with orders keeps getting their notices."""
    if turn.identity.client_id is None:
        return True
    orders = await turn.session.scalar(
        select(func.count(Order.id)).where(Order.client_id == turn.identity.client_id)
    )
    return not orders


# --- asking -----------------------------------------------------------------------------


async def ask(turn: Turn) -> None:
    """Ask the current step (again)."""
    assert turn.state is not None
    step = turn.state.step
    if step == "name":
        turn.say(turn.t(ASK_NAME), buttons=(_controls(turn),))
    elif step == "phone":
        # A contact request needs a reply keyboard, where every key sends its label.
        keys = [contact_button(turn.t(registration.SHARE_PHONE)), *_controls(turn)]
        turn.say(turn.t(ASK_PHONE), buttons=rows(keys))
    elif step == "email":
        turn.say(turn.t(ASK_EMAIL), buttons=(_controls(turn, skip=True),))
    elif step == "skills":
        await _ask_skills(turn)
    elif step == "experience":
        turn.say(turn.t(ASK_EXPERIENCE), buttons=(_controls(turn),))
    else:
        turn.say(turn.t(ASK_SAMPLES), buttons=(_done(turn), _controls(turn)))


def _controls(turn: Turn, *, skip: bool = False) -> tuple[Button, ...]:
    assert turn.state is not None
    found = []
    if turn.state.step != "name":
        found.append(button(turn.t(BACK), "apply:back"))
    if skip:
        found.append(button(turn.t(SKIP), "apply:pass"))
    found.append(button(turn.t(CANCEL), "dlg:cancel"))
    return tuple(found)


def _done(turn: Turn) -> tuple[Button, ...]:
    return (button(turn.t(DONE), "apply:done"),)


async def _ask_skills(turn: Turn, *, in_place: bool = False) -> None:
    """The skills list; `in_place` for a press on the list itself (a toggle, Done with
    nothing chosen), which edits it where the channel can. Coming from another step's
    button (Skip the e-mail, Back) sends a new list and leaves that step's question be."""
    assert turn.state is not None
    chosen = set(turn.state.data["skills"])
    skills = list(await turn.session.scalars(select(Skill).order_by(Skill.name)))
    toggles = [
        button(("✓ " if skill.id in chosen else "") + turn.t(skill.name), f"apply:skill:{skill.id}")
        for skill in skills
    ]
    edit_of = turn.incoming.reply_to if in_place and turn.incoming.button else None
    turn.say(
        turn.t(ASK_SKILLS),
        buttons=(*rows(toggles, 2), _done(turn), _controls(turn)),
        edit_of=edit_of,
    )


# --- answering --------------------------------------------------------------------------


async def on_input(turn: Turn) -> None:
    assert turn.state is not None
    step = turn.state.step
    if step == "phone":
        await _take_phone(turn)
    elif step == "samples":
        await _take_samples(turn)
    elif step == "skills":
        await _type_skill(turn)
    elif step == "name":
        await _take_name(turn)
    elif step == "email":
        await _take_email(turn)
    else:
        await _take_experience(turn)


async def _take_name(turn: Turn) -> None:
    name = " ".join(turn.text.split())
    if not (2 <= len(name) <= 100) or not any(ch.isalpha() for ch in name):
        turn.say(turn.t(registration.BAD_NAME))
        return
    await _next(turn, name=name)


async def _take_phone(turn: Turn) -> None:
    # The keys of the reply keyboard arrive as their labels.
    if turn.text == turn.t(CANCEL):
        await cancel(turn)
        return
    if turn.text == turn.t(BACK):
        await _back(turn)
        return
    contact = turn.incoming.contact
    if contact is not None and not contact.own:
        turn.say(turn.t(registration.NOT_YOUR_CONTACT))
        return
    raw = contact.phone if contact is not None else turn.text
    phone = normalize_phone(raw)
    if not registration.PHONE.match(raw) or not (10 <= len(phone) - 1 <= 15):
        turn.say(turn.t(registration.BAD_PHONE))
        return
    turn.say(turn.t(PHONE_TAKEN, phone=phone), remove_keyboard=True)
    await _next(turn, phone=phone)


async def _take_email(turn: Turn) -> None:
    email = turn.text.lower()
    if len(email) > 254 or not _EMAIL.match(email):
        turn.say(turn.t(BAD_EMAIL), buttons=(_controls(turn, skip=True),))
        return
    await _next(turn, email=email)


async def _type_skill(turn: Turn) -> None:
    """A skill typed instead of pressed is toggled all the same."""
    assert turn.state is not None
    typed = turn.text.casefold()
    for skill in await turn.session.scalars(select(Skill)):
        if typed in (skill.name.casefold(), turn.t(skill.name).casefold()):
            _toggle(turn, skill.id)
            break
    else:
        turn.say(turn.t(NOT_A_CHOICE))
    await _ask_skills(turn)


def _toggle(turn: Turn, skill_id: int) -> None:
    assert turn.state is not None
    chosen = [found for found in turn.state.data["skills"] if found != skill_id]
    if len(chosen) == len(turn.state.data["skills"]):
        chosen.append(skill_id)
    turn.move("skills", skills=chosen)


async def _take_experience(turn: Turn) -> None:
    text = turn.text
    if not text or len(text) > MAX_EXPERIENCE:
        turn.say(turn.t(BAD_EXPERIENCE))
        return
    await _next(turn, experience=text)


async def _take_samples(turn: Turn) -> None:
    assert turn.state is not None
    if not turn.incoming.files:
        turn.say(turn.t(FILES_EXPECTED), buttons=(_done(turn),))
        return
    taken = list(turn.state.data["files"])
    for file in turn.incoming.files:
        stored = await take_upload(turn, file, FilePurpose.SAMPLE)
        if stored is not None:
            taken.append(stored.id)
    turn.move("samples", files=taken)
    turn.say(turn.t(SAMPLES_TAKEN, count=len(taken)), buttons=(_done(turn),))


async def _next(turn: Turn, **answer: object) -> None:
    assert turn.state is not None
    steps = turn.state.data["steps"]
    turn.move(steps[steps.index(turn.state.step) + 1], **answer)
    await ask(turn)


async def _back(turn: Turn) -> None:
    assert turn.state is not None
    steps = turn.state.data["steps"]
    turn.move(steps[max(0, steps.index(turn.state.step) - 1)])
    await ask(turn)


# --- buttons ----------------------------------------------------------------------------


async def on_button(turn: Turn, action: str, args: list[str]) -> None:
    """apply:back, apply:pass (skip the e-mail), apply:skill:<id>, apply:done."""
    if not turn.in_flow(FLOW):
        await stale_button(turn)  # a button of an application that is over
        return
    assert turn.state is not None
    step = turn.state.step
    if action == "back":
        await _back(turn)
    elif action == "pass" and step == "email":
        await _next(turn, email=None)
    elif action == "skill" and step == "skills" and args and args[0].isdigit():
        _toggle(turn, int(args[0]))
        await _ask_skills(turn, in_place=True)
    elif action == "done" and step == "skills":
        await _skills_done(turn)
    elif action == "done" and step == "samples":
        await _submit(turn)
    else:
        await ask(turn)


async def _skills_done(turn: Turn) -> None:
    assert turn.state is not None
    if not turn.state.data["skills"]:
        turn.say(turn.t(NO_SKILL_CHOSEN))
        await _ask_skills(turn, in_place=True)
        return
    await _next(turn)


# --- the application --------------------------------------------------------------------


async def _submit(turn: Turn) -> None:
    assert turn.state is not None
    data = turn.state.data
    if not await _may_take_chat(turn):  # an order placed from another channel meanwhile
        await turn.finish()
        turn.say(turn.t(CLIENT_CHAT))
        return
    skills = list(await turn.session.scalars(select(Skill).where(Skill.id.in_(data["skills"]))))
    executor = Executor(
        name=data["name"], phone=data["phone"], email=data.get("email"),
        experience=data["experience"], locale=turn.identity.locale,
        status=ExecutorStatus.APPLICANT, skills=skills,
    )  # fmt: skip
    turn.session.add(executor)
    await turn.session.flush()
    identity = turn.identity
    identity.client_id, identity.executor_id = None, executor.id
    identity.phone = identity.phone or executor.phone
    samples = list(
        await turn.session.scalars(select(StoredFile).where(StoredFile.id.in_(data["files"])))
    )
    for sample in samples:
        sample.executor_id = executor.id
    await _file_application(turn, executor, samples)
    await turn.finish()
    turn.say(turn.t(SENT, name=executor.name))
    await show_menu(turn)


async def _file_application(turn: Turn, executor: Executor, samples: list[StoredFile]) -> None:
    """The summary a manager reads in the applicant's conversation, in the desk's language."""
    desk = turn.services.locale
    skills = ", ".join(gettext(skill.name, desk) for skill in executor.skills)
    lines = [
        gettext(TITLE, desk),
        f"{gettext(NAME, desk)}: {executor.name}",
        f"{gettext(PHONE, desk)}: {executor.phone}",
        f"{gettext(EMAIL, desk)}: {executor.email or '—'}",
        f"{gettext(SKILLS, desk)}: {skills or '—'}",
        f"{gettext(EXPERIENCE, desk)}: {executor.experience}",
        f"{gettext(SAMPLES, desk)}: {len(samples)}",
    ]
    conversation = await application_conversation(turn.session, executor.id)
    await add_message(
        turn.session, conversation, Direction.IN, "\n".join(lines),
        channel=turn.incoming.channel, identity_id=turn.identity.id,
        author_executor_id=executor.id, files=samples,
    )  # fmt: skip
