"""How the panel matches what a person types: case-insensitive "contains" and "starts a
word" over names and texts (ILIKE on PostgreSQL, served by trigram indexes; LIKE over the
usual spellings on SQLite, whose LIKE folds ASCII only), phone numbers by their digits in
any format, and order numbers written as 1042, #1042 or №1042."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

# Phone numbers are stored as typed or normalised (+79123456789, 8 912 345-67-89, ...):
# these separators are dropped on both sides before comparing.
PHONE_SEPARATORS = (" ", "-", "(", ")", "+", ".")
_ORDER_NUMBER = re.compile(r"^\s*(?:#|№|N|No\.?)?\s*(\d{1,9})\s*$", re.IGNORECASE)
_PHONE_LIKE = re.compile(r"^[\d\s()+.\-]+$")
ESCAPE = "\\"
# Words shorter than this are initials: matched at the start of a word, not anywhere (and
# trigrams need three characters anyway).
MIN_CONTAINS = 3
# A column of a model or any expression.
Text = ColumnElement[Any] | QueryableAttribute[Any]


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def escape_like(text: str) -> str:
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def spellings(text: str) -> list[str]:
    """The forms a word is usually written in; SQLite's LIKE folds ASCII case only, so a
    Cyrillic query is tried as typed, lower, upper and capitalised."""
    forms = [text, text.lower(), text.upper(), text.capitalize(), text.title()]
    return list(dict.fromkeys(forms))


def contains(column: Text, text: str, dialect: str) -> ColumnElement[bool]:
    """`column` contains `text`, ignoring case."""
    return _like(column, [f"%{escape_like(t)}%" for t in _forms(text, dialect)], dialect)


def starts_word(column: Text, text: str, dialect: str) -> ColumnElement[bool]:
    """A word of `column` starts with `text` ("смир" finds "Анна Смирнова"), ignoring case."""
    patterns = []
    for form in _forms(text, dialect):
        escaped = escape_like(form)
        patterns += [f"{escaped}%", f"% {escaped}%"]
    return _like(column, patterns, dialect)


def name_matches(column: Text, text: str, dialect: str) -> ColumnElement[bool]:
    """A person's name as people type it: "Смирнова" anywhere in it, and several words in
    any order, each a part of the name ("Попов Алексей" finds "Алексей Попов"), a short one
    (an initial: "Попов А", "А. Попов") the start of a word. Every word but the initials is
    a "contains", so PostgreSQL's trigram index on the column still serves the search."""
    words = [word.strip(".,") for word in text.split()]
    words = [word for word in words if word]
    if len(words) <= 1:
        return contains(column, words[0] if words else text, dialect)
    return and_(
        *(
            contains(column, word, dialect)
            if len(word) >= MIN_CONTAINS
            else starts_word(column, word, dialect)
            for word in words
        )
    )


def _forms(text: str, dialect: str) -> list[str]:
    return [text] if dialect == "postgresql" else spellings(text)


def _like(column: Text, patterns: list[str], dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return or_(*(column.ilike(p, escape=ESCAPE) for p in patterns))
    return or_(*(column.like(p, escape=ESCAPE) for p in patterns))


def order_number(text: str) -> int | None:
    """1042, #1042 and №1042 are order 1042."""
    match = _ORDER_NUMBER.match(text)
    return int(match.group(1)) if match else None


def looks_like_phone(text: str, min_digits: int = 5) -> bool:
    return bool(_PHONE_LIKE.match(text)) and len(re.sub(r"\D", "", text)) >= min_digits


def phone_fragments(text: str) -> list[str]:
    """The digit strings a stored phone must contain to match what was typed: the digits,
    and without the trunk prefix when they start with 7 or 8 (+7 912 ... and 8 912 ... are
    one number), so any format finds any other."""
    digits = re.sub(r"\D", "", text)
    if not digits:
        return []
    fragments = [digits]
    if digits[0] in "78" and len(digits) >= 4:
        fragments.append(digits[1:])
    return fragments


def phone_digits(column: Text) -> ColumnElement[Any]:
    """The stored phone without separators (nested REPLACE works the same on both backends)."""
    expression: Any = column
    for separator in PHONE_SEPARATORS:
        expression = func.replace(expression, separator, "")
    return expression


def phone_matches(column: Text, text: str) -> ColumnElement[bool] | None:
    fragments = phone_fragments(text)
    if not fragments:
        return None
    digits = phone_digits(column)
    return or_(*(digits.like(f"%{fragment}%") for fragment in fragments))
