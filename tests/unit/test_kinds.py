"""Order kinds are data: field specs survive the JSON round trip the database stores, and
the built-in kinds ask what the seed documents' businesses need."""

from __future__ import annotations

import pytest

from core.kinds import BUILTIN_KINDS, FieldSpec, FieldType, KindSpec


@pytest.mark.parametrize("kind", BUILTIN_KINDS, ids=lambda kind: kind.code)
def test_every_field_survives_the_json_round_trip(kind: KindSpec) -> None:
    for field in kind.fields:
        assert FieldSpec.from_json(field.to_json()) == field


def test_field_defaults_are_not_written_out() -> None:
    spec = FieldSpec("topic", "Topic", FieldType.TEXT)
    assert spec.to_json() == {"key": "topic", "label": "Topic", "type": "text", "required": True}


def test_builtin_kinds_carry_their_key_fields_and_rules() -> None:
    by_code = {kind.code: kind for kind in BUILTIN_KINDS}
    keys = {code: [field.key for field in kind.fields] for code, kind in by_code.items()}
    assert keys["student_paper"] == [
        "discipline", "work_type", "topic", "pages", "originality", "deadline", "files",
    ]  # fmt: skip
    assert keys["print_job"] == [
        "product", "quantity", "size", "material", "deadline", "files", "outsourced",
    ]  # fmt: skip
    assert keys["trip"] == ["request_type", "pickup", "dropoff", "scheduled_at", "vehicle"]
    assert len(by_code["trip"].fields[0].choices) == 4
    assert by_code["student_paper"].fields[0].skill
    pages = by_code["student_paper"].fields[3]
    assert (pages.type, pages.min, pages.max) == (FieldType.INTEGER, 1, 300)
    assert {field.role for kind in BUILTIN_KINDS for field in kind.fields} >= {
        "deadline", "scheduled_at",
    }  # fmt: skip
