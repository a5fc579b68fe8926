"""The role permission matrix (docs/panel.md). Every panel route names one permission; a
role either has it or gets 403. READ_MONEY is checked inside pages (what of the money a
page shows); an operator has none of it and sees only the price the client was quoted.
Narrower rules (a manager who only sees assigned orders) are applied by the pages through
`Staff.only_assigned_to`."""

from __future__ import annotations

from enum import StrEnum

from core.models import StaffRole


class Permission(StrEnum):
    ACCOUNT = "account"  # one's own password and language: everyone signed in
    INBOX = "inbox"  # read conversations and orders' threads
    REPLY = "reply"  # write replies and internal notes, forward between threads
    ORDERS = "orders"  # order lists and the order card
    INTAKE = "intake"  # create orders and clients, edit order fields
    ORDER_STATUS = "order_status"  # status actions that move no money
    MONEY = "money"  # prices and quotes, recording payments, money-moving actions
    # Seeing money: prices beyond the client's, payments, ledger lines, balances, debts,
    # paid totals (and sorting clients by them). Pages check it; no route needs it alone.
    READ_MONEY = "read_money"
    ASSIGN = "assign"  # give an order without an executor to one (from a bid or directly)
    REASSIGN = "reassign"  # change an order's manager or an executor already assigned
    EXCHANGE = "exchange"  # the exchange board
    EXECUTORS = "executors"  # executors and applications: approve, reject, block
    CLIENTS = "clients"  # the client list and client cards
    MERGE_CLIENTS = "merge_clients"  # merge two client cards of one person (moves money)
    SETTINGS = "settings"  # order kinds, money rules, templates, digest, channels
    STAFF = "staff"  # staff accounts


_MANAGER = frozenset(Permission) - {Permission.SETTINGS, Permission.STAFF, Permission.REASSIGN}
_OPERATOR = frozenset(
    {
        Permission.ACCOUNT,
        Permission.INBOX,
        Permission.REPLY,
        Permission.ORDERS,
        Permission.INTAKE,
        Permission.CLIENTS,
    }
)

ROLE_PERMISSIONS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.OWNER: frozenset(Permission),
    StaffRole.MANAGER: _MANAGER,
    StaffRole.OPERATOR: _OPERATOR,
}


def permissions_of(role: StaffRole) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]
