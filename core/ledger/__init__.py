"""The double-entry ledger: each money operation is one transaction whose entries sum to
zero, on accounts created on first use. Balances are summed from entries, never stored.
Functions add rows and flush; the caller's unit of work commits. See docs/money.md."""

from core.ledger.accounts import (
    DEBIT_NORMAL,
    NEVER_NEGATIVE,
    InsufficientFunds,
    Operation,
    Source,
)
from core.ledger.operations import (
    accrue_executor,
    cash_in,
    cash_out,
    charge,
    hold_prepayment,
    move_balance,
    pay_executor,
    refund,
    release_hold,
    reverse_charge,
    settle_gateway,
    top_up,
)
from core.ledger.queries import (
    OrderMoney,
    balance,
    charged_total,
    order_money,
    paid_total,
    paid_totals,
    transaction_is_balanced,
    unbalanced_transaction_ids,
)

__all__ = [
    "DEBIT_NORMAL",
    "NEVER_NEGATIVE",
    "InsufficientFunds",
    "Operation",
    "OrderMoney",
    "Source",
    "accrue_executor",
    "balance",
    "cash_in",
    "cash_out",
    "charge",
    "charged_total",
    "hold_prepayment",
    "move_balance",
    "order_money",
    "paid_total",
    "paid_totals",
    "pay_executor",
    "refund",
    "release_hold",
    "reverse_charge",
    "settle_gateway",
    "top_up",
    "transaction_is_balanced",
    "unbalanced_transaction_ids",
]
