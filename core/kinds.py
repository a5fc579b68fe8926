"""Order kinds as data: the field schema the intake wizard asks, and the three kinds every
new installation starts with (student paper, print job, trip / special equipment)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core.i18n import N_, gettext


class FieldType(StrEnum):
    TEXT = "text"  # one line
    LONGTEXT = "longtext"  # free text
    CHOICE = "choice"  # one of `choices` (or of the skills list when source == "skills")
    INTEGER = "integer"  # whole number within min..max
    DATE = "date"  # a calendar day, must be in the future
    DATETIME = "datetime"  # a moment, must be in the future
    BOOLEAN = "boolean"  # yes / no
    FILES = "files"  # zero or more attachments


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One intake field. Labels are English message ids, translated when shown; a label
    typed by the owner in the kinds editor has no catalogue entry and is shown as typed."""

    key: str
    label: str
    type: FieldType
    required: bool = True
    choices: tuple[str, ...] = ()
    source: str | None = None
    min: int | None = None
    max: int | None = None
    # The answer names the skill executors need (their feed filters on it).
    skill: bool = False
    # The answer is the order's deadline / scheduled time.
    role: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type.value}
        data["required"] = self.required
        if self.choices:
            data["choices"] = list(self.choices)
        for name in ("source", "min", "max", "role"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.skill:
            data["skill"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldSpec:
        return cls(
            key=data["key"],
            label=data["label"],
            type=FieldType(data["type"]),
            required=data.get("required", True),
            choices=tuple(data.get("choices", ())),
            source=data.get("source"),
            min=data.get("min"),
            max=data.get("max"),
            skill=data.get("skill", False),
            role=data.get("role"),
        )


@dataclass(frozen=True, slots=True)
class KindSpec:
    code: str
    name: str
    fields: tuple[FieldSpec, ...]
    execution_steps: tuple[str, ...]
    prepayment_percent: int | None
    uses_exchange: bool
    needs_review: bool
    guarantee_days: int

    def to_row(self, position: int) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "fields": [field.to_json() for field in self.fields],
            "execution_steps": list(self.execution_steps),
            "prepayment_percent": self.prepayment_percent,
            "uses_exchange": self.uses_exchange,
            "needs_review": self.needs_review,
            "guarantee_days": self.guarantee_days,
            "is_active": True,
            "position": position,
        }


F = FieldType

STUDENT_PAPER = KindSpec(
    code="student_paper",
    name=N_("Student paper"),
    fields=(
        FieldSpec("discipline", N_("Discipline"), F.CHOICE, source="skills", skill=True),
        FieldSpec(
            "work_type",
            N_("Type of work"),
            F.CHOICE,
            choices=(
                N_("Essay"),
                N_("Coursework"),
                N_("Diploma thesis"),
                N_("Report"),
                N_("Test paper"),
                N_("Other"),
            ),
        ),
        FieldSpec("topic", N_("Topic"), F.TEXT),
        FieldSpec("pages", N_("Number of pages"), F.INTEGER, min=1, max=300),
        FieldSpec(
            "originality", N_("Required originality, %"), F.INTEGER, required=False, min=0, max=100
        ),
        FieldSpec("deadline", N_("Deadline"), F.DATE, role="deadline"),
        FieldSpec("files", N_("Materials and guidelines"), F.FILES, required=False),
    ),
    execution_steps=(),
    prepayment_percent=50,
    uses_exchange=True,
    needs_review=True,
    guarantee_days=20,
)

PRINT_JOB = KindSpec(
    code="print_job",
    name=N_("Print job"),
    fields=(
        FieldSpec(
            "product",
            N_("Product"),
            F.CHOICE,
            choices=(
                N_("Business cards"),
                N_("Flyers"),
                N_("Booklets"),
                N_("Banner"),
                N_("Stickers"),
                N_("Souvenirs"),
                N_("Other"),
            ),
        ),
        FieldSpec("quantity", N_("Quantity"), F.INTEGER, min=1, max=1_000_000),
        FieldSpec("size", N_("Size"), F.TEXT),
        FieldSpec("material", N_("Material"), F.TEXT, required=False),
        FieldSpec("deadline", N_("Deadline"), F.DATE, role="deadline"),
        FieldSpec("files", N_("Layout files"), F.FILES, required=False),
        FieldSpec("outsourced", N_("Outsourced to a partner"), F.BOOLEAN, required=False),
    ),
    execution_steps=(),
    prepayment_percent=None,
    uses_exchange=False,
    needs_review=False,
    guarantee_days=0,
)

TRIP = KindSpec(
    code="trip",
    name=N_("Trip / special equipment"),
    fields=(
        FieldSpec(
            "request_type",
            N_("Request type"),
            F.CHOICE,
            choices=(
                N_("Cargo transportation"),
                N_("Passenger transportation"),
                N_("Materials delivery"),
                N_("Other machinery"),
            ),
        ),
        FieldSpec("pickup", N_("Pickup address"), F.TEXT),
        FieldSpec("dropoff", N_("Drop-off address"), F.TEXT, required=False),
        FieldSpec("scheduled_at", N_("Date and time"), F.DATETIME, role="scheduled_at"),
        FieldSpec("vehicle", N_("Vehicle requirements"), F.LONGTEXT, required=False),
    ),
    execution_steps=("accepted", "en_route", "on_site", "started", "finished"),
    prepayment_percent=None,
    uses_exchange=True,
    needs_review=False,
    guarantee_days=0,
)

BUILTIN_KINDS: tuple[KindSpec, ...] = (STUDENT_PAPER, PRINT_JOB, TRIP)

# Execution step labels (kinds may name their own; unknown names are shown as they are).
STEP_LABELS = {
    "accepted": N_("Accepted"),
    "en_route": N_("En route"),
    "on_site": N_("On site"),
    "started": N_("Work started"),
    "finished": N_("Finished"),
}


# --- checking a kind edited in the panel -------------------------------------------------

FIELD_KEY_MAX = 40
STEP_NAME_MAX = 64  # orders.step is VARCHAR(64)
LABEL_MAX = 200
GUARANTEE_DAYS_MAX = 365
ROLES = ("deadline", "scheduled_at")  # answers that become the order's deadline / time
SOURCES = ("skills",)  # a choice among the executors' skills instead of its own list
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
KEY_RULE = N_(
    "Use Latin small letters, digits and _ for the key, starting with a letter (at most {limit})."
)


@dataclass(frozen=True, slots=True)
class KindProblem:
    """Why an edited kind cannot be saved: a msgid with its values, and which intake field
    (its index) it is about, or None for the kind as a whole."""

    message: str
    field: int | None = None
    values: tuple[tuple[str, Any], ...] = ()

    def text(self, locale: str | None) -> str:
        return gettext(self.message, locale).format(**dict(self.values))


def check_kind(
    name: str,
    fields: Sequence[FieldSpec],
    execution_steps: Sequence[str],
    prepayment_percent: int | None,
    guarantee_days: int,
) -> list[KindProblem]:
    """Everything that would keep the wizard or the order lifecycle from using this kind;
    an empty list means it may be saved."""
    problems: list[KindProblem] = []
    if not name.strip():
        problems.append(KindProblem(N_("Give the kind a name.")))
    elif len(name) > LABEL_MAX:
        problems.append(KindProblem(N_("The name is too long: at most {limit} characters."),
                                    values=(("limit", LABEL_MAX),)))  # fmt: skip
    if not fields:
        problems.append(KindProblem(N_("A kind needs at least one field to ask.")))
    keys: set[str] = set()
    roles: set[str] = set()
    for index, field in enumerate(fields):
        problems += [KindProblem(msg, index, values) for msg, values in _field_problems(field)]
        if field.key in keys:
            problems.append(KindProblem(N_("Two fields have the key {key}."), index,
                                        (("key", field.key),)))  # fmt: skip
        keys.add(field.key)
        if field.role is not None:
            if field.role in roles:
                problems.append(KindProblem(N_("Only one field may set the {role}."), index,
                                            (("role", field.role),)))  # fmt: skip
            roles.add(field.role)
    problems += _step_problems(execution_steps)
    if prepayment_percent is not None and not 0 <= prepayment_percent <= 100:
        problems.append(KindProblem(N_("The prepayment is a percent from 0 to 100.")))
    if not 0 <= guarantee_days <= GUARANTEE_DAYS_MAX:
        problems.append(KindProblem(N_("The guarantee period is from 0 to {limit} days."),
                                    values=(("limit", GUARANTEE_DAYS_MAX),)))  # fmt: skip
    return problems


def _field_problems(field: FieldSpec) -> list[tuple[str, tuple[tuple[str, Any], ...]]]:
    found: list[tuple[str, tuple[tuple[str, Any], ...]]] = []
    if not _IDENTIFIER.match(field.key) or len(field.key) > FIELD_KEY_MAX:
        found.append((KEY_RULE, (("limit", FIELD_KEY_MAX),)))
    if not field.label.strip():
        found.append((N_("Give the field a label."), ()))
    elif len(field.label) > LABEL_MAX:
        found.append((N_("The label is too long: at most {limit} characters."),
                      (("limit", LABEL_MAX),)))  # fmt: skip
    if field.type is FieldType.CHOICE:
        if field.source is None and not field.choices:
            found.append((N_("A choice field needs its options (or the skills list)."), ()))
        if any(not choice.strip() for choice in field.choices):
            found.append((N_("An option must not be empty."), ()))
        if len(set(field.choices)) != len(field.choices):
            found.append((N_("The options repeat."), ()))
    if field.source is not None and (
        field.source not in SOURCES or field.type is not FieldType.CHOICE
    ):
        found.append((N_("Only a choice field may take its options from the skills list."), ()))
    if field.type is FieldType.INTEGER:
        if field.min is not None and field.max is not None and field.min > field.max:
            found.append((N_("The minimum is greater than the maximum."), ()))
    elif field.min is not None or field.max is not None:
        found.append((N_("Only a number field has a range."), ()))
    if field.skill and field.type is not FieldType.CHOICE:
        found.append((N_("Only a choice field can name the skill a job needs."), ()))
    if field.role is not None and (
        field.role not in ROLES or field.type not in (FieldType.DATE, FieldType.DATETIME)
    ):
        found.append((N_("Only a date field can be the deadline or the scheduled time."), ()))
    return found


def _step_problems(steps: Sequence[str]) -> list[KindProblem]:
    problems = []
    for step in steps:
        if not _IDENTIFIER.match(step) or len(step) > STEP_NAME_MAX:
            problems.append(KindProblem(
                N_("Step {step}: use Latin small letters, digits and _, starting with a letter."),
                values=(("step", step),),
            ))  # fmt: skip
    if len(set(steps)) != len(steps):
        problems.append(KindProblem(N_("The execution steps repeat.")))
    return problems
