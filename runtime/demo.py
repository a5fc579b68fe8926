"""`pult demo`: realistic demo data for an empty database — staff, clients, executors with
skills, orders of all three built-in kinds in every status, payments and ledger entries, and
the conversations about them (runtime/demo_threads.py).
Everything goes through the real domain services, so the data obeys the same rules as
real work (audit trail, balances, discounts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import exchange, ledger, orders
from core.db import utcnow
from core.i18n import N_, gettext
from core.ledger import Source
from core.models import (
    AccountKind,
    Client,
    DiscountTier,
    Executor,
    ExecutorKind,
    ExecutorStatus,
    LedgerTransaction,
    Order,
    OrderKind,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Skill,
    StaffRole,
)
from core.staff import create_user
from core.transitions import Actor
from core.uow import UnitOfWork
from inbox.models import Message
from runtime.bootstrap import Container
from runtime.demo_threads import add_demo_threads

S = OrderStatus
RUB = "RUB"


class DemoRefused(Exception):
    """Demo data goes only into an empty database, never on top of real work."""


@dataclass
class DemoContext:
    session: AsyncSession
    manager: Actor
    kinds: dict[str, OrderKind]
    executors: dict[str, Executor]
    clients: list[Client]
    passwords: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoOrder:
    kind: str
    client: int  # index into CLIENTS
    target: OrderStatus
    price: int  # list price, kopecks
    executor: str | None
    executor_price: int | None
    details: dict[str, Any]
    days_to_deadline: int = 7


STAFF = [
    (StaffRole.MANAGER, "manager@pult.local", "Ирина Волкова"),
    (StaffRole.MANAGER, "manager2@pult.local", "Олег Фёдоров"),
    (StaffRole.OPERATOR, "operator@pult.local", "Светлана Егорова"),
]
CLIENTS = [
    ("Анна Смирнова", "+79161234501", "anna.smirnova@example.ru", None),
    ("Иван Петров", "+79161234502", "i.petrov@example.ru", None),
    ("Мария Кузнецова", "+79161234503", None, None),
    ("Дмитрий Соколов", "+79161234504", "sokolov.d@example.ru", None),
    ("Екатерина Морозова", "+79161234505", "kate.m@example.ru", None),
    ("Сергей Васильев", "+79031112233", "print@vasiliev-ip.ru", "ИП Васильев С. А."),
    ("Алексей Попов", "+79265554433", "a.popov@stroymontazh.ru", "ООО «СтройМонтаж»"),
]
AUTHORS = {
    "Ольга Лебедева": ["Экономика", "Менеджмент"],
    "Сергей Новиков": ["Юриспруденция", "История"],
    "Наталья Козлова": ["Педагогика", "Психология"],
    "Павел Орлов": ["Программирование", "Математика"],
}
DISCOUNT_TIERS = [(1_000_000, 300), (3_000_000, 500), (10_000_000, 1000)]


def _paper(client: int, target: OrderStatus, discipline: str, topic: str, **kw: Any) -> DemoOrder:
    author = next(name for name, skills in AUTHORS.items() if discipline in skills)
    return DemoOrder(
        kind="student_paper",
        client=client,
        target=target,
        price=kw.pop("price", 800_000),
        executor=author,
        executor_price=kw.pop("executor_price", 450_000),
        details={
            "discipline": discipline,
            "work_type": kw.pop("work_type", "Coursework"),
            "topic": topic,
            "pages": kw.pop("pages", 35),
            "originality": 70,
        },
        **kw,
    )


def _print(client: int, target: OrderStatus, product: str, quantity: int, size: str) -> DemoOrder:
    details = {"product": product, "quantity": quantity, "size": size, "outsourced": True}
    return DemoOrder("print_job", client, target, 450_000, "Типография «Оттиск»", 280_000, details)


def _trip(
    client: int, target: OrderStatus, request_type: str, pickup: str, dropoff: str
) -> DemoOrder:
    details = {"request_type": request_type, "pickup": pickup, "dropoff": dropoff}
    details["vehicle"] = "Манипулятор 5 т, стрела 7 м"
    return DemoOrder("trip", client, target, 2_400_000, "Николай Громов", 1_900_000, details, 2)


ORDERS = [
    _paper(0, S.DRAFT, "Экономика", "Анализ финансовой устойчивости предприятия"),
    _paper(1, S.NEW, "Юриспруденция", "Защита прав потребителей в сфере онлайн-торговли"),
    _paper(2, S.EVALUATING, "Психология", "Тревожность у студентов первого курса"),
    _paper(3, S.QUOTED, "Программирование", "Веб-сервис учёта заявок на aiohttp"),
    _paper(4, S.AWAITING_PAYMENT, "Менеджмент", "Мотивация персонала в малом бизнесе"),
    _paper(0, S.PAID, "Математика", "Численные методы решения ОДУ", work_type="Report"),
    _paper(1, S.ON_EXCHANGE, "История", "Реформы Петра I", work_type="Essay", pages=15),
    _paper(2, S.ASSIGNED, "Педагогика", "Игровые методы в начальной школе"),
    _paper(3, S.IN_PROGRESS, "Экономика", "Инфляция и денежная политика ЦБ"),
    _paper(4, S.IN_REVIEW, "Юриспруденция", "Договор подряда: судебная практика"),
    _paper(0, S.REVISION, "Менеджмент", "Управление проектами в ИТ"),
    _paper(1, S.READY, "Психология", "Эмоциональное выгорание учителей"),
    _paper(
        2, S.DELIVERED, "Программирование", "Телеграм-бот для записи к врачу",
        work_type="Diploma thesis", price=2_500_000, executor_price=1_500_000, pages=70,
    ),
    _paper(3, S.REVISION_REQUESTED, "Математика", "Теория графов в логистике"),
    _paper(4, S.CLOSED, "История", "Культура Серебряного века", price=600_000),
    _paper(0, S.CLOSED, "Экономика", "Бизнес-план кофейни", price=900_000),
    _paper(1, S.CANCELLED, "Педагогика", "Инклюзивное образование"),
    _print(5, S.NEW, "Business cards", 1000, "90×50 мм"),
    _print(5, S.ASSIGNED, "Banner", 2, "3×1 м"),
    _print(5, S.IN_PROGRESS, "Flyers", 5000, "A5"),
    _print(5, S.READY, "Stickers", 300, "Ø 60 мм"),
    _print(5, S.CLOSED, "Booklets", 500, "A4, евро-фальц"),
    _trip(6, S.QUOTED, "Cargo transportation", "Москва, Складочная, 1", "Химки, Ленинградская, 5"),
    _trip(6, S.ON_EXCHANGE, "Other machinery", "Подольск, промзона «Южная»", ""),
    _trip(6, S.IN_PROGRESS, "Materials delivery", "Люберцы, база ЖБИ", "Москва, Рязанский пр-т, 8"),
    _trip(6, S.CLOSED, "Cargo transportation", "Москва, МКАД 47 км", "Балашиха, ул. Заводская, 3"),
]  # fmt: skip


async def fill_demo(container: Container) -> str:
    """Fill an empty database; returns a summary with the demo staff logins."""
    async with container.uow() as uow:
        ctx = await _prepare(uow)
        by = ctx.manager.user_id
        await ledger.cash_in(
            uow.session, "cash", 10_000_000, RUB, "Взнос владельца", recorded_by=by
        )
        for spec in ORDERS:
            await _demo_order(ctx, spec)
        await _month_end(ctx)
        await add_demo_threads(uow.session, ctx.clients, by)
        await uow.commit()
        counts = await _counts(uow.session)
    locale = container.default_locale
    lines = [gettext("Demo data created:", locale)]
    lines += [f"  {gettext(what, locale)}: {count}" for what, count in counts.items()]
    lines.append(gettext("Demo staff accounts (one-time passwords):", locale))
    lines += [f"  {email}  {password}" for email, password in ctx.passwords.items()]
    return "\n".join(lines)


async def _prepare(uow: UnitOfWork) -> DemoContext:
    session = uow.session
    if await session.scalar(select(func.count(Client.id))):
        raise DemoRefused("the database already has clients; demo data fills an empty one only")
    passwords: dict[str, str] = {}
    managers = []
    for role, email, name in STAFF:
        user, password = await create_user(session, email, name, role)
        managers.append(user)
        passwords[email] = password or ""
    for threshold, bp in DISCOUNT_TIERS:
        session.add(DiscountTier(currency=RUB, threshold=threshold, discount_bp=bp))
    clients = [
        Client(name=name, phone=phone, email=address, company=company)
        for name, phone, address, company in CLIENTS
    ]
    session.add_all(clients)
    kinds = {kind.code: kind for kind in (await session.scalars(select(OrderKind))).all()}
    await session.flush()
    return DemoContext(
        session, Actor.staff(managers[0]), kinds, await _executors(session), clients, passwords
    )


async def _executors(session: AsyncSession) -> dict[str, Executor]:
    skills = {name: Skill(name=name) for names in AUTHORS.values() for name in names}
    people: dict[str, Executor] = {}
    for name, names in AUTHORS.items():
        people[name] = Executor(
            name=name, status=ExecutorStatus.ACTIVE, capacity=5, experience="5 лет, 200+ работ",
            skills=[skills[skill] for skill in names], approved_at=utcnow(),
        )  # fmt: skip
    people["Юлия Зайцева"] = Executor(
        name="Юлия Зайцева", status=ExecutorStatus.APPLICANT, experience="Студентка магистратуры",
        skills=[skills["Экономика"]],
    )  # fmt: skip
    people["Типография «Оттиск»"] = Executor(
        name="Типография «Оттиск»", kind=ExecutorKind.COMPANY, status=ExecutorStatus.ACTIVE,
        capacity=20, phone="+74951234567", email="zakaz@ottisk.example.ru",
    )  # fmt: skip
    supplier = Executor(
        name="ООО «ТехПарк»", kind=ExecutorKind.COMPANY, status=ExecutorStatus.ACTIVE,
        capacity=10, phone="+74957654321",
    )  # fmt: skip
    people["ООО «ТехПарк»"] = supplier
    for driver in ("Николай Громов", "Андрей Белов"):
        people[driver] = Executor(
            name=driver, status=ExecutorStatus.ACTIVE, capacity=2, parent=supplier
        )
    session.add_all(people.values())
    await session.flush()
    return people


async def _demo_order(ctx: DemoContext, spec: DemoOrder) -> None:
    session = ctx.session
    client = ctx.clients[spec.client]
    deadline = utcnow() + timedelta(days=spec.days_to_deadline)
    order = await orders.create_order(
        session,
        kind=ctx.kinds[spec.kind],
        client_id=client.id,
        actor=Actor.client(client.id) if spec.kind == "student_paper" else ctx.manager,
        details=spec.details,
        title=str(spec.details.get("topic") or spec.details.get("product", "")),
        manager_id=ctx.manager.user_id,
        deadline=deadline if spec.kind != "trip" else None,
        scheduled_at=deadline if spec.kind == "trip" else None,
        draft=spec.target is S.DRAFT,
    )
    while order.status is not spec.target:
        await _next_move(ctx, order, spec)


async def _next_move(ctx: DemoContext, order: Order, spec: DemoOrder) -> None:
    """One step along the usual path towards the spec's target status."""
    session, manager = ctx.session, ctx.manager
    client = Actor.client(order.client_id)
    executor = ctx.executors[spec.executor] if spec.executor else None
    worker = Actor.executor(executor.id) if executor else manager
    status = order.status
    if spec.target is S.CANCELLED and status is S.QUOTED:
        await orders.cancel_order(session, order, client, "Нашёл исполнителя дешевле")
    elif spec.target is S.REVISION and status is S.IN_REVIEW:
        await orders.return_for_revision(session, order, manager, "Не хватает второй главы")
    elif spec.target is S.REVISION_REQUESTED and status is S.DELIVERED:
        await orders.request_revision(session, order, client, "Поправьте оформление по ГОСТ")
    elif status is S.NEW:
        await orders.start_evaluation(session, order, manager)
    elif status is S.EVALUATING:
        await orders.quote_order(session, order, manager, spec.price)
    elif status is S.QUOTED:
        await orders.accept_quote(session, order, client)
    elif status is S.AWAITING_PAYMENT:
        await _pay(ctx, order, order.prepayment_amount, "yookassa")
        await orders.mark_paid(session, order, Actor.system())
    elif status is S.PAID and order.kind.uses_exchange:
        fixed = spec.executor_price if spec.kind == "trip" else None
        await exchange.publish_to_exchange(session, order, manager, fixed)
    elif status in (S.PAID, S.ON_EXCHANGE):
        assert executor is not None
        await exchange.assign_executor(session, order, manager, executor, price=spec.executor_price)
    elif status in (S.ASSIGNED, S.REVISION):
        move = orders.start_work if status is S.ASSIGNED else orders.resume_work
        await move(session, order, worker)
    elif status is S.IN_PROGRESS and order.step not in (None, *order.kind.execution_steps[-1:]):
        await orders.advance_step(session, order, worker)
    elif status is S.IN_PROGRESS:
        await orders.submit_result(session, order, worker)
    elif status is S.IN_REVIEW:
        await orders.approve_result(session, order, manager)
    elif status is S.READY:
        await _settle(ctx, order)
        await orders.deliver_order(session, order, manager)
    elif status is S.DELIVERED:
        await orders.close_order(session, order, client)
        await _pay_executor(ctx, order)
    else:
        raise AssertionError(f"demo has no move from {status} towards {spec.target}")


