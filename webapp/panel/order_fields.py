"""An order kind's intake fields as a web form: what to draw for each field (from the kind's
schema in the database, as the bot wizard asks them) and reading the posted values back with
the wizard's own validation (dates in the future, numbers in range, one of the choices).

The intake form and the order card's field editor share this."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from multidict import MultiMapping
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import N_, gettext
from core.kinds import FieldSpec, FieldType
from core.models import Order, OrderKind, Skill
from handlers.answers import Invalid, parse_answer

REQUIRED = N_("This field is required.")
PREFIX = "f_"  # form names of the kind's fields: f_<key>
# Kept in the order's answers under this key: the operator's words from the call.
COMMENT_KEY = "comment"
# The plain deadline input of a kind that asks for no date itself.
DEADLINE_SPEC = FieldSpec("deadline", N_("Deadline"), FieldType.DATE, required=False)


@dataclass
class FormField:
    """One field as the template draws it: `value` is what the person typed (kept on
    errors), `error` the translated message, `options` (value, label) pairs of a choice."""

    spec: FieldSpec
    label: str
    value: str = ""
    error: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return PREFIX + self.spec.key

    @property
    def input_type(self) -> str:
        return {
            FieldType.DATE: "date",
            FieldType.DATETIME: "datetime-local",
        }.get(self.spec.type, "text")


@dataclass
class FieldsForm:
    fields: list[FormField]
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return all(each.error is None for each in self.fields)

    @property
    def errors(self) -> list[str]:
        return [f"{each.label}: {each.error}" for each in self.fields if each.error]


def specs(kind: OrderKind) -> list[FieldSpec]:
    return [FieldSpec.from_json(data) for data in kind.fields]


async def choice_values(session: AsyncSession, spec: FieldSpec) -> list[str]:
    if spec.type is not FieldType.CHOICE:
        return []
    if spec.source == "skills":
        return list(await session.scalars(select(Skill.name).order_by(Skill.name)))
    return list(spec.choices)


async def blank_form(
    session: AsyncSession, kind: OrderKind, locale: str, details: dict[str, Any] | None = None
) -> FieldsForm:
    """The form filled with stored answers (an order's details) or empty (a new order)."""
    form = FieldsForm([])
    for spec in specs(kind):
        if spec.type is FieldType.FILES:
            continue
        value = (details or {}).get(spec.key)
        form.fields.append(
            FormField(
                spec,
                gettext(spec.label, locale),
                _shown(spec, value),
                options=await _options(session, spec, locale),
            )
        )
    return form


async def read_form(
    session: AsyncSession,
    kind: OrderKind,
    posted: MultiMapping[Any],
    *,
    locale: str,
    now: datetime,
    tz: ZoneInfo,
    stored: dict[str, Any] | None = None,
) -> FieldsForm:
    """The posted answers, checked like the wizard checks typed ones. An answer left as
    `stored` had it is kept as it is (an order's deadline may have passed since)."""
    form = FieldsForm([])
    stored = stored or {}
    for spec in specs(kind):
        if spec.type is FieldType.FILES:
            continue
        raw = posted.get(PREFIX + spec.key)
        text = raw.strip() if isinstance(raw, str) else ""
        each = FormField(
            spec, gettext(spec.label, locale), text, options=await _options(session, spec, locale)
        )
        form.fields.append(each)
        if spec.type is FieldType.BOOLEAN:
            form.answers[spec.key] = bool(text)
            continue
        if spec.key in stored and text and text == _shown(spec, stored[spec.key]):
            form.answers[spec.key] = stored[spec.key]
            continue
        if not text:
            form.answers[spec.key] = None
            if spec.required:
                each.error = gettext(REQUIRED, locale)
            continue
        choices = {value: value for value in await choice_values(session, spec)}
        choices |= {gettext(value, locale): value for value in choices}
        try:
            form.answers[spec.key] = parse_answer(
                spec, _typed(spec, text), now=now, tz=tz, choices=choices
            )
        except Invalid as problem:
            each.error = problem.text(locale)
    return form


def role_moment(
    kind: OrderKind, answers: dict[str, Any], role: str, tz: ZoneInfo
) -> datetime | None:
    """The order's deadline / scheduled time from the answer of the field with that role
    (a deadline day ends at 23:59 in the business's clock, as in the wizard)."""
    spec = next((each for each in specs(kind) if each.role == role), None)
    if spec is None or not answers.get(spec.key):
        return None
    value = answers[spec.key]
    if spec.type is FieldType.DATE:
        return day_end(value, tz)
    return datetime.fromisoformat(value).astimezone(UTC)


def day_end(day: str, tz: ZoneInfo) -> datetime:
    """A deadline day ("2026-12-25") ends at 23:59 in the business's clock."""
    moment = datetime.combine(date.fromisoformat(day), time(23, 59), tzinfo=tz)
    return moment.astimezone(UTC)


def stored_answers(kind: OrderKind, order: Order, tz: ZoneInfo) -> dict[str, Any]:
    """The order's answers, with the deadline / time fields filled from the order's own
    columns when the answers lack them (orders made outside the wizard)."""
    answers = dict(order.details)
    for spec in specs(kind):
        moment = {"deadline": order.deadline, "scheduled_at": order.scheduled_at}.get(
            spec.role or ""
        )
        if moment is None or answers.get(spec.key):
            continue
        local = moment.astimezone(tz)
        answers[spec.key] = (
            local.date().isoformat() if spec.type is FieldType.DATE else local.isoformat()
        )
    return answers


def has_role(kind: OrderKind, role: str) -> bool:
    return any(each.role == role for each in specs(kind))


def title_for(kind: OrderKind, answers: dict[str, Any], locale: str) -> str:
    """The kind's name and its first text answer, as the wizard titles an order."""
    first_text = next(
        (answers[s.key] for s in specs(kind) if s.type is FieldType.TEXT and answers.get(s.key)),
        "",
    )
    return (gettext(kind.name, locale) + (f": {first_text}" if first_text else ""))[:200]


def _typed(spec: FieldSpec, text: str) -> str:
    """Browser date pickers send ISO ("2026-12-25", "2026-12-25T14:30"); the wizard's
    reader takes the date part as typed and wants a space before the time."""
    if spec.type is FieldType.DATETIME:
        return text.replace("T", " ", 1)
    return text


def _shown(spec: FieldSpec, value: Any) -> str:
    """A stored answer as the form input's value."""
    if value is None:
        return ""
    if spec.type is FieldType.BOOLEAN:
        return "1" if value else ""
    if spec.type is FieldType.DATETIME:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%dT%H:%M")
    return str(value)


async def _options(session: AsyncSession, spec: FieldSpec, locale: str) -> list[tuple[str, str]]:
    return [(value, gettext(value, locale)) for value in await choice_values(session, spec)]
