"""Phone numbers on the normalised copy (see `masking_shadow`): digit chains with any
separators, minus the number-shaped things that are not phones (dates, standards, amounts,
order numbers). Yields `(kind, start, end)` in the copy's coordinates."""

from __future__ import annotations

import re
from collections.abc import Iterator

from inbox.masking_words import MESSENGER_CUES, PHONE_CUES

Hit = tuple[str, int, int]

# Digits with at most three separator characters between neighbours: "+7 (916) 123-45-67",
# "8 9 1 6 ...", "8_916_123". Commas and colons are not separators: they join list items,
# prices and times ("5, 7, 9", "1 500,50", "09:00"). The copy has every dash as "-".
_SEPARATOR = r"[\s\-.()/_*~|\\]"
_CHAIN = re.compile(rf"\+?\(?\d(?:{_SEPARATOR}{{0,3}}\d)*")
_DATE = r"(?:0?[1-9]|[12]\d|3[01])[./](?:0?[1-9]|1[0-2])(?:[./](?:19|20)?\d\d)?"
_CLOCK = r"(?:[01]?\d|2[0-4])[:.][0-5]\d"
# Number-shaped things that are not phones; blanked out before chains are looked for so a
# date or a standard's number never adds digits to a phone candidate.
_NOT_A_PHONE = re.compile(
    rf"(?<!\d)(?<!\d[./\-])(?:{_DATE}(?:\s*-\s*{_DATE})?"
    r"|(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"|(?:19|20)\d\d\s*[-/]\s*(?:(?:19|20)\d\d|\d\d)"
    rf"|{_CLOCK}\s*-\s*{_CLOCK})(?!\d)(?![./\-]\d)"
    r"|(?<![^\W\d_])(?:гост|снип|санпин|сп|ост|ту|iso|исо|din|en)(?:\s*р)?"
    r"(?:\s*(?:исо|iso|мэк|iec|en))*\s*\d{1,5}(?!\d)(?:\.\d{1,3}){0,4}(?:\s*-\s*\d{2,4})?"
)
_AMOUNT_AFTER = re.compile(
    r"\s*(?:₽|\$|€|%|руб|р\b|rub|usd|eur|тыс|млн|млрд|коп|шт|экз|стр|лист|мм|см|м\b|км|кг|"
    r"г\b|pcs|copies|pages)"
)
_AMOUNT_BEFORE = re.compile(r"(?:[$€₽]|руб\.?)\s*$")
_NUMBER_SIGN_BEFORE = re.compile(r"[№#]\s*$")
_PHONE_CUE = re.compile(rf"(?<![^\W\d_])(?:{PHONE_CUES}|{MESSENGER_CUES})(?![^\W\d_])")
_SHORT_LOCAL = re.compile(r"\d{3}[\s-]\d{2}[\s-]\d{2}")
_THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:[\s.]\d{3})+")
_RANGE_DASH = re.compile(r"\s*-\s*")
_DECIMAL = re.compile(r"\d{1,3}\.\d+")
# The non-blank stretches of one line inside a chain, each a candidate of its own.
_LINE = re.compile(r"\+?\(?\d[^\n]*\d|\d")


def find_phones(text: str) -> Iterator[Hit]:
    blanked = _NOT_A_PHONE.sub(lambda m: "\0" * len(m.group()), text)
    for match in _CHAIN.finditer(blanked):
        # A chain running over a line break is judged line by line first, so "Заказ 1042"
        # above a phone keeps its number. Two lines together count only if neither does
        # ("8916\n1234567"); a longer column of numbers is a list, not a phone.
        lines = list(_LINE.finditer(text, match.start(), match.end()))
        phones = [line.span() for line in lines if _is_phone(text, *line.span())]
        if not phones and len(lines) == 2 and _is_phone(text, *match.span()):
            phones = [match.span()]
        for start, end in phones:
            unclosed = text[start] == "(" and ")" not in text[start:end]
            yield "phone", start + unclosed, end


def _is_phone(text: str, start: int, end: int) -> bool:
    chain = text[start:end]
    before, after = text[max(0, start - 40) : start], text[end : end + 20]
    digits = sum(char.isdigit() for char in chain)
    if digits < 7 or _is_amount(chain, before, after):
        return False
    if digits < 10 and _NUMBER_SIGN_BEFORE.search(before):
        return False  # "заказ №1234567"
    if digits >= 10 or chain.startswith("+") or _SHORT_LOCAL.fullmatch(chain):
        return True
    # 7-9 digits is a local number only if the writer says it is one.
    return _PHONE_CUE.search(before) is not None


def _is_amount(chain: str, before: str, after: str) -> bool:
    """Prices, quantities and decimals: "15 000 000 руб", "15000000₽", "3.14159", and
    ranges of them: "150 000 - 200 000 рублей"."""
    if _DECIMAL.fullmatch(chain) or _AMOUNT_BEFORE.search(before):
        return True
    parts = _RANGE_DASH.split(chain)
    if len(parts) > 2 or not all(_is_quantity(part) for part in parts):
        return False
    if _AMOUNT_AFTER.match(after):
        return True
    # Without a unit only numbers grouped by thousands ("1 500 000"): "917 555-0134" is not.
    return all(_THOUSANDS.fullmatch(part) for part in parts)


def _is_quantity(part: str) -> bool:
    digits = sum(char.isdigit() for char in part)
    return digits <= 9 and (part.isdigit() or _THOUSANDS.fullmatch(part) is not None)
