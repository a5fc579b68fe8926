"""The new-order wizard, driven by the order kind's field schema from the database (a new
kind needs no code): one field per step with validation and re-asking, Back / Skip / Cancel
on every step, several files with a Done button, and a summary to confirm or edit a field.
Confirming creates the order (status `new`); managers are alerted by a reaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select

from core import orders
from core.i18n import N_
from core.kinds import FieldSpec, FieldType
from core.models import FilePurpose, OrderKind, Skill, StoredFile
from handlers.answers import NO, YES, Invalid, parse_answer, show_value
from handlers.flow import take_upload
from handlers.menu import show_menu, stale_button
from handlers.reply import Reply, button, card, rows
from handlers.turn import Turn
from inbox.channel import Button

FLOW = "order"

WHICH_KIND = N_("What would you like to order?")
NO_KINDS = N_("Ordering through the bot is not available right now. Please write to the manager.")
ASK_FIELD = N_("{label}:")
OPTIONAL = N_("(optional: you can skip this)")
SEND_FILES = N_("Send the files one by one or together, then press Done.")
FILES_TAKEN = N_("Files received: {count}. Send more or press Done.")
FILES_EXPECTED = N_("Please send files, or press Done.")
DONE = N_("Done")
BACK = N_("Back")
SKIP = N_("Skip")
CANCEL = N_("Cancel")
SUMMARY = N_("Please check your order")
CONFIRM = N_("Confirm")
EDIT = N_("Change a field")
WHICH_FIELD = N_("Which field do you want to change?")
CREATED = N_("Order №{number} is placed. A manager will look at it and send you the price soon.")
REQUIRED = N_("This field is required.")


async def start(turn: Turn) -> None:
    kinds = await _active_kinds(turn)
    if not kinds:
        turn.say(turn.t(NO_KINDS))
        return
    if len(kinds) == 1:
        await _begin(turn, kinds[0])
        return
    turn.say(
        turn.t(WHICH_KIND),
        buttons=rows([button(turn.t(kind.name), f"wiz:kind:{kind.code}") for kind in kinds]),
    )


async def _active_kinds(turn: Turn) -> list[OrderKind]:
    found = await turn.session.scalars(
        select(OrderKind).where(OrderKind.is_active.is_(True)).order_by(OrderKind.position)
    )
    return list(found)


async def _begin(turn: Turn, kind: OrderKind) -> None:
    turn.begin(FLOW, "field", {"kind": kind.code, "i": 0, "answers": {}, "files": []})
    await ask(turn)


async def _kind(turn: Turn) -> OrderKind:
    assert turn.state is not None
    code = turn.state.data["kind"]
    kind = await turn.session.scalar(select(OrderKind).where(OrderKind.code == code))
    assert kind is not None, f"order kind {code} vanished"
    return kind


def _fields(kind: OrderKind) -> list[FieldSpec]:
    return [FieldSpec.from_json(data) for data in kind.fields]


def _current(turn: Turn, fields: list[FieldSpec]) -> FieldSpec | None:
    """The field being asked, or None when the owner has since removed fields from the kind
    and the position is past its end (the wizard then goes to the summary, whose Confirm
    asks for any required field still missing)."""
    assert turn.state is not None
    position = int(turn.state.data.get("i", 0))
    return fields[position] if 0 <= position < len(fields) else None


async def _to_summary(turn: Turn) -> None:
    turn.move("summary", editing=False)
    await _summary(turn)


# --- asking -----------------------------------------------------------------------------


async def ask(turn: Turn) -> None:
    """Ask the current step again (also used when a stale wizard is resumed)."""
    assert turn.state is not None
    if turn.state.step == "summary":
        await _summary(turn)
        return
    field = _current(turn, _fields(await _kind(turn)))
    if field is None:
        await _to_summary(turn)
        return
    text = turn.t(ASK_FIELD, label=turn.t(field.label))
    if not field.required:
        text += " " + turn.t(OPTIONAL)
    if field.type is FieldType.FILES:
        text += "\n" + turn.t(SEND_FILES)
    options = await _options(turn, field)
    answer_buttons = [button(label, f"wiz:pick:{i}") for i, label in enumerate(options)]
    if field.type is FieldType.BOOLEAN:
        answer_buttons = [button(turn.t(YES), "wiz:yes"), button(turn.t(NO), "wiz:no")]
    if field.type is FieldType.FILES:
        answer_buttons = [button(turn.t(DONE), "wiz:done")]
    turn.say(text, buttons=(*rows(answer_buttons, 2), _controls(turn, field)))


def _controls(turn: Turn, field: FieldSpec) -> tuple[Button, ...]:
    assert turn.state is not None
    controls = []
    if turn.state.data["i"] > 0 and not turn.state.data.get("editing"):
        controls.append(button(turn.t(BACK), "wiz:back"))
    if not field.required and field.type is not FieldType.FILES:
        controls.append(button(turn.t(SKIP), "wiz:skip"))
    controls.append(button(turn.t(CANCEL), "wiz:cancel"))
    return tuple(controls)


async def _options(turn: Turn, field: FieldSpec) -> list[str]:
    """The labels of a choice field, in the person's language."""
    if field.type is not FieldType.CHOICE:
        return []
    return [turn.t(value) for value in await _choice_values(turn, field)]


