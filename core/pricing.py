"""Money rules that need no database: cumulative discount tiers, quotes (discount and
prepayment rounding) and how an amount is written for people. Amounts are integer minor
units (kopecks, cents) with a 3-letter currency code; floats never touch money."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BP_SCALE = 10_000  # basis points in 100 %

# Symbols we know how to write; any other currency is written with its ISO code.
_SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€"}
# CLDR's Russian separators (the same Babel prints), so texts match if outer layers use it.
_NBSP = "\u00a0"


def check_currency(currency: str) -> str:
    """Return `currency` if it looks like an ISO 4217 code (three capital Latin letters)."""
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise ValueError(f"currency must be a 3-letter ISO code, got {currency!r}")
    if not currency.isupper():
        raise ValueError(f"currency code must be upper case, got {currency!r}")
    return currency


def _check_bp(discount_bp: int) -> None:
    if not 0 <= discount_bp <= BP_SCALE:
        raise ValueError(f"discount_bp must be within 0..{BP_SCALE}, got {discount_bp}")


# The largest single amount Pult takes (a price, a payment, a ledger movement):
# 100,000,000 ₽ in kopecks. Far above any one order of the businesses Pult serves (a student
# paper, a print run, a machine with a driver), so it never stands in a real order's way,
# yet typing errors like 99,999,999,999,999 ₽ are refused in words; and sums of such
# amounts stay far inside the 64-bit columns (9.2·10^18) they are summed into.
MAX_AMOUNT = 10_000_000_000


def check_amount_limit(amount: int) -> None:
    if amount > MAX_AMOUNT:
        raise ValueError(f"{amount} minor units is above the limit of {MAX_AMOUNT}")


def discount_for(paid_total: int, tiers: Sequence[tuple[int, int]]) -> int:
    """The discount (basis points) of the highest tier whose threshold `paid_total` reached.

    `tiers` are (threshold, discount_bp) pairs in any order; no tier reached means 0."""
    if paid_total < 0:
        raise ValueError(f"paid_total cannot be negative, got {paid_total}")
    best_threshold, best_bp = -1, 0
    for threshold, discount_bp in tiers:
        if threshold < 0:
            raise ValueError(f"tier threshold cannot be negative, got {threshold}")
        _check_bp(discount_bp)
        if best_threshold < threshold <= paid_total:
            best_threshold, best_bp = threshold, discount_bp
    return best_bp


@dataclass(frozen=True, slots=True)
class Quote:
    """What the client is asked to pay for one order, all in minor units."""

    list_price: int
    discount_bp: int
    discount_amount: int
    client_price: int
    prepayment_amount: int


def make_quote(list_price: int, discount_bp: int, prepayment_percent: int | None) -> Quote:
    """Apply the discount and work out the prepayment.

    The discount rounds down to a whole kopeck: we never give away more than the tier
    promises, and the client pays less than one kopeck above the exact discounted price.
    The prepayment rounds up, so the prepaid share never falls short of the percent."""
    check_amount_limit(list_price)
    if list_price < 0:
        raise ValueError(f"list_price cannot be negative, got {list_price}")
    _check_bp(discount_bp)
    if prepayment_percent is not None and not 0 <= prepayment_percent <= 100:
        raise ValueError(f"prepayment_percent must be within 0..100, got {prepayment_percent}")
    discount_amount = list_price * discount_bp // BP_SCALE
    client_price = list_price - discount_amount
    percent = prepayment_percent or 0
    prepayment_amount = -(-client_price * percent // 100)  # ceil in integers
    return Quote(list_price, discount_bp, discount_amount, client_price, prepayment_amount)


def format_money(amount: int, currency: str, locale: str = "ru") -> str:
    """`123456, "RUB"` -> "1 234,56 ₽" in Russian (no-break spaces), "₽1,234.56" in English.

    Whole amounts drop the zero kopecks ("1 500 ₽"). Every currency is taken to have two
    decimal places. Languages other than Russian are written the English way."""
    check_currency(currency)
    sign = "-" if amount < 0 else ""
    units, minor = divmod(abs(amount), 100)
    symbol = _SYMBOLS.get(currency)
    if locale.lower().replace("-", "_").split("_")[0] == "ru":
        number = _grouped(units, _NBSP) + (f",{minor:02d}" if minor else "")
        return f"{sign}{number}{_NBSP}{symbol or currency}"
    number = _grouped(units, ",") + (f".{minor:02d}" if minor else "")
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency}"


def _grouped(units: int, separator: str) -> str:
    return f"{units:,}".replace(",", separator)
