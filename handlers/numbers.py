"""Parse the counts and money amounts people type into a bot wizard:
"20 стр.", "около 20", "1 000", "двадцать пять", "20-25", "1 500,50 ₽", "15к"."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Literal

from core.pricing import MAX_AMOUNT

NumberErrorCode = Literal["unrecognized", "too_small", "too_large"]


class NumberInputError(ValueError):
    """The text is not a number the field accepts; `code` says why, for a translated reply."""

    def __init__(
        self, code: NumberErrorCode, minimum: int | None = None, maximum: int | None = None
    ) -> None:
        super().__init__(code)
        self.code: NumberErrorCode = code
        self.minimum = minimum
        self.maximum = maximum


# Russian number words in every case a client plausibly types: nominative ("двадцать"),
# accusative ("одну") and genitive, which follows "около"/"от"/"до" ("около двадцати").
_RU_WORDS: dict[int, tuple[str, ...]] = {
    0: ("ноль", "нуль"),
    1: ("один", "одна", "одно", "одну", "одного", "одной"),
    2: ("два", "две", "двух"),
    3: ("три", "трех"),
    4: ("четыре", "четырех"),
    5: ("пять", "пяти"),
    6: ("шесть", "шести"),
    7: ("семь", "семи"),
    8: ("восемь", "восьми"),
    9: ("девять", "девяти"),
    10: ("десять", "десяти"),
    11: ("одиннадцать", "одиннадцати"),
    12: ("двенадцать", "двенадцати"),
    13: ("тринадцать", "тринадцати"),
    14: ("четырнадцать", "четырнадцати"),
    15: ("пятнадцать", "пятнадцати"),
    16: ("шестнадцать", "шестнадцати"),
    17: ("семнадцать", "семнадцати"),
    18: ("восемнадцать", "восемнадцати"),
    19: ("девятнадцать", "девятнадцати"),
    20: ("двадцать", "двадцати"),
    30: ("тридцать", "тридцати"),
    40: ("сорок", "сорока"),
    50: ("пятьдесят", "пятидесяти"),
    60: ("шестьдесят", "шестидесяти"),
    70: ("семьдесят", "семидесяти"),
    80: ("восемьдесят", "восьмидесяти"),
    90: ("девяносто", "девяноста"),
    100: ("сто", "ста"),
    200: ("двести", "двухсот"),
    300: ("триста", "трехсот"),
    400: ("четыреста", "четырехсот"),
    500: ("пятьсот", "пятисот"),
    600: ("шестьсот", "шестисот"),
    700: ("семьсот", "семисот"),
    800: ("восемьсот", "восьмисот"),
    900: ("девятьсот", "девятисот"),
}
_EN_UNITS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_EN_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

_WORD_VALUES: dict[str, int] = {
    **{form: value for value, forms in _RU_WORDS.items() for form in forms},
    **{word: value for value, word in enumerate(_EN_UNITS)},
    **{word: 20 + 10 * i for i, word in enumerate(_EN_TENS)},
}
_THOUSAND_WORDS = frozenset({"тысяча", "тысячу", "тысячи", "тысяч", "тыс", "thousand"})
# Multipliers written after digits: "15к", "15 тыс", "2 thousand", "1,5 млн".
_MULTIPLIERS: dict[str, int] = {
    **dict.fromkeys(_THOUSAND_WORDS | {"к", "k", "тыщ", "тыщи"}, 1000),
    **dict.fromkeys(("млн", "миллион", "миллиона", "миллионов", "million", "mln"), 10**6),
}

# Grouped thousands ("1 000", "1,000", "1.000", "1'000") or plain digits, then an
# optional decimal part. A separator followed by exactly three digits is read as
# grouping, so "1,500" is 1500 both ways; "1,5" and "1,50" are decimals.
_NUMBER = re.compile(
    r"(?P<sign>[-−]?)"
    r"(?P<int>[1-9][0-9]{0,2}(?:(?P<sep>[ .,'’])[0-9]{3})(?:(?P=sep)[0-9]{3})*|[0-9]+)"
    r"(?:(?P<dsep>[.,])(?P<frac>[0-9]+))?"
)
_APPROXIMATELY = re.compile(
    r"^(?:(?:около|примерно|приблизительно|где-?\s?то|порядка|до|не\s+более|не\s+больше|"
    r"максимум|about|around|approximately|approx|roughly|up\s+to|max)\s+|[~≈]\s*)+"
)
# Units the wizard's count fields are asked in; anything else after a number is refused
# so "20 лет" in a page field is not silently taken as 20 pages.
_UNIT = re.compile(
    r"\s*\b(?:стр|страниц[аыу]?|лист(?:а|ов)?|шт|штук[аи]?|экз|экземпляр(?:а|ов)?|"
    r"копи[йия]|слайд(?:а|ов)?|pages?|pp|pcs|pieces?|copies|copy|sheets?|slides?)$"
)
_RANGE = re.compile(
    r"^(?:(?:от|from)\s+)?(?P<low>.+?)(?:\s*(?:-|–|—|\.\.\.?|…)\s*|\s+(?:до|to)\s+)(?P<high>.+)$"
)
_ROUBLES = re.compile(r"\s*(?<![^\W\d_])(?:₽|руб(?:л(?:ей|я|ь))?|р|rub|rur|roubles?|rubles?)$")
_ROUBLE_PREFIX = re.compile(r"^₽\s*")
# Nobody types a count or a price this long; the cap also keeps int() away from
# digit strings past Python's conversion limit.
_MAX_LENGTH = 100


def normalize(text: str) -> str:
    """Lower-case, "ё" as "е", single spaces, no trailing punctuation or abbreviation dots."""
    text = text.lower().replace("ё", "е").replace("\u00a0", " ").replace("\u202f", " ")
    text = re.sub(r"([^\W\d_])\.", r"\1 ", text)  # "стр." and "тыс." end with a dot
    text = re.sub(r"([0-9])([^\W\d_])", r"\1 \2", text)  # "20шт" -> "20 шт", "15к" -> "15 к"
    # English compounds ("twenty-five"); Russian ones never take a hyphen, so there
    # "двадцать-тридцать" stays a range.
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)
    return re.sub(r"\s+", " ", text).strip().rstrip(".!?;:, ")


def parse_number_words(text: str) -> int | None:
    """`"двадцать пять"`, `"две тысячи сто"`, `"one hundred and five"` -> int; else None."""
    words = [word for word in normalize(text).split() if word != "and"]
    if not words:
        return None
    if any(word in _THOUSAND_WORDS for word in words):
        at = next(i for i, word in enumerate(words) if word in _THOUSAND_WORDS)
        thousands = _words_below_thousand(words[:at]) if at else 1
        rest = _words_below_thousand(words[at + 1 :]) if at + 1 < len(words) else 0
        if thousands is None or rest is None or thousands == 0:
            return None
        return thousands * 1000 + rest
    return _words_below_thousand(words)


def _words_below_thousand(words: list[str]) -> int | None:
    # Each word must be smaller than the place the previous one left open:
    # hundreds, then tens, then units ("сто двадцать пять"), never "двадцать сто".
    total, limit = 0, 1000
    for i, word in enumerate(words):
        if word == "hundred" and 0 < total < 10 and limit == 0:
            total, limit = total * 100, 100
            continue
        value = 1 if word in ("a", "an") and i + 1 < len(words) else _WORD_VALUES.get(word)
        if value is None or value >= limit or (value == 0 and len(words) > 1):
            return None
        total += value
        limit = 100 if value >= 100 else 10 if value >= 20 and value % 10 == 0 else 0
    return total


def _parse_amount(text: str) -> Fraction | None:
    """One quantity: digits with an optional multiplier ("1,5 тыс") or number words."""
    text = text.strip()
    if len(text) > _MAX_LENGTH:
        return None
    parts = text.rsplit(" ", 1)
    multiplier = _MULTIPLIERS.get(parts[-1], 1) if len(parts) == 2 else 1
    literal = parts[0] if multiplier != 1 else text
    match = _NUMBER.fullmatch(literal)
    if match is None:
        words = parse_number_words(text)
        return None if words is None else Fraction(words)
    if match["dsep"] and match["dsep"] == match["sep"]:
        return None  # "1,500,5": the same mark cannot both group and start decimals
    whole = int(re.sub(r"[^0-9]", "", match["int"]))
    frac = match["frac"] or ""
    value = Fraction(whole) + (Fraction(int(frac), 10 ** len(frac)) if frac else 0)
    return (-value if match["sign"] else value) * multiplier


def _parse_quantity(text: str) -> Fraction | None:
    """A quantity or a range of them; a range counts as its larger end."""
    text = _UNIT.sub("", _APPROXIMATELY.sub("", normalize(text)))
    single = _parse_amount(text)
    if single is not None:
        return single
    # Clients give a range of pages ("20-25"); the quote must cover the larger number.
    match = _RANGE.match(text)
    if match is None:
        return None
    low = _parse_amount(_UNIT.sub("", match["low"]))
    high = _parse_amount(match["high"])
    return None if low is None or high is None else max(low, high)


def parse_int(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole count: "20", "20 стр.", "около 20", "1 000", "двадцать пять", "20-25" -> 25.

    Fractions are refused ("2,5"), but zero decimals pass ("1000,0"). Bounds are inclusive."""
    value = _parse_quantity(text)
    if value is None or value.denominator != 1:
        raise NumberInputError("unrecognized", minimum, maximum)
    number = int(value)
    if minimum is not None and number < minimum:
        raise NumberInputError("too_small", minimum, maximum)
    if maximum is not None and number > maximum:
        raise NumberInputError("too_large", minimum, maximum)
    return number


def parse_money(text: str) -> int:
    """An amount in roubles as kopecks: "1 500 ₽" -> 150000, "1500.50" -> 150050, "15к".

    Ranges are refused here: a price is one number. Amounts must be above zero and at
    most `core.pricing.MAX_AMOUNT` (100,000,000 ₽): "too_large" with that maximum."""
    cleaned = _ROUBLES.sub("", _ROUBLE_PREFIX.sub("", normalize(text)))
    value = _parse_amount(_APPROXIMATELY.sub("", cleaned))
    if value is None or (value * 100).denominator != 1:
        raise NumberInputError("unrecognized", 1, None)
    if value <= 0:
        raise NumberInputError("too_small", 1, None)
    if value * 100 > MAX_AMOUNT:
        raise NumberInputError("too_large", 1, MAX_AMOUNT)
    return int(value * 100)