async def _choice_values(turn: Turn, field: FieldSpec) -> list[str]:
    if field.source == "skills":
        return list(await turn.session.scalars(select(Skill.name).order_by(Skill.name)))
    return list(field.choices)


# --- answering --------------------------------------------------------------------------


async def on_input(turn: Turn) -> None:
    assert turn.state is not None
    if turn.state.step == "summary":
        await _summary(turn)  # typed text at the summary: show it again with its buttons
        return
    field = _current(turn, _fields(await _kind(turn)))
    if field is None:
        await _to_summary(turn)
        return
    if field.type is FieldType.FILES:
        await _take_files(turn)
        return
    values = await _choice_values(turn, field)
    choices = {turn.t(value): value for value in values} | {value: value for value in values}
    try:
        value = parse_answer(field, turn.text, now=turn.now, tz=turn.services.tz, choices=choices)
    except Invalid as problem:
        turn.say(problem.text(turn.locale))
        await ask(turn)
        return
    await _store(turn, field, value)


async def _take_files(turn: Turn) -> None:
    assert turn.state is not None
    incoming = turn.incoming
    if not incoming.files:
        turn.say(turn.t(FILES_EXPECTED), buttons=rows([button(turn.t(DONE), "wiz:done")]))
        return
    taken = list(turn.state.data.get("files", []))
    for file in incoming.files:
        stored = await take_upload(turn, file, FilePurpose.MATERIAL)
        if stored is not None:
            taken.append(stored.id)
    turn.move("field", files=taken)
    # After a refused file, "received: 0" would read oddly; ask for files again instead.
    text = turn.t(FILES_TAKEN, count=len(taken)) if taken else turn.t(FILES_EXPECTED)
    turn.say(text, buttons=rows([button(turn.t(DONE), "wiz:done")]))


async def _store(turn: Turn, field: FieldSpec, value: Any) -> None:
    assert turn.state is not None
    answers = {**turn.state.data["answers"], field.key: value}
    turn.move("field", answers=answers)
    await _next(turn)


async def _next(turn: Turn) -> None:
    assert turn.state is not None
    fields = _fields(await _kind(turn))
    if turn.state.data.get("editing") or turn.state.data["i"] + 1 >= len(fields):
        turn.move("summary", editing=False)
        await _summary(turn)
        return
    turn.move("field", i=turn.state.data["i"] + 1)
    await ask(turn)


async def _summary(turn: Turn) -> None:
    assert turn.state is not None
    kind = await _kind(turn)
    answers = {**turn.state.data["answers"], "files": turn.state.data.get("files", [])}
    lines = [
        (turn.t(field.label), show_value(field, answers.get(field.key), turn.locale))
        for field in _fields(kind)
    ]
    turn.replies.append(
        Reply(
            html=card(f"{turn.t(SUMMARY)} — {turn.t(kind.name)}", lines),
            buttons=(
                (button(turn.t(CONFIRM), "wiz:confirm"),),
                (button(turn.t(EDIT), "wiz:editmenu"), button(turn.t(CANCEL), "wiz:cancel")),
            ),
        )
    )


# --- buttons ----------------------------------------------------------------------------


