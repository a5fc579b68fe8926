"""core.kinds.check_kind: what the kinds editor may save. Every built-in kind passes; each
mistake that would break the wizard or the lifecycle is named, on the right field."""

from __future__ import annotations

import pytest

from core.kinds import BUILTIN_KINDS, FieldSpec, FieldType, KindSpec, check_kind

F = FieldType


def _problems(fields: list[FieldSpec], steps: tuple[str, ...] = ()) -> list[tuple[int | None, str]]:
    return [(p.field, p.text("en")) for p in check_kind("Kind", fields, steps, None, 0)]


@pytest.mark.parametrize("kind", BUILTIN_KINDS, ids=lambda kind: kind.code)
def test_every_builtin_kind_passes(kind: KindSpec) -> None:
    problems = check_kind(
        kind.name, kind.fields, kind.execution_steps, kind.prepayment_percent, kind.guarantee_days
    )
    assert problems == []


@pytest.mark.parametrize(
    ("field", "fragment"),
    [
        (FieldSpec("Pages", "Pages", F.INTEGER), "Latin small letters"),
        (FieldSpec("pages", " ", F.INTEGER), "label"),
        (FieldSpec("pages", "Pages", F.INTEGER, min=10, max=1), "minimum is greater"),
        (FieldSpec("size", "Size", F.TEXT, min=1), "Only a number field has a range"),
        (FieldSpec("kind", "Kind", F.CHOICE), "needs its options"),
        (FieldSpec("kind", "Kind", F.CHOICE, choices=("A", "A")), "options repeat"),
        (FieldSpec("kind", "Kind", F.CHOICE, choices=("A", " ")), "must not be empty"),
        (FieldSpec("topic", "Topic", F.TEXT, source="skills"), "skills list"),
        (FieldSpec("topic", "Topic", F.TEXT, skill=True), "skill a job needs"),
        (FieldSpec("topic", "Topic", F.TEXT, role="deadline"), "Only a date field"),
        (FieldSpec("due", "Due", F.DATE, role="birthday"), "Only a date field"),
    ],
)  # fmt: skip
def test_a_field_mistake_is_named_on_that_field(field: FieldSpec, fragment: str) -> None:
    ok = FieldSpec("topic", "Topic", F.TEXT)

    problems = _problems([ok, field] if field.key != "topic" else [field])

    index = 1 if field.key != "topic" else 0
    assert any(at == index and fragment in text for at, text in problems), problems


def test_kind_wide_mistakes() -> None:
    due = FieldSpec("due", "Due", F.DATE, role="deadline")
    again = FieldSpec("due", "Again", F.DATETIME, role="deadline")

    problems = _problems([due, again], steps=("en_route", "en_route", "В пути"))

    assert (1, "Two fields have the key due.") in problems
    assert (1, "Only one field may set the deadline.") in problems
    assert (None, "The execution steps repeat.") in problems
    assert any(at is None and "Step В пути" in text for at, text in problems)
    assert [p.text("ru") for p in check_kind("", [], (), 120, 400)] == [
        "Дайте виду заказа название.",
        "У вида заказа должно быть хотя бы одно поле.",
        "Предоплата — процент от 0 до 100.",
        "Гарантийный срок — от 0 до 365 дней.",
    ]


def test_a_choice_from_the_skills_list_needs_no_options_of_its_own() -> None:
    discipline = FieldSpec("discipline", "Discipline", F.CHOICE, source="skills", skill=True)
    assert _problems([discipline]) == []
