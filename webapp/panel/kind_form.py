"""The order kinds editor's form: reading what the owner typed into a draft (kept as typed,
so a form with mistakes comes back as it was sent), and turning a draft into field specs
that core.kinds.check_kind judges. Labels of built-in kinds are English message ids shown
translated; a label sent back unchanged keeps its message id (and so its translations)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from multidict import MultiMapping

from core.i18n import N_, gettext
from core.kinds import FieldSpec, FieldType
from core.models import OrderKind
from webapp.panel.inputs import parse_count

MAX_FIELDS = 40

TYPE_LABELS = {
    FieldType.TEXT: N_("One line of text"),
    FieldType.LONGTEXT: N_("Free text"),
    FieldType.CHOICE: N_("Choice"),
    FieldType.INTEGER: N_("Whole number"),
    FieldType.DATE: N_("Date"),
    FieldType.DATETIME: N_("Date and time"),
    FieldType.BOOLEAN: N_("Yes / no"),
    FieldType.FILES: N_("Files"),
}
ROLE_LABELS = {"deadline": N_("the order's deadline"), "scheduled_at": N_("the order's time")}
NOT_A_NUMBER = N_("Enter a whole number.")


@dataclass
class FieldRow:
    """One intake field as typed in the form."""

    key: str = ""
    label: str = ""
    type: str = FieldType.TEXT.value
    required: bool = True
    minimum: str = ""
    maximum: str = ""
    choices: str = ""  # one per line
    source: str = ""  # "" or "skills"
    role: str = ""
    skill: bool = False
    delete: bool = False
    original_label: str = ""  # the stored label (a message id for built-in kinds)
    original_choices: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def blank(self) -> bool:
        return not (self.key.strip() or self.label.strip())


@dataclass
class KindDraft:
    name: str = ""
    original_name: str = ""
    steps: str = ""  # one per line
    prepayment: str = ""  # "" = no prepayment
    guarantee_days: str = "0"
    uses_exchange: bool = False
    needs_review: bool = True
    is_active: bool = True
    rows: list[FieldRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def draft_of(kind: OrderKind, locale: str) -> KindDraft:
    """The form for a stored kind, labels shown in the reader's language."""
    rows = []
    for data in kind.fields:
        spec = FieldSpec.from_json(data)
        choices = "\n".join(gettext(choice, locale) for choice in spec.choices)
        rows.append(
            FieldRow(
                key=spec.key, label=gettext(spec.label, locale), type=spec.type.value,
                required=spec.required, minimum=_text(spec.min), maximum=_text(spec.max),
                choices=choices, source=spec.source or "", role=spec.role or "",
                skill=spec.skill, original_label=spec.label,
                original_choices="\n".join(spec.choices),
            )
        )  # fmt: skip
    return KindDraft(
        name=gettext(kind.name, locale),
        original_name=kind.name,
        steps="\n".join(kind.execution_steps),
        prepayment=_text(kind.prepayment_percent),
        guarantee_days=str(kind.guarantee_days),
        uses_exchange=kind.uses_exchange,
        needs_review=kind.needs_review,
        is_active=kind.is_active,
        rows=rows,
    )


def draft_from_form(form: MultiMapping[Any]) -> KindDraft:
    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    def flag(name: str) -> bool:
        return form.get(name) == "1"

    rows = []
    for index in (str(v) for v in form.getall("field", [])[:MAX_FIELDS]):
        if not index.isdigit():
            continue
        p = f"f{index}-"
        rows.append(
            FieldRow(
                key=text(p + "key"), label=text(p + "label"), type=text(p + "type"),
                required=flag(p + "required"), minimum=text(p + "min"), maximum=text(p + "max"),
                choices=str(form.get(p + "choices", "")), source=text(p + "source"),
                role=text(p + "role"), skill=flag(p + "skill"), delete=flag(p + "delete"),
                original_label=str(form.get(p + "original_label", "")),
                original_choices=str(form.get(p + "original_choices", "")),
            )
        )  # fmt: skip
    return KindDraft(
        name=text("name"), original_name=str(form.get("original_name", "")),
        steps=str(form.get("steps", "")), prepayment=text("prepayment"),
        guarantee_days=text("guarantee_days"), uses_exchange=flag("uses_exchange"),
        needs_review=flag("needs_review"), is_active=flag("is_active"), rows=rows,
    )  # fmt: skip


def kept_rows(draft: KindDraft) -> list[FieldRow]:
    """The rows that become fields: not deleted, not left empty."""
    return [row for row in draft.rows if not row.delete and not row.blank]


def field_specs(draft: KindDraft, locale: str) -> list[FieldSpec] | None:
    """The specs of the kept rows, or None when a row cannot even be read (its errors are
    set on it): an unknown type, a range that is not a number."""
    specs: list[FieldSpec] = []
    for row in kept_rows(draft):
        try:
            kind = FieldType(row.type)
        except ValueError:
            row.errors.append(gettext(N_("Choose the field's type."), locale))
            continue
        try:
            minimum, maximum = _optional_int(row.minimum), _optional_int(row.maximum)
        except ValueError:
            row.errors.append(gettext(NOT_A_NUMBER, locale))
            continue
        is_choice = kind is FieldType.CHOICE
        specs.append(
            FieldSpec(
                key=row.key,
                label=_original(row.label, row.original_label, locale),
                type=kind,
                required=row.required,
                choices=_choices(row, locale) if is_choice and row.source != "skills" else (),
                source=row.source or None,
                min=minimum,
                max=maximum,
                skill=row.skill,
                role=row.role or None,
            )
        )
    if any(row.errors for row in draft.rows):
        return None
    return specs


def kind_name(draft: KindDraft, locale: str) -> str:
    return _original(draft.name, draft.original_name, locale)


def steps_of(draft: KindDraft) -> list[str]:
    return [line.strip() for line in draft.steps.splitlines() if line.strip()]


def whole(text: str) -> int | None:
    """A whole non-negative number typed in a form, else None."""
    return parse_count(text, max_digits=6)


def _choices(row: FieldRow, locale: str) -> tuple[str, ...]:
    originals = {gettext(choice, locale): choice for choice in row.original_choices.splitlines()}
    lines = [line.strip() for line in row.choices.splitlines() if line.strip()]
    return tuple(originals.get(line, line) for line in lines)


def _original(typed: str, original: str, locale: str) -> str:
    """The stored message id when the text came back as shown, else what was typed."""
    return original if original and typed == gettext(original, locale) else typed


def _optional_int(text: str) -> int | None:
    """None for an empty box; raises ValueError when it is not a whole number."""
    if not text:
        return None
    digits = text.removeprefix("-")
    if parse_count(digits) is None:
        raise ValueError(text)
    return int(text)


def _text(value: int | None) -> str:
    return "" if value is None else str(value)
