"""The panel's read models: the queries behind its pages, returning plain dataclasses.

Every function takes an `AsyncSession`, reads and never writes; permission checks are the
caller's (pass `only_assigned_to=<user id>` for a manager whom the setting restricts to
their own orders and conversations).

| module | functions |
|---|---|
| `inbox` | `inbox_page`, `inbox_rows` (+ `InboxFilters`, `InboxCursor`) |
| `search` | `search` |
| `orders` | `order_page`, `tab_counts`, `order_rows` (+ `OrderTab`, `TAB_STATUSES`, ...) |
| `card` / `threads` | `order_card`; `thread_messages` ("load older") |
| `clients` | `client_page`, `client_card`, `client_quick_search` (+ `client_money`) |
| `executors` | `executor_page`, `exchange_board` |

Indexes that keep them fast are in migration 0004; docs/panel.md, "Read models and
indexes", has the figures."""

from webapp.queries.card import ClientInfo, OrderCard, PersonRef, order_card
from webapp.queries.card_parts import BidView, HistoryEntry, LedgerLine, PaymentView
from webapp.queries.client_money import ClientMoney, client_money
from webapp.queries.clients import (
    ClientCard,
    ClientPage,
    ClientRow,
    ClientSort,
    client_card,
    client_page,
    client_quick_search,
)
from webapp.queries.executors import (
    BoardRow,
    ExecutorPage,
    ExecutorRow,
    exchange_board,
    executor_page,
)
from webapp.queries.inbox import (
    InboxCursor,
    InboxFilters,
    InboxPage,
    InboxRow,
    channels_with_people,
    inbox_page,
    inbox_rows,
)
from webapp.queries.orders import (
    TAB_STATUSES,
    OrderFilters,
    OrderPage,
    OrderRow,
    OrderSort,
    OrderTab,
    order_page,
    order_rows,
    tab_counts,
    tab_of,
)
from webapp.queries.search import ClientHit, ConversationHit, OrderHit, SearchResult, search
from webapp.queries.threads import (
    DeliveryFailure,
    FileView,
    MessageView,
    ThreadView,
    thread_messages,
)

__all__ = [
    "TAB_STATUSES",
    "BidView",
    "BoardRow",
    "ClientCard",
    "ClientHit",
    "ClientInfo",
    "ClientMoney",
    "ClientPage",
    "ClientRow",
    "ClientSort",
    "ConversationHit",
    "DeliveryFailure",
    "ExecutorPage",
    "ExecutorRow",
    "FileView",
    "HistoryEntry",
    "InboxCursor",
    "InboxFilters",
    "InboxPage",
    "InboxRow",
    "LedgerLine",
    "MessageView",
    "OrderCard",
    "OrderFilters",
    "OrderHit",
    "OrderPage",
    "OrderRow",
    "OrderSort",
    "OrderTab",
    "PaymentView",
    "PersonRef",
    "SearchResult",
    "ThreadView",
    "channels_with_people",
    "client_card",
    "client_money",
    "client_page",
    "client_quick_search",
    "exchange_board",
    "executor_page",
    "inbox_page",
    "inbox_rows",
    "order_card",
    "order_page",
    "order_rows",
    "search",
    "tab_counts",
    "tab_of",
    "thread_messages",
]
