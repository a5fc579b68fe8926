"""The working copy contact patterns are matched on: lower case, compatibility forms folded,
invisible characters dropped, spelled-out numbers and look-alike letters turned into digits
and Latin letters. Every character remembers the span of the original text it came from, so
a match on the copy masks exactly the original characters behind it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from inbox.masking_words import (
    CYRILLIC_TLDS,
    DIGIT_LOOKALIKES,
    HUNDRED_MULTIPLIER,
    HUNDREDS,
    LATIN_LOOKALIKES,
    TEENS,
    TENS,
    UNITS,
)

# Zero-width spaces, soft hyphens, combining strokes and accents carry no letter of their
# own; inside "8\u200b9\u200b1..." or "8̶9̶1̶" they only exist to break a pattern.
_INVISIBLE = frozenset({"Cf", "Mn", "Me"})
# NFKC would spell "№" as "No" and hide the order-number sign from the phone rules.
_KEEP_AS_IS = frozenset({"№"})

_WORD = re.compile(r"[^\W\d_]+")
# What may stand between two number words of one spelled-out number sequence.
_NUMBER_GAP = re.compile(r"[\s,.;:\-–—_/]{1,3}")
_DIGITISH = re.compile(
    rf"(?<![^\W\d_])[0-9{''.join(DIGIT_LOOKALIKES)}]+(?![^\W\d_])",
)
# "i v a n @ m a i l . r u": five or more single characters apart by single spaces.
_SPACED_OUT = re.compile(r"(?<!\S)\S(?: \S){4,}(?!\S)")
_DIGIT_BEFORE = re.compile(r"\d[\s\-.()/_]{0,3}$")
_DIGIT_AFTER = re.compile(r"[\s\-.()/_]{0,3}\d")
_CHUNK = re.compile(r"\S+")
_LATIN = re.compile(r"[a-z]")


@dataclass(frozen=True, slots=True)
class Shadow:
    """The normalised copy and, per character, the original span it stands for."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind the copy's characters `start:end` (non-empty)."""
        return self.starts[start], self.ends[end - 1]


class _Cells:
    """A mutable copy under construction: characters with their original spans."""

    __slots__ = ("chars", "ends", "starts")

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def text(self) -> str:
        return "".join(self.chars)

    def append(self, char: str, start: int, end: int) -> None:
        self.chars.append(char)
        self.starts.append(start)
        self.ends.append(end)

    def rewrite(self, edits: Iterable[tuple[int, int, str]]) -> _Cells:
        """Replace each `[i:j]` by a string; new characters stand for the whole old span.

        Edits must be sorted and must not overlap."""
        out, cursor = _Cells(), 0
        for i, j, replacement in edits:
            for k in range(cursor, i):
                out.append(self.chars[k], self.starts[k], self.ends[k])
            for char in replacement:
                out.append(char, self.starts[i], self.ends[j - 1])
            cursor = j
        for k in range(cursor, len(self.chars)):
            out.append(self.chars[k], self.starts[k], self.ends[k])
        return out

    def translate(self, start: int, end: int, table: dict[str, str]) -> None:
        for k in range(start, end):
            self.chars[k] = table.get(self.chars[k], self.chars[k])


def build_shadow(text: str) -> Shadow:
    """Normalise `text` for matching; see the module docstring for the steps."""
    cells = _fold(text)
    cells = _spell_out_numbers(cells)
    cells = _join_spaced_letters(cells)
    _digits_for_lookalikes(cells)
    _latin_for_lookalikes(cells)
    return Shadow(cells.text(), tuple(cells.starts), tuple(cells.ends))


def _fold(text: str) -> _Cells:
    cells = _Cells()
    for index, char in enumerate(text):
        folded = char if char in _KEEP_AS_IS else unicodedata.normalize("NFKC", char).lower()
        for part in folded:
            category = unicodedata.category(part)
            if category == "Pd":  # every dash (no-break hyphen, minus...) as "-"
                cells.append("-", index, index + 1)
            elif category not in _INVISIBLE:
                cells.append(part, index, index + 1)
            elif cells.chars:  # a mark goes with its letter: masking "8️⃣" takes both
                cells.ends[-1] = index + 1
    return cells


