"""Contact masking for relayed text: when a manager forwards a message between a client and
an executor, phones, e-mails, links, handles and "write me directly" requests are replaced
by a placeholder and every other character comes through unchanged. Pure functions.

Detection runs on a normalised copy (`masking_shadow`) with the patterns in
`masking_patterns`; replacements are applied to the original spans. See docs/masking.md."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal, cast

from inbox.masking_patterns import DETECTORS
from inbox.masking_shadow import build_shadow

Kind = Literal["phone", "email", "handle", "link", "messenger"]
DEFAULT_PLACEHOLDER = "[скрыто]"
# Masking can change what the neighbours of a masked span look like ("x.ru@name" leaves
# "[скрыто]@name", a new handle). Rounds repeat until nothing new is found; each round
# must cover more of the text, so this bound is only a guard.
_MAX_ROUNDS = 5

_Hit = tuple[str, int, int]  # kind, start, end in the original text


@dataclass(frozen=True, slots=True)
class Finding:
    """One masked contact: what it looked like and where it was in the original text."""

    kind: Kind
    span: tuple[int, int]
    original: str


@dataclass(frozen=True, slots=True)
class MaskResult:
    """The masked text and the findings, sorted by position, spans not overlapping."""

    text: str
    found: tuple[Finding, ...]


def mask_contacts(text: str, placeholder: str = DEFAULT_PLACEHOLDER) -> MaskResult:
    """Replace every contact in `text` by `placeholder`; see the module docstring."""
    hits = _detect(text)
    masked, pieces = _apply(text, hits, placeholder)
    for _ in range(_MAX_ROUNDS):
        offsets = [piece[0] for piece in pieces]
        grown = _merge([*hits, *(_back(hit, pieces, offsets) for hit in _detect(masked))])
        if _covered(grown) == _covered(hits):
            break
        hits = grown
        masked, pieces = _apply(text, hits, placeholder)
    found = tuple(
        Finding(cast(Kind, kind), (start, end), text[start:end]) for kind, start, end in hits
    )
    return MaskResult(masked, found)


def contains_contacts(text: str) -> bool:
    """True if `mask_contacts` would change `text`."""
    return bool(_detect(text))


def _detect(text: str) -> list[_Hit]:
    shadow = build_shadow(text)
    hits: list[_Hit] = []
    for detector in DETECTORS:
        for kind, start, end in detector(shadow.text):
            if end > start:
                original_start, original_end = _strip(text, *shadow.original_span(start, end))
                if original_end > original_start:
                    hits.append((kind, original_start, original_end))
    return _merge(hits)


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _merge(hits: list[_Hit]) -> list[_Hit]:
    """Overlapping or touching hits become one, named after the first (longest first)."""
    merged: list[_Hit] = []
    for kind, start, end in sorted(hits, key=lambda hit: (hit[1], -hit[2])):
        if merged and start <= merged[-1][2]:
            last = merged[-1]
            merged[-1] = (last[0], last[1], max(last[2], end))
        else:
            merged.append((kind, start, end))
    return merged


def _covered(hits: list[_Hit]) -> int:
    return sum(end - start for _, start, end in hits)


# A piece of masked text: (masked start, original start, original end, is a placeholder).
_Piece = tuple[int, int, int, bool]


def _apply(text: str, hits: list[_Hit], placeholder: str) -> tuple[str, list[_Piece]]:
    segments: list[tuple[str, int, int, bool]] = []
    cursor = 0
    for _, start, end in hits:
        if start > cursor:
            segments.append((text[cursor:start], cursor, start, False))
        segments.append((placeholder, start, end, True))
        cursor = end
    if cursor < len(text):
        segments.append((text[cursor:], cursor, len(text), False))
    pieces: list[_Piece] = []
    length = 0
    for piece_text, start, end, masked in segments:
        pieces.append((length, start, end, masked))
        length += len(piece_text)
    return "".join(segment[0] for segment in segments), pieces


def _back(hit: _Hit, pieces: list[_Piece], offsets: list[int]) -> _Hit:
    """A hit in the masked text, moved to the original text; placeholders count whole."""
    kind, start, end = hit
    first = pieces[bisect_right(offsets, start) - 1]
    last = pieces[bisect_right(offsets, end - 1) - 1]
    original_start = first[1] if first[3] else first[1] + start - first[0]
    original_end = last[2] if last[3] else last[1] + end - last[0]
    return kind, original_start, original_end