async def _pay(ctx: DemoContext, order: Order, amount: int, provider: str) -> None:
    """The client pays `amount` for the order: a payment, a top-up, a hold."""
    if amount <= 0:
        return
    session = ctx.session
    gateway = provider == "yookassa"
    payment = Payment(
        client_id=order.client_id, order_id=order.id, provider=provider,
        method=PaymentMethod.GATEWAY if gateway else PaymentMethod.CASH,
        external_id=f"demo-{order.number}-{amount}" if gateway else None, amount=amount,
        currency=RUB, status=PaymentStatus.SUCCEEDED, confirmed_at=utcnow(),
    )  # fmt: skip
    session.add(payment)
    await session.flush()
    source = Source.gateway(provider) if gateway else Source.desk("cash")
    await ledger.top_up(
        session, order.client_id, amount, RUB, source, payment_id=payment.id,
        recorded_by=None if gateway else ctx.manager.user_id,
    )  # fmt: skip
    await ledger.hold_prepayment(session, order.id, order.client_id, amount, RUB)


async def _settle(ctx: DemoContext, order: Order) -> None:
    """Before delivery: the rest of the price comes in, the whole price is charged, and the
    executor's fee is accrued."""
    assert order.client_price is not None
    money = await ledger.order_money(ctx.session, order.id, RUB)
    await _pay(ctx, order, order.client_price - money.held, "cash")
    await ledger.charge(ctx.session, order.id, order.client_id, order.client_price, RUB)
    if order.executor_id and order.executor_price:
        await ledger.accrue_executor(
            ctx.session, order.id, order.executor_id, order.executor_price, RUB
        )


async def _pay_executor(ctx: DemoContext, order: Order) -> None:
    if order.executor_id and order.executor_price:
        await ledger.pay_executor(
            ctx.session, order.executor_id, order.executor_price, RUB, "cash",
            recorded_by=ctx.manager.user_id, memo=f"Выплата по заказу №{order.number}",
        )  # fmt: skip


async def _month_end(ctx: DemoContext) -> None:
    session, by = ctx.session, ctx.manager.user_id
    await ledger.cash_out(session, "cash", 3_500_000, RUB, "Аренда офиса", recorded_by=by)
    clearing = await ledger.balance(session, AccountKind.GATEWAY_CLEARING, "yookassa", RUB)
    if clearing:
        await ledger.settle_gateway(session, "yookassa", "bank", clearing, RUB, recorded_by=by)


async def _counts(session: AsyncSession) -> dict[str, int]:
    async def count(model: Any) -> int:
        return int(await session.scalar(select(func.count(model.id))) or 0)

    return {
        N_("Clients"): await count(Client),
        N_("Executors"): await count(Executor),
        N_("Orders"): await count(Order),
        N_("Payments"): await count(Payment),
        N_("Ledger transactions"): await count(LedgerTransaction),
        N_("Messages"): await count(Message),
    }