def _spell_out_numbers(cells: _Cells) -> _Cells:
    """Number words become digits: "восемь девятьсот шестнадцать" -> "8 916"."""
    text = cells.text()
    edits: list[tuple[int, int, str]] = []
    for run in _number_word_runs(text):
        groups = _compose(run)
        for (start, end, digits), following in zip(groups, [*groups[1:], None], strict=True):
            edits.append((start, end, digits))
            if following is not None:  # a plain space keeps the numbers apart
                edits.append((end, following[0], " "))
    return cells.rewrite(edits)


def _role(word: str) -> tuple[str, int] | None:
    for role, table in (("unit", UNITS), ("teen", TEENS), ("ten", TENS), ("hundred", HUNDREDS)):
        if word in table:
            return role, table[word]
    return ("times100", 100) if word == HUNDRED_MULTIPLIER else None


_Word = tuple[int, int, str, int]  # start, end, role, value


def _number_word_runs(text: str) -> list[list[_Word]]:
    """Maximal runs of number words separated only by short punctuation or spaces."""
    runs: list[list[_Word]] = []
    for match in _WORD.finditer(text):
        role = _role(match.group())
        if role is None:
            continue
        word = (match.start(), match.end(), *role)
        previous = runs[-1][-1] if runs else None
        if previous and _NUMBER_GAP.fullmatch(text, previous[1], match.start()):
            runs[-1].append(word)
        else:
            runs.append([word])
    return runs


def _compose(run: list[_Word]) -> list[tuple[int, int, str]]:
    """Group words the way they are said: hundreds, then tens or a teen, then a unit."""
    groups: list[tuple[int, int, str]] = []
    i = 0
    while i < len(run):
        start, end, role, value = run[i]
        i += 1
        if role == "unit" and i < len(run) and run[i][2] == "times100":
            value, end, role = value * 100, run[i][1], "hundred"
            i += 1
        accepts = {"hundred": ("ten", "teen", "unit"), "ten": ("unit",)}.get(role, ())
        while i < len(run) and run[i][2] in accepts and run[i][3] != 0:
            value, end = value + run[i][3], run[i][1]
            accepts = ("unit",) if run[i][2] == "ten" else ()
            i += 1
        groups.append((start, end, str(value)))
    return groups


def _join_spaced_letters(cells: _Cells) -> _Cells:
    """ "i v a n @ m a i l . r u" -> "ivan@mail.ru" when Latin letters are spaced out;
    Russian one-letter words ("а я в") are left alone."""
    text = cells.text()
    edits = [
        (k, k + 1, "")
        for match in _SPACED_OUT.finditer(text)
        if _LATIN.search(match.group())
        for k in range(match.start() + 1, match.end(), 2)
    ]
    return cells.rewrite(edits)


def _digits_for_lookalikes(cells: _Cells) -> None:
    """ "8916l23456O7" -> "89161234567", only in tokens that are mostly digits or that
    sit right next to digits ("+7 9l6 l2З 45 67")."""
    text = cells.text()
    for match in _DIGITISH.finditer(text):
        start, end = match.span()
        digits = sum(char.isdigit() for char in match.group())
        letters = end - start - digits
        mostly_digits = digits >= 2 and digits > letters
        next_to_digits = (
            _DIGIT_BEFORE.search(text, max(0, start - 4), start) is not None
            or _DIGIT_AFTER.match(text, end) is not None
        )
        if letters and digits and (mostly_digits or (letters <= 2 and next_to_digits)):
            cells.translate(start, end, DIGIT_LOOKALIKES)


def _latin_for_lookalikes(cells: _Cells) -> None:
    """Cyrillic look-alikes become Latin inside chunks that already hold Latin letters:
    in words with a Latin letter ("ivаn") and in words drawn only with look-alikes ("сом"
    in "site.сом"). Real Russian words there ("собака", "точка", "ру") stay as they are."""
    text = cells.text()
    for chunk in _CHUNK.finditer(text):
        if not _LATIN.search(chunk.group()):
            continue
        for word in _WORD.finditer(text, chunk.start(), chunk.end()):
            letters = word.group()
            all_lookalikes = all(char in LATIN_LOOKALIKES for char in letters)
            if _LATIN.search(letters) or (all_lookalikes and letters not in CYRILLIC_TLDS):
                cells.translate(word.start(), word.end(), LATIN_LOOKALIKES)
