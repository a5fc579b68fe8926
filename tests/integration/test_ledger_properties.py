"""Random sequences of ledger operations against a plain-Python model: after every step the
books balance, no protected balance is negative, and every balance equals the model's own
arithmetic. The model alone decides which operations must be refused.

Each example runs in its own event loop (asyncio.Runner) with its own engine, since the
property test is synchronous; the ledger tables are emptied at its start."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import sqlalchemy as sa
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.ledger import InsufficientFunds, Source
from core.models import AccountKind, Client, Executor, Order, OrderKind
from runtime.database import create_engine, session_factory

# The test's own view of the chart of accounts, written out rather than imported, so that a
# wrong constant in core.ledger cannot make the model agree with it.
DEBIT_NORMAL = {"cash_desk", "gateway_clearing", "expenses"}
NEVER_NEGATIVE = {
    "client_balance",
    "order_hold",
    "executor_payable",
    "cash_desk",
    "gateway_clearing",
}

CURRENCIES = ["RUB", "USD"]
DESKS = ["cash", "bank"]
GATEWAYS = ["yookassa", "stripe"]
ORDER_CLIENT = [0, 0, 1]  # order index -> client index

Key = tuple[str, str, str]  # kind, ref, currency
Pair = tuple[Any, str]  # (an order, client or executor index, or a desk or gateway; currency)
Choice = tuple[Pair, int]  # what to spend from, and how much
Op = Callable[[AsyncSession], Awaitable[object]]

currencies = st.sampled_from(CURRENCIES)
desks = st.sampled_from(DESKS)
gateways = st.sampled_from(GATEWAYS)
amounts = st.integers(1, 5_000)


@dataclass(frozen=True)
class Spend:
    """How a spending rule chooses: which of its accounts (`pick`), whether to prefer one
    that has money (else a hold and a charge would rarely meet on the same order), and how
    much: a number, or exactly the balance, or one kopeck over it, where bugs live."""

    pick: int
    funded: bool
    amount: int | str


spends = st.builds(
    Spend, st.integers(0, 11), st.booleans(), st.one_of(amounts, st.sampled_from(["all", "all+1"]))
)

ORDERS = [(o, cur) for o in range(len(ORDER_CLIENT)) for cur in CURRENCIES]
CLIENTS = [(c, cur) for c in range(2) for cur in CURRENCIES]
EXECUTORS = CLIENTS  # two of each
DESK_CURS = [(d, cur) for d in DESKS for cur in CURRENCIES]
GATEWAY_CURS = [(g, cur) for g in GATEWAYS for cur in CURRENCIES]


@dataclass(frozen=True)
class World:
    clients: list[int]
    orders: list[int]
    executors: list[int]


async def _create_world(url: str) -> World:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            people = [Client(name="A"), Client(name="B")]
            workers = [Executor(name="X"), Executor(name="Y")]
            session.add_all([*people, *workers])
            await session.flush()
            kind_id = await session.scalar(sa.select(sa.func.min(OrderKind.id)))
            jobs = [
                Order(number=2000 + i, kind_id=kind_id, client_id=people[c].id)
                for i, c in enumerate(ORDER_CLIENT)
            ]
            session.add_all(jobs)
            await session.commit()
            return World([p.id for p in people], [j.id for j in jobs], [w.id for w in workers])
    finally:
        await engine.dispose()


class LedgerMachine(RuleBasedStateMachine):
    url: ClassVar[str]
    world: ClassVar[World]

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.engine = create_engine(self.url)
        self.sessions = session_factory(self.engine)
        self.runner.run(self._reset())
        self.model: defaultdict[Key, int] = defaultdict(int)
        self.charged_to: defaultdict[tuple[int, str], int] = defaultdict(int)
        self.paid_in: defaultdict[tuple[int, str], int] = defaultdict(int)
        self.charged: defaultdict[Pair, int] = defaultdict(int)
        self.transactions = 0
        self.setup: list[Op] | None = None  # operations collected by open_the_books

    def teardown(self) -> None:
        self.runner.run(self.engine.dispose())
        self.runner.close()

    async def _reset(self) -> None:
        # Accounts stay: they are only names, balances live in entries, and creating them
        # again in every example made the test twice as slow (test_ledger covers first use).
        async with self.engine.begin() as conn:
            for table in ("ledger_entries", "ledger_transactions", "payments"):
                await conn.execute(sa.text(f"DELETE FROM {table}"))

    # --- keys and amounts ----------------------------------------------------------

    def _client(self, i: int, cur: str) -> Key:
        return ("client_balance", str(self.world.clients[i]), cur)

    def _hold(self, i: int, cur: str) -> Key:
        return ("order_hold", str(self.world.orders[i]), cur)

    def _payable(self, i: int, cur: str) -> Key:
        return ("executor_payable", str(self.world.executors[i]), cur)

    def _choose(self, options: list[Pair], drawn: Callable[[Pair], Key], spend: Spend) -> Choice:
        funded = [o for o in options if self.model[drawn(o)] > 0] if spend.funded else []
        pool = funded or options
        option = pool[spend.pick % len(pool)]
        balance = self.model[drawn(option)]
        if spend.amount == "all":
            return option, max(balance, 1)
        if spend.amount == "all+1":
            return option, balance + 1
        assert isinstance(spend.amount, int)
        return option, spend.amount

    # --- rules: money in, and moves that cannot overdraw ----------------------------

    @initialize(seed=st.lists(amounts, min_size=8, max_size=8))
    def open_the_books(self, seed: list[int]) -> None:
        # Start with money everywhere, else random spending would be mostly refusals. One
        # unit of work for all of it keeps the examples fast.
        self.setup = []
        amount = iter(seed)
        for client, cur in CLIENTS:
            self.top_up(client, next(amount), cur, "bank", "yookassa", via_desk=client == 0)
        for desk in DESKS:
            self.cash_in(desk, next(amount), "RUB")
        for executor in (0, 1):
            self.accrue(executor, executor, next(amount), "RUB")
        for order, client in enumerate(ORDER_CLIENT):  # and prepayments to charge from
            half = max(self.model[self._client(client, "RUB")] // 2, 1)
            self.hold(Spend(pick=order * len(CURRENCIES), funded=False, amount=half))
        operations, self.setup = self.setup, None
        refusal, _ = self.runner.run(self._unit_of_work(*operations))
        assert refusal is None

    @rule(client=st.integers(0, 1), amount=amounts, cur=currencies, desk=desks,
          gateway=gateways, via_desk=st.booleans())  # fmt: skip
    def top_up(
        self, client: int, amount: int, cur: str, desk: str, gateway: str, via_desk: bool
    ) -> None:
        source = Source.desk(desk) if via_desk else Source.gateway(gateway)
        kind = "cash_desk" if via_desk else "gateway_clearing"
        cid = self.world.clients[client]
        if self._apply(
            lambda s: ledger.top_up(s, cid, amount, cur, source),
            {self._client(client, cur): amount, (kind, source.ref, cur): amount},
        ):
            self.paid_in[(cid, cur)] += amount
        self._check_paid(cid, cur)

    @rule(order=st.integers(0, len(ORDER_CLIENT) - 1), executor=st.integers(0, 1),
          amount=amounts, cur=currencies)  # fmt: skip
    def accrue(self, order: int, executor: int, amount: int, cur: str) -> None:
        oid, eid = self.world.orders[order], self.world.executors[executor]
        self._apply(
            lambda s: ledger.accrue_executor(s, oid, eid, amount, cur),
            {("revenue", "", cur): -amount, self._payable(executor, cur): amount},
        )

    @rule(desk=desks, amount=amounts, cur=currencies)
    def cash_in(self, desk: str, amount: int, cur: str) -> None:
        self._apply(
            lambda s: ledger.cash_in(s, desk, amount, cur, "deposit"),
            {("cash_desk", desk, cur): amount, ("other_income", "", cur): amount},
        )

    # --- rules: spending, which the model may have to refuse ------------------------

    @rule(spend=spends)
    def hold(self, spend: Spend) -> None:
        (order, cur), amount = self._choose(
            ORDERS, lambda o: self._client(ORDER_CLIENT[o[0]], o[1]), spend
        )
        client = ORDER_CLIENT[order]
        oid, cid = self.world.orders[order], self.world.clients[client]
        self._apply(
            lambda s: ledger.hold_prepayment(s, oid, cid, amount, cur),
            {self._client(client, cur): -amount, self._hold(order, cur): amount},
        )

    @rule(spend=spends)
    def release(self, spend: Spend) -> None:
        (order, cur), amount = self._choose(ORDERS, lambda o: self._hold(*o), spend)
        client = ORDER_CLIENT[order]
        oid, cid = self.world.orders[order], self.world.clients[client]
        self._apply(
            lambda s: ledger.release_hold(s, oid, cid, amount, cur),
            {self._hold(order, cur): -amount, self._client(client, cur): amount},
        )

    @rule(spend=spends)
    def charge(self, spend: Spend) -> None:
        (order, cur), amount = self._choose(ORDERS, lambda o: self._hold(*o), spend)
        oid, cid = self.world.orders[order], self.world.clients[ORDER_CLIENT[order]]
        if self._apply(
            lambda s: ledger.charge(s, oid, cid, amount, cur),
            {self._hold(order, cur): -amount, ("revenue", "", cur): amount},
        ):
            self.charged_to[(cid, cur)] += amount
            self.charged[(order, cur)] += amount
        paid = self.runner.run(self._read(lambda s: ledger.charged_total(s, cid, cur)))
        assert paid == self.charged_to[(cid, cur)]

    @rule(spend=spends)
    def reverse(self, spend: Spend) -> None:
        charged = [pair for pair in ORDERS if self.charged[pair] > 0]
        if not charged:
            return
        order, cur = charged[spend.pick % len(charged)]
        wanted = spend.amount if isinstance(spend.amount, int) else self.charged[(order, cur)]
        amount = min(wanted, self.charged[(order, cur)])
        client = ORDER_CLIENT[order]
        oid, cid = self.world.orders[order], self.world.clients[client]
        if self._apply(
            lambda s: ledger.reverse_charge(s, oid, cid, amount, cur),
            {("revenue", "", cur): -amount, self._client(client, cur): amount},
        ):
            self.charged_to[(cid, cur)] -= amount
            self.charged[(order, cur)] -= amount
        paid = self.runner.run(self._read(lambda s: ledger.charged_total(s, cid, cur)))
        assert paid == self.charged_to[(cid, cur)]

    @rule(spend=spends, desk=desks, gateway=gateways, via_desk=st.booleans())
    def refund(self, spend: Spend, desk: str, gateway: str, via_desk: bool) -> None:
        (client, cur), amount = self._choose(CLIENTS, lambda c: self._client(*c), spend)
        destination = Source.desk(desk) if via_desk else Source.gateway(gateway)
        kind = "cash_desk" if via_desk else "gateway_clearing"
        cid = self.world.clients[client]
        if self._apply(
            lambda s: ledger.refund(s, cid, amount, cur, destination),
            {self._client(client, cur): -amount, (kind, destination.ref, cur): -amount},
        ):
            self.paid_in[(cid, cur)] -= amount
        self._check_paid(cid, cur)

    def _check_paid(self, cid: int, cur: str) -> None:
        # "Paid" is money the client gave us, net: top-ups less refunds.
        if self.setup is None:
            paid = self.runner.run(self._read(lambda s: ledger.paid_total(s, cid, cur)))
            assert paid == self.paid_in[(cid, cur)]

    @rule(spend=spends, desk=desks)
    def pay_executor(self, spend: Spend, desk: str) -> None:
        (executor, cur), amount = self._choose(EXECUTORS, lambda e: self._payable(*e), spend)
        eid = self.world.executors[executor]
        self._apply(
            lambda s: ledger.pay_executor(s, eid, amount, cur, desk),
            {self._payable(executor, cur): -amount, ("cash_desk", desk, cur): -amount},
        )

    @rule(spend=spends)
    def cash_out(self, spend: Spend) -> None:
        (desk, cur), amount = self._choose(DESK_CURS, lambda d: ("cash_desk", *d), spend)
        self._apply(
            lambda s: ledger.cash_out(s, desk, amount, cur, "rent"),
            {("expenses", "", cur): amount, ("cash_desk", desk, cur): -amount},
        )

    @rule(spend=spends, desk=desks)
    def settle(self, spend: Spend, desk: str) -> None:
        (gateway, cur), amount = self._choose(
            GATEWAY_CURS, lambda g: ("gateway_clearing", *g), spend
        )
        self._apply(
            lambda s: ledger.settle_gateway(s, gateway, desk, amount, cur),
            {("cash_desk", desk, cur): amount, ("gateway_clearing", gateway, cur): -amount},
        )

    # --- running an operation and checking the books --------------------------------

    def _apply(self, operation: Op, changes: dict[Key, int]) -> bool:
        """Run one unit of work; True if the model says it must succeed (and it did)."""
        short = {k for k, d in changes.items() if k[0] in NEVER_NEGATIVE and self.model[k] + d < 0}
        if self.setup is not None:
            if not short:
                self.setup.append(operation)
                self._book(changes)
            return not short
        refusal, balances = self.runner.run(self._unit_of_work(operation, touched=list(changes)))
        if short:
            assert refusal is not None, f"overdraft of {short} was allowed"
            key = (refusal.kind.value, refusal.ref, refusal.currency)
            assert key in short
            assert (refusal.available, refusal.shortfall) == (
                self.model[key], -(self.model[key] + changes[key]),
            )  # fmt: skip
        else:
            assert refusal is None, f"refused although the model has the money: {refusal}"
            self._book(changes)
        assert balances == {key: self.model[key] for key in changes}
        return not short

    def _book(self, changes: dict[Key, int]) -> None:
        for key, delta in changes.items():
            self.model[key] += delta
        self.transactions += 1

    async def _unit_of_work(
        self, *operations: Op, touched: list[Key] | None = None
    ) -> tuple[InsufficientFunds | None, dict[Key, int]]:
        """Run the operations as one unit of work, then read the `touched` balances back
        through the public API (not the test's own SQL)."""
        refusal = None
        async with self.sessions() as session:
            try:
                for operation in operations:
                    await operation(session)
            except InsufficientFunds as error:
                await session.rollback()
                refusal = error
            else:
                await session.commit()
            balances = {
                (kind, ref, cur): await ledger.balance(session, AccountKind(kind), ref, cur)
                for kind, ref, cur in touched or []
            }
        return refusal, balances

    async def _read(self, query: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        async with self.sessions() as session:
            return await query(session)

    @invariant()
    def books_balance_and_match_the_model(self) -> None:
        unbalanced, total, transactions, balances = self.runner.run(self._books())
        assert unbalanced == []
        assert total == 0
        assert transactions == self.transactions
        assert balances == {k: v for k, v in self.model.items() if v != 0}
        assert all(v >= 0 for k, v in balances.items() if k[0] in NEVER_NEGATIVE)

    async def _books(self) -> tuple[list[int], int, int, dict[Key, int]]:
        async with self.engine.connect() as conn:
            unbalanced = await conn.scalars(
                sa.text(
                    "SELECT transaction_id FROM ledger_entries GROUP BY transaction_id"
                    " HAVING SUM(amount) <> 0 OR COUNT(*) < 2"
                )
            )
            total = await conn.scalar(
                sa.text("SELECT COALESCE(SUM(amount), 0) FROM ledger_entries")
            )
            transactions = await conn.scalar(sa.text("SELECT COUNT(*) FROM ledger_transactions"))
            rows = await conn.execute(
                sa.text(
                    "SELECT a.kind, a.ref, a.currency, SUM(e.amount) FROM ledger_entries e"
                    " JOIN ledger_accounts a ON a.id = e.account_id"
                    " GROUP BY a.kind, a.ref, a.currency"
                )
            )
            balances = {
                (kind, ref, cur): int(raw) if kind in DEBIT_NORMAL else -int(raw)
                for kind, ref, cur, raw in rows
            }
        nonzero = {k: v for k, v in balances.items() if v != 0}
        return list(unbalanced), int(total or 0), int(transactions or 0), nonzero


def test_random_operations_keep_the_books(database_url: str) -> None:
    class Machine(LedgerMachine):
        url = database_url
        world = asyncio.run(_create_world(database_url))

    run_state_machine_as_test(
        Machine, settings=settings(max_examples=40, stateful_step_count=15, deadline=None)
    )
