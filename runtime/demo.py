"""`pult demo`: realistic demo data for an empty database — staff, clients, executors with
skills, orders of all three built-in kinds in every status, the money the clients paid, and
the conversations about them (runtime/demo_threads.py).

Everything is done as people would do it, through the same services the panel and the bots
call: executors apply as the bot's application files them and a manager approves them;
orders move by the lifecycle's own moves; money is recorded by a manager as received in
cash, by card or by bank transfer (`core.payments.record_payment`, which holds, charges,
accrues the executor and delivers exactly as the panel's "record a payment" does). Nothing
is written that no user could do: no gateway payments, no payouts or cash-desk entries
(the panel has no page for them), no supplier companies. Titles are made as the wizard
makes them, in the installation's language.

Every executor applied through the Telegram bot (the only way to apply) and gave an e-mail
address, so each has a reachable identity and an address on the card: forwarding can be
tried on any job. On a bare `make run` neither Telegram nor e-mail is configured: what a
manager sends (and the notices the desk's own reactions write) is stored in its conversation
but cannot leave; with e-mail configured the composer offers the card's address too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import applications, exchange, orders, payments
from core.db import utcnow
from core.i18n import N_, gettext
from core.models import (
    ChannelIdentity,
    Client,
    DiscountTier,
    Executor,
    ExecutorStatus,
    LedgerTransaction,
    Order,
    OrderKind,
    OrderStatus,
    Payment,
    PaymentMethod,
    Skill,
    StaffRole,
)
from core.staff import create_user
from core.transitions import Actor
from core.uow import UnitOfWork
from handlers import application
from inbox.conversations import add_message, application_conversation
from inbox.models import Direction, Message
from runtime.bootstrap import Container
from runtime.demo_threads import add_demo_threads, client_identities
from webapp.panel.order_fields import title_for

S = OrderStatus
RUB = "RUB"
MANUAL = "manual"  # the provider of money a manager records (core.payments)


class DemoRefused(Exception):
    """Demo data goes only into an empty database, never on top of real work."""


@dataclass
class DemoContext:
    session: AsyncSession
    manager: Actor
    kinds: dict[str, OrderKind]
    executors: dict[str, Executor]
    clients: list[Client]
    locale: str
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


@dataclass(frozen=True)
class DemoExecutor:
    """What an executor typed into the bot's application."""

    name: str
    phone: str
    email: str
    skills: tuple[str, ...]
    experience: str
    approved: bool = True


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
PRINTER = "Виктор Ершов"
DRIVERS = ("Николай Громов", "Андрей Белов")
EXECUTORS = [
    *(
        DemoExecutor(name, f"+7916555{number:04d}", f"author{number}@example.ru", tuple(skills),
                     "5 лет, 200+ работ")
        for number, (name, skills) in enumerate(AUTHORS.items(), start=1)
    ),
    DemoExecutor("Юлия Зайцева", "+79165550010", "zaytseva.j@example.ru", ("Экономика",),
                 "Студентка магистратуры", approved=False),
    DemoExecutor(PRINTER, "+79165550020", "ershov.print@example.ru", (),
                 "Печатник, цифровая и офсетная печать, 12 лет"),
    DemoExecutor(DRIVERS[0], "+79165550030", "gromov.n@example.ru", (),
                 "Манипулятор 5 т, стрела 7 м; категории C, E"),
    DemoExecutor(DRIVERS[1], "+79165550031", "belov.a@example.ru", (),
                 "Бортовой КамАЗ 10 т; категория C"),
]  # fmt: skip
DISCOUNT_TIERS = [(1_000_000, 300), (3_000_000, 500), (10_000_000, 1000)]
# How each client pays: companies by bank transfer, people by card and the rest in cash.
COMPANY_CLIENTS = {5, 6}


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
    details = {"product": product, "quantity": quantity, "size": size, "outsourced": False}
    return DemoOrder("print_job", client, target, 450_000, PRINTER, 280_000, details)


def _trip(
    client: int, target: OrderStatus, request_type: str, pickup: str, dropoff: str
) -> DemoOrder:
    details = {"request_type": request_type, "pickup": pickup, "dropoff": dropoff}
    details["vehicle"] = "Манипулятор 5 т, стрела 7 м"
    return DemoOrder("trip", client, target, 2_400_000, DRIVERS[0], 1_900_000, details, 2)


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
    locale = container.default_locale
    async with container.uow() as uow:
        ctx = await _prepare(uow, locale)
        for spec in ORDERS:
            await _demo_order(ctx, spec)
        identities = await client_identities(uow.session, ctx.clients)
        await uow.commit()
        manager_id = ctx.manager.user_id
    await add_demo_threads(container, identities, manager_id)
    async with container.sessions() as session:
        counts = await _counts(session)
    lines = [gettext("Demo data created:", locale)]
    lines += [f"  {gettext(what, locale)}: {count}" for what, count in counts.items()]
    lines.append(gettext("Demo staff accounts (one-time passwords):", locale))
    lines += [f"  {email}  {password}" for email, password in ctx.passwords.items()]
    return "\n".join(lines)