async def on_button(turn: Turn, action: str, args: list[str]) -> None:
    if action == "kind":
        kind = await turn.session.scalar(select(OrderKind).where(OrderKind.code == args[0]))
        if kind is not None and kind.is_active:
            await _begin(turn, kind)
        else:
            await start(turn)
        return
    if not turn.in_flow(FLOW):
        await stale_button(turn)  # a button of a wizard that is over
        return
    await _control(turn, action, args)


async def _control(turn: Turn, action: str, args: list[str]) -> None:
    assert turn.state is not None
    fields = _fields(await _kind(turn))
    field = _current(turn, fields)
    if field is None and action not in ("cancel", "confirm", "editmenu", "edit"):
        await _to_summary(turn)
    elif action == "cancel":
        from handlers.menu import cancel

        await cancel(turn)
    elif action == "back":
        turn.move("field", i=max(0, turn.state.data["i"] - 1))
        await ask(turn)
    elif field is not None and action == "skip" and not field.required:
        await _store(turn, field, None)
    elif field is not None and action == "done" and field.type is FieldType.FILES:
        if field.required and not turn.state.data.get("files"):
            turn.say(turn.t(REQUIRED))
            await ask(turn)
        else:
            await _next(turn)
    elif field is not None and action in ("pick", "yes", "no") and turn.state.step == "field":
        await _picked(turn, field, action, args)
    elif action == "editmenu":
        labels = [button(turn.t(f.label), f"wiz:edit:{i}") for i, f in enumerate(fields)]
        turn.say(turn.t(WHICH_FIELD), buttons=rows(labels, 2))
    elif action == "edit" and args and args[0].isdigit() and int(args[0]) < len(fields):
        turn.move("field", i=int(args[0]), editing=True)
        await ask(turn)
    elif action == "confirm" and turn.state.step == "summary":
        await _confirm(turn, fields)
    else:
        await ask(turn)


async def _picked(turn: Turn, field: FieldSpec, action: str, args: list[str]) -> None:
    if field.type is FieldType.BOOLEAN and action in ("yes", "no"):
        await _store(turn, field, action == "yes")
        return
    values = await _choice_values(turn, field)
    if field.type is FieldType.CHOICE and args and args[0].isdigit() and int(args[0]) < len(values):
        await _store(turn, field, values[int(args[0])])
        return
    await ask(turn)


async def _confirm(turn: Turn, fields: list[FieldSpec]) -> None:
    assert turn.state is not None
    kind = await _kind(turn)
    answers: dict[str, Any] = dict(turn.state.data["answers"])
    missing = [
        f
        for f in fields
        if f.required and f.type is not FieldType.FILES and answers.get(f.key) is None
    ]
    if missing:
        turn.move("field", i=fields.index(missing[0]), editing=True)
        turn.say(turn.t(REQUIRED))
        await ask(turn)
        return
    client_id = turn.identity.client_id
    assert client_id is not None
    order = await orders.create_order(
        turn.session, kind=kind, client_id=client_id, actor=turn.client_actor(),
        details=answers, title=_title(turn, kind, fields, answers),
        deadline=_role_moment(fields, answers, "deadline", turn),
        scheduled_at=_role_moment(fields, answers, "scheduled_at", turn),
    )  # fmt: skip
    for file_id in turn.state.data.get("files", []):
        stored = await turn.session.get(StoredFile, file_id)
        if stored is not None:
            stored.order_id = order.id
    await turn.finish()
    turn.say(turn.t(CREATED, number=order.number), order_id=order.id)
    await show_menu(turn)


def _title(turn: Turn, kind: OrderKind, fields: list[FieldSpec], answers: dict[str, Any]) -> str:
    """The kind's name and its first text answer: "Student paper: Marketing of ..."."""
    first_text = next(
        (answers[f.key] for f in fields if f.type is FieldType.TEXT and answers.get(f.key)), ""
    )
    title = turn.t(kind.name) + (f": {first_text}" if first_text else "")
    return title[:200]


def _role_moment(
    fields: list[FieldSpec], answers: dict[str, Any], role: str, turn: Turn
) -> datetime | None:
    field = next((f for f in fields if f.role == role), None)
    if field is None or not answers.get(field.key):
        return None
    value = answers[field.key]
    if field.type is FieldType.DATE:
        # A deadline day ends at the business's evening, in its own clock.
        day = date.fromisoformat(value)
        return datetime.combine(day, time(23, 59), tzinfo=turn.services.tz).astimezone(UTC)
    return datetime.fromisoformat(value).astimezone(UTC)
