"""Pricing rules: discount tiers, quote rounding, prepayment, and how money is written."""

from __future__ import annotations

import pytest

from core.pricing import (
    MAX_AMOUNT,
    Quote,
    check_currency,
    discount_for,
    format_money,
    make_quote,
)

TIERS = [(100_000_00, 1000), (10_000_00, 300), (50_000_00, 500)]  # deliberately unsorted
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("paid_total", "expected_bp"),
    [
        (0, 0),
        (10_000_00 - 1, 0),
        (10_000_00, 300),  # exactly at the threshold: the tier applies
        (10_000_00 + 1, 300),
        (50_000_00 - 1, 300),
        (50_000_00, 500),
        (100_000_00, 1000),
        (10**12, 1000),
    ],
)
def test_discount_is_the_highest_tier_reached(paid_total: int, expected_bp: int) -> None:
    assert discount_for(paid_total, TIERS) == expected_bp


def test_no_tiers_means_no_discount() -> None:
    assert discount_for(5_000_000_00, []) == 0


def test_a_zero_threshold_tier_applies_to_everyone() -> None:
    assert discount_for(0, [(0, 200), (1000, 400)]) == 200


@pytest.mark.parametrize(
    ("paid_total", "tiers"),
    [(-1, TIERS), (0, [(-5, 100)]), (0, [(10, 10_001)]), (0, [(10, -1)])],
)
def test_discount_rejects_nonsense(paid_total: int, tiers: list[tuple[int, int]]) -> None:
    with pytest.raises(ValueError):
        discount_for(paid_total, tiers)


def test_quote_without_discount_or_prepayment() -> None:
    assert make_quote(150_000, 0, None) == Quote(150_000, 0, 0, 150_000, 0)


def test_quote_applies_the_discount_and_prepayment() -> None:
    # 5 % off 1 500,00 is 75,00; half of the remaining 1 425,00 is 712,50.
    assert make_quote(150_000, 500, 50) == Quote(150_000, 500, 7_500, 142_500, 71_250)


def test_discount_rounds_down_to_a_kopeck() -> None:
    # 3 % of 0,99 ₽ is 2.97 kopecks: the discount is 2 kopecks, not 3.
    quote = make_quote(99, 300, None)
    assert (quote.discount_amount, quote.client_price) == (2, 97)


def test_discount_rounding_never_exceeds_the_exact_discount() -> None:
    for price in range(1, 2_000):
        quote = make_quote(price, 333, None)
        exact = price * 333 / 10_000
        assert quote.discount_amount <= exact < quote.discount_amount + 1
        assert quote.client_price + quote.discount_amount == price


def test_prepayment_rounds_up_to_a_kopeck() -> None:
    # 30 % of 1,01 ₽ is 30.3 kopecks: the client prepays 31.
    assert make_quote(101, 0, 30).prepayment_amount == 31
    assert make_quote(100, 0, 30).prepayment_amount == 30  # exact stays exact


def test_prepayment_percent_bounds() -> None:
    assert make_quote(12_345, 0, 0).prepayment_amount == 0
    assert make_quote(12_345, 0, 100).prepayment_amount == 12_345


def test_full_discount_makes_it_free() -> None:
    assert make_quote(12_345, 10_000, 100) == Quote(12_345, 10_000, 12_345, 0, 0)


@pytest.mark.parametrize(
    ("list_price", "discount_bp", "percent"),
    [(-1, 0, None), (100, -1, None), (100, 10_001, None), (100, 0, -1), (100, 0, 101)],
)
def test_quote_rejects_out_of_range_inputs(
    list_price: int, discount_bp: int, percent: int | None
) -> None:
    with pytest.raises(ValueError):
        make_quote(list_price, discount_bp, percent)


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        (123456, "RUB", "ru", f"1{NBSP}234,56{NBSP}₽"),
        (150000, "RUB", "ru", f"1{NBSP}500{NBSP}₽"),
        (5, "RUB", "ru", f"0,05{NBSP}₽"),
        (0, "RUB", "ru", f"0{NBSP}₽"),
        (123456789_10, "RUB", "ru", f"123{NBSP}456{NBSP}789,10{NBSP}₽"),
        (-123456, "RUB", "ru", f"-1{NBSP}234,56{NBSP}₽"),
        (123456, "KZT", "ru", f"1{NBSP}234,56{NBSP}KZT"),
        (123456, "RUB", "en", "₽1,234.56"),
        (150000, "USD", "en", "$1,500"),
        (-5, "EUR", "en", "-€0.05"),
        (123456, "KZT", "en", "1,234.56 KZT"),
        (123456, "RUB", "ru_RU", f"1{NBSP}234,56{NBSP}₽"),
        (123456, "RUB", "de", "₽1,234.56"),  # languages we do not write fall back to English
    ],
)
def test_format_money(amount: int, currency: str, locale: str, expected: str) -> None:
    assert format_money(amount, currency, locale) == expected


def test_format_money_defaults_to_russian() -> None:
    assert format_money(100, "RUB") == f"1{NBSP}₽"


@pytest.mark.parametrize("currency", ["rub", "RU", "RUBL", "R1B", "РУБ", ""])
def test_bad_currency_codes_are_refused(currency: str) -> None:
    with pytest.raises(ValueError):
        check_currency(currency)
    with pytest.raises(ValueError):
        format_money(100, currency)


def test_a_price_above_the_largest_amount_is_refused() -> None:
    assert make_quote(MAX_AMOUNT, 0, 50).client_price == MAX_AMOUNT
    with pytest.raises(ValueError, match="above the limit"):
        make_quote(MAX_AMOUNT + 1, 0, 50)
