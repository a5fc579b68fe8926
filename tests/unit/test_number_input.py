"""Counts and money typed into the bot wizard: digits with units and grouping, number
words, ranges (the larger end wins), bounds with their error codes, roubles as kopecks."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.pricing import MAX_AMOUNT, format_money
from handlers.numbers import NumberInputError, parse_int, parse_money, parse_number_words

# An independent speller, so the word tests do not reuse the parser's own tables.
RU_UNITS = (
    "ноль",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
)
RU_TENS = (
    "_",
    "_",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
)
RU_HUNDREDS = (
    "_",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
)
EN_UNITS = (
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
EN_TENS = ("_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def spell_ru(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    words = [RU_HUNDREDS[hundreds]] if hundreds else []
    if rest >= 20:
        words.append(RU_TENS[rest // 10])
        rest %= 10
    if rest or not words:
        words.append(RU_UNITS[rest])
    return " ".join(words)


def spell_en(n: int) -> str:
    if n < 20:
        return EN_UNITS[n]
    tens, units = divmod(n, 10)
    return EN_TENS[tens] + (f"-{EN_UNITS[units]}" if units else "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20", 20),
        (" 20 ", 20),
        ("20.", 20),
        ("20 страниц", 20),
        ("20 стр.", 20),
        ("20стр", 20),
        ("около 20", 20),
        ("примерно 20 страниц", 20),
        ("где-то 20", 20),
        ("~20", 20),
        ("~ 20", 20),
        ("до 20 листов", 20),
        ("не более 20", 20),
        ("20шт", 20),
        ("20 шт.", 20),
        ("3 экземпляра", 3),
        ("5 копий", 5),
        ("12 слайдов", 12),
        ("20 pages", 20),
        ("about 20 pages", 20),
        ("1 000", 1000),
        ("1\u00a0000", 1000),
        ("1\u202f000", 1000),
        ("1,000", 1000),  # three digits after the mark: grouping, not decimals
        ("1.000", 1000),
        ("1'000'000", 1_000_000),
        ("10 000 000", 10_000_000),
        ("1000,0", 1000),
        ("20.00", 20),
        ("0", 0),
        ("-5", -5),
        ("двадцать пять", 25),
        ("Двадцать Пять", 25),
        ("сто", 100),
        ("сто двадцать", 120),
        ("двести пять", 205),
        ("тысяча", 1000),
        ("две тысячи сто", 2100),
        ("около двадцати страниц", 20),
        ("около трёх страниц", 3),
        ("одну", 1),
        ("ноль", 0),
        ("twenty", 20),
        ("twenty-five", 25),
        ("a hundred", 100),
        ("one hundred and five", 105),
        ("two thousand", 2000),
        ("2 тыс", 2000),
        ("2 тыс.", 2000),
        ("1,5 тыс", 1500),
        ("3к", 3000),
        ("20-25", 25),
        ("20 - 25", 25),
        ("20–25 страниц", 25),
        ("25-20", 25),
        ("20...25", 25),
        ("от 20 до 25", 25),
        ("от 20 до 25 страниц", 25),
        ("20 стр - 25 стр", 25),
        ("около 20-25", 25),
        ("от двадцати до тридцати", 30),
        ("двадцать-тридцать", 30),
        ("from 20 to 25", 25),
    ],
)
def test_counts(text: str, expected: int) -> None:
    assert parse_int(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "abc",
        "2,5",
        "2.5",
        "0,500",
        "1,500,5",  # the same mark cannot group and start decimals
        "1,500,0",
        "двадцать десять",
        "сто сто",
        "1e3",
        "20 лет",  # not a unit a count is asked in
        "двадцать сто",
        "пять двадцать",
        "двадцать пятнадцать",
        "ноль пять",
        "двадцать ноль",
        "hundred",
        "a",
        "20-",
        "-",
        "20 25",
        "1,5",
        "1,5555 тыс",  # 1555.5 is still a fraction
    ],
)
def test_unreadable_counts(text: str) -> None:
    with pytest.raises(NumberInputError) as caught:
        parse_int(text)
    assert caught.value.code == "unrecognized"
    assert str(caught.value) == "unrecognized"


@pytest.mark.parametrize(
    ("text", "code"),
    [("0", "too_small"), ("-3", "too_small"), ("101", "too_large"), ("20-101", "too_large")],
)
def test_bounds_are_inclusive_and_carried_by_the_error(text: str, code: str) -> None:
    assert parse_int("1", minimum=1, maximum=100) == 1
    assert parse_int("100", minimum=1, maximum=100) == 100
    with pytest.raises(NumberInputError) as caught:
        parse_int(text, minimum=1, maximum=100)
    assert (caught.value.code, caught.value.minimum, caught.value.maximum) == (code, 1, 100)


def test_unrecognized_also_carries_the_bounds() -> None:
    with pytest.raises(NumberInputError) as caught:
        parse_int("много", minimum=1, maximum=500)
    assert (caught.value.code, caught.value.minimum, caught.value.maximum) == (
        "unrecognized",
        1,
        500,
    )


def test_one_bound_alone() -> None:
    assert parse_int("5", minimum=1) == 5
    assert parse_int("-5", maximum=10) == -5
    with pytest.raises(NumberInputError) as caught:
        parse_int("11", maximum=10)
    assert (caught.value.code, caught.value.minimum) == ("too_large", None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("пять", 5), ("сорок два", 42), ("девяносто девять", 99), ("не число", None), ("", None)],
)
def test_number_words(text: str, expected: int | None) -> None:
    assert parse_number_words(text) == expected


@given(st.integers(min_value=0, max_value=999))
def test_russian_words_up_to_999(n: int) -> None:
    assert parse_int(spell_ru(n)) == n


@given(st.integers(min_value=0, max_value=99))
def test_english_words_up_to_99(n: int) -> None:
    assert parse_int(spell_en(n)) == n


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_any_int_reads_back_plain_and_grouped(n: int) -> None:
    grouped = f"{n:,}"
    assert parse_int(str(n)) == n
    assert parse_int(grouped) == n
    assert parse_int(grouped.replace(",", " ")) == n
    assert parse_int(grouped.replace(",", "\u00a0")) == n
    assert parse_int(grouped.replace(",", ".")) == n
    assert parse_int(f"  {n} шт. ") == n


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_a_range_is_its_larger_end(low: int, high: int) -> None:
    assert parse_int(f"{low}-{high}") == max(low, high)
    assert parse_int(f"от {low} до {high} страниц") == max(low, high)


@given(
    st.integers(min_value=-1000, max_value=1000),
    st.integers(min_value=-1000, max_value=1000),
    st.integers(min_value=0, max_value=2000),
)
def test_bounds_decide_the_code(n: int, minimum: int, span: int) -> None:
    maximum = minimum + span
    if n < minimum:
        expected: str | int = "too_small"
    elif n > maximum:
        expected = "too_large"
    else:
        expected = n
    try:
        got: str | int = parse_int(str(n), minimum=minimum, maximum=maximum)
    except NumberInputError as error:
        got = error.code
    assert got == expected


@pytest.mark.parametrize(
    ("text", "kopecks"),
    [
        ("1500", 150_000),
        ("1 500 ₽", 150_000),
        ("1500₽", 150_000),
        ("1500 руб", 150_000),
        ("1500 руб.", 150_000),
        ("1500 рублей", 150_000),
        ("1500р", 150_000),
        ("1500.50", 150_050),
        ("1500,5", 150_050),
        ("1 500,50 р.", 150_050),
        ("0,99", 99),
        ("15к", 1_500_000),
        ("15 к", 1_500_000),
        ("15k", 1_500_000),
        ("15 тыс", 1_500_000),
        ("15 тыс. руб.", 1_500_000),
        ("1,5 тыс", 150_000),
        ("2 млн", 200_000_000),
        ("пятнадцать тысяч рублей", 1_500_000),
        ("около 1500", 150_000),
        ("₽1,234.56", 123_456),
        ("1,500", 150_000),  # three digits after the mark: grouping
        ("1 500 RUB", 150_000),
    ],
)
def test_money(text: str, kopecks: int) -> None:
    assert parse_money(text) == kopecks


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("abc", "unrecognized"),
        ("", "unrecognized"),
        ("1500.505", "unrecognized"),  # no fractions of a kopeck
        ("1.500.50", "unrecognized"),  # the same mark cannot group and start decimals
        ("1000-1500", "unrecognized"),  # a price is one number
        ("$100", "unrecognized"),
        ("100 евро", "unrecognized"),
        ("0", "too_small"),
        ("0,00 ₽", "too_small"),
        ("-100", "too_small"),
        ("99 999 999 999 999", "too_large"),  # was accepted as a price
        ("100 000 000,01 ₽", "too_large"),
    ],
)
def test_money_errors(text: str, code: str) -> None:
    with pytest.raises(NumberInputError) as caught:
        parse_money(text)
    assert caught.value.code == code


def test_the_largest_amount_is_100_million_roubles() -> None:
    assert parse_money("100 000 000 ₽") == MAX_AMOUNT == 100_000_000 * 100


@given(st.integers(min_value=1, max_value=MAX_AMOUNT), st.sampled_from(["ru", "en"]))
def test_money_reads_back_what_format_money_writes(kopecks: int, locale: str) -> None:
    assert parse_money(format_money(kopecks, "RUB", locale)) == kopecks


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=99))
def test_roubles_and_kopecks(roubles: int, kopecks: int) -> None:
    expected = roubles * 100 + kopecks
    assume(0 < expected <= MAX_AMOUNT)
    grouped = f"{roubles:,}".replace(",", " ")
    assert parse_money(f"{roubles}.{kopecks:02d}") == expected
    assert parse_money(f"{grouped},{kopecks:02d} ₽") == expected


# Pieces of real inputs glued at random reach far more of the parser than random text.
NUMBER_PIECES = st.sampled_from(
    [*"0123456789.,- ~₽к", "двадцать ", "сто ", "тысяч ", "от ", " до ", "стр", "руб"]
)
number_like_texts = st.lists(NUMBER_PIECES, max_size=12).map("".join)


@given(st.one_of(st.text(), number_like_texts))
def test_any_text_is_a_count_or_a_coded_error(text: str) -> None:
    try:
        found = parse_int(text, minimum=0, maximum=10**6)
    except NumberInputError as error:
        assert error.code in ("unrecognized", "too_small", "too_large")
        assert (error.minimum, error.maximum) == (0, 10**6)
    else:
        assert 0 <= found <= 10**6


@given(st.one_of(st.text(), number_like_texts))
def test_any_text_is_money_or_a_coded_error(text: str) -> None:
    try:
        found = parse_money(text)
    except NumberInputError as error:
        assert error.code in ("unrecognized", "too_small")
    else:
        assert found > 0


@pytest.mark.parametrize("text", ["9" * 5000, "1" * 101])
def test_huge_inputs_are_refused_as_unreadable(text: str) -> None:
    for parse in (parse_int, parse_money):
        with pytest.raises(NumberInputError) as caught:
            parse(text)
        assert caught.value.code == "unrecognized"
