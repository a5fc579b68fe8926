"""Choosing the page language from Accept-Language."""

from __future__ import annotations

import pytest

from webapp.locale import accepted_languages


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", []),
        ("en", ["en"]),
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", ["ru", "ru", "en", "en"]),
        ("de;q=0.5, en;q=0.9", ["en", "de"]),
        ("fr, en;q=0", ["fr"]),
        ("*;q=0.1, en", ["en"]),
        ("en;q=abc, ru", ["ru"]),
    ],
)
def test_accepted_languages_in_order_of_preference(header: str, expected: list[str]) -> None:
    assert accepted_languages(header) == expected