async def _prepare(uow: UnitOfWork, locale: str) -> DemoContext:
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
    manager = Actor.staff(managers[0])
    executors = await _executors(session, manager, locale)
    return DemoContext(session, manager, kinds, executors, clients, locale, passwords)


async def _executors(session: AsyncSession, manager: Actor, locale: str) -> dict[str, Executor]:
    """Each executor as the bot's application leaves them (an applicant with their
    Telegram identity and the application in its conversation); a manager approves all
    but one, who stays an applicant to review."""
    skills = {name: Skill(name=name) for names in AUTHORS.values() for name in names}
    session.add_all(skills.values())
    people: dict[str, Executor] = {}
    for number, spec in enumerate(EXECUTORS, start=1):
        executor = Executor(
            name=spec.name, phone=spec.phone, email=spec.email, experience=spec.experience,
            status=ExecutorStatus.APPLICANT, skills=[skills[name] for name in spec.skills],
        )  # fmt: skip
        session.add(executor)
        await session.flush()
        identity = ChannelIdentity(
            channel="telegram", external_id=f"tg-demo-executor-{number}",
            chat_id=f"tg-demo-executor-{number}", display_name=spec.name,
            executor_id=executor.id, phone=spec.phone,
        )  # fmt: skip
        session.add(identity)
        await session.flush()
        await _application(session, executor, identity, spec, locale)
        if spec.approved:
            await applications.approve_application(session, executor, manager)
        people[spec.name] = executor
    return people


async def _application(
    session: AsyncSession,
    executor: Executor,
    identity: ChannelIdentity,
    spec: DemoExecutor,
    locale: str,
) -> None:
    """The summary the bot files in the applicant's conversation (handlers/application)."""
    lines = [
        gettext(application.TITLE, locale),
        f"{gettext(application.NAME, locale)}: {spec.name}",
        f"{gettext(application.PHONE, locale)}: {spec.phone}",
        f"{gettext(application.EMAIL, locale)}: {spec.email}",
        f"{gettext(application.SKILLS, locale)}: {', '.join(spec.skills) or '—'}",
        f"{gettext(application.EXPERIENCE, locale)}: {spec.experience}",
        f"{gettext(application.SAMPLES, locale)}: 0",
    ]
    conversation = await application_conversation(session, executor.id)
    await add_message(
        session, conversation, Direction.IN, "\n".join(lines), channel=identity.channel,
        identity_id=identity.id, author_executor_id=executor.id,
    )  # fmt: skip


async def _demo_order(ctx: DemoContext, spec: DemoOrder) -> None:
    session = ctx.session
    client = ctx.clients[spec.client]
    deadline = utcnow() + timedelta(days=spec.days_to_deadline)
    kind = ctx.kinds[spec.kind]
    order = await orders.create_order(
        session,
        kind=kind,
        client_id=client.id,
        actor=Actor.client(client.id) if spec.kind == "student_paper" else ctx.manager,
        details=spec.details,
        title=title_for(kind, spec.details, ctx.locale),
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
        await _pay_due(ctx, order, spec)  # the prepayment: the order becomes paid
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
        # The rest of the price: recording it charges the order and hands it over.
        await _pay_due(ctx, order, spec)
        if order.status is S.READY:
            await orders.deliver_order(session, order, manager)
    elif status is S.DELIVERED:
        await orders.close_order(session, order, client)
    else:
        raise AssertionError(f"demo has no move from {status} towards {spec.target}")


async def _pay_due(ctx: DemoContext, order: Order, spec: DemoOrder) -> None:
    """The client pays what the order owes now, and the manager records it as received."""
    due = await payments.due_now(ctx.session, order)
    if not due.is_due:
        return
    if spec.client in COMPANY_CLIENTS:
        method = PaymentMethod.BANK_TRANSFER
    else:
        prepayment = order.status is S.AWAITING_PAYMENT
        method = PaymentMethod.CARD if prepayment else PaymentMethod.CASH
    await payments.record_payment(
        ctx.session, order, due.amount, method, provider=MANUAL, recorded_by=ctx.manager.user_id
    )


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
