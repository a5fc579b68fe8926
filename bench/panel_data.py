"""A busy desk for bench/panel.py, generated inside PostgreSQL (INSERT ... SELECT over
generate_series: no rows travel through Python): managers, clients with phones in mixed
formats, executors, orders in every status, two or three conversations per order plus leads,
messages with Russian-looking texts, read markers, failed deliveries, history, bids,
payments with their ledger lines, and files. Times are naive UTC like `UTCDateTime`."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


def _array(words: str) -> str:
    return "'{" + ",".join(words.split()) + "}'::text[]"


FIRST = _array(
    "Анна Борис Вера Глеб Дарья Евгений Жанна Захар Ирина Кирилл Лариса Максим Нина Олег "
    "Полина Роман Светлана Тимур Ульяна Фёдор"
)
LAST = _array(
    "Смирнов Иванов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов "
    "Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев "
    "Макаров Никитин Захаров"
)
WORDS = _array(
    "здравствуйте когда будет готово пришлите счёт оплатил курсовая диплом реферат методичка "
    "преподаватель срок пятница понедельник правки замечания антиплагиат оформление список "
    "литературы глава введение заключение таблица расчёт чертёж печать визитки тираж макет "
    "баннер доставка адрес водитель экскаватор манипулятор смена часов стоимость скидка договор "
    "акт спасибо хорошо уточните пожалуйста вопрос ответ файл"
)
TOPICS = (
    "'{Курсовая по экономике,Реферат по истории,Диплом по праву,Контрольная по матанализу,"
    "Визитки 500 шт,Баннер 3x6,Экскаватор на смену,Манипулятор 5 т,Отчёт по практике,"
    "Эссе по философии}'::text[]"
)
# A desk a year old: orders older than a few weeks are finished (mostly closed, some
# cancelled, a few delivered and in their guarantee period); the newest OPEN_SHARE are spread
# over every status, so each tab has a live tail.
FINISHED = "'{closed,closed,closed,closed,closed,closed,closed,closed,cancelled,delivered}'::text[]"
STATUSES = (
    "'{new,evaluating,quoted,awaiting_payment,paid,on_exchange,assigned,in_progress,in_progress,"
    "in_review,revision,ready,delivered,revision_requested,closed,cancelled}'::text[]"
)
OPEN_SHARE = 0.05
CHANNELS = "'{telegram,telegram,email,vk,viber}'::text[]"


@dataclass(frozen=True, slots=True)
class Size:
    orders: int = 100_000
    messages: int = 1_000_000
    clients: int = 5_000
    executors: int = 300
    managers: int = 5


def _pick(array: str, seed: str) -> str:
    return f"({array})[1 + (({seed}) % cardinality({array}))]"


# Each message goes to a conversation of an order placed shortly before it (most activity is
# on recent orders), or, one in ten, to the lead conversation of a client.
ORDER_MESSAGE = """JOIN LATERAL (SELECT id, kind FROM conversations
              WHERE order_id = greatest(1, i::bigint * {o} / {m}
                                           - abs(hashtext(i::text)) % {recent})
              ORDER BY (id * 7 + i) % 5 LIMIT 1) conv ON true
WHERE i % 10 <> 0"""
LEAD_MESSAGE = """JOIN LATERAL (SELECT id, kind FROM conversations
              WHERE kind = 'lead' AND client_id = 2 * (1 + (i / 10) % ({c} / 2))) conv ON true
WHERE i % 10 = 0"""


def _messages(size: Size, source: str) -> str:
    o, m, c, u = size.orders, size.messages, size.clients, size.managers
    now = "(now() at time zone 'utc')"
    recent = max(1, o // 50)
    return f"""
INSERT INTO messages (conversation_id, direction, channel, author_user_id, text, delivery_status,
    delivery_error, created_at)
SELECT conv.id,
       CASE WHEN conv.kind = 'notes' THEN 'note' WHEN i % 5 < 3 THEN 'in' ELSE 'out' END,
       CASE WHEN conv.kind <> 'notes' THEN {_pick(CHANNELS, "conv.id")} END,
       CASE WHEN conv.kind = 'notes' OR i % 5 >= 3 THEN 1 + i % {u} END,
       initcap({_pick(WORDS, "i")}) || ' ' || {_pick(WORDS, "i / 3 + 7")} || ' '
         || {_pick(WORDS, "i / 11 + 3")} || ' ' || {_pick(WORDS, "i / 29 + 1")} || ', '
         || {_pick(WORDS, "i / 97 + 5")} || ' ' || {_pick(WORDS, "i / 389")} || ' № ' || (i % 997)
         || CASE WHEN i % 4 = 0 THEN ' ' || {_pick(WORDS, "i / 7")} || ' '
                                     || {_pick(WORDS, "i / 13")} ELSE '' END,
       CASE WHEN conv.kind <> 'notes' AND i % 5 >= 3
            THEN CASE WHEN i % 97 = 0 THEN 'failed' ELSE 'sent' END END,
       CASE WHEN conv.kind <> 'notes' AND i % 5 >= 3 AND i % 97 = 0 THEN 'blocked_by_user' END,
       {now} - interval '365 days' + i * (interval '365 days' / {m})
FROM generate_series(1, {m}) i
""" + source.format(o=o, m=m, c=c, recent=recent)


def statements(size: Size) -> list[tuple[str, str]]:
    o, c, e, u = size.orders, size.clients, size.executors, size.managers
    now = "(now() at time zone 'utc')"
    return [
        (
            "managers",
            f"""
INSERT INTO users (email, name, role, password_hash, must_change_password, is_active, created_at)
SELECT 'manager' || i || '@desk.example', {_pick(FIRST, "i")} || ' ' || {_pick(LAST, "i * 3")},
       'manager', 'x', false, true, {now}
FROM generate_series(1, {u}) i""",
        ),
        (
            "clients",
            f"""
INSERT INTO clients (name, phone, email, manager_id, created_at)
SELECT {_pick(FIRST, "i")} || ' ' || {_pick(LAST, "i * 7 + i / 20")}
         || CASE WHEN i % 2 = 0 THEN 'а' ELSE '' END,
       CASE i % 3
         WHEN 0 THEN '+79' || lpad(((i * 7919) % 1000000000)::text, 9, '0')
         WHEN 1 THEN '8 (9' || substr(lpad(((i * 7919) % 1000000000)::text, 9, '0'), 1, 2) || ') '
                   || substr(lpad(((i * 7919) % 1000000000)::text, 9, '0'), 3, 3) || '-'
                   || substr(lpad(((i * 7919) % 1000000000)::text, 9, '0'), 6, 2) || '-'
                   || substr(lpad(((i * 7919) % 1000000000)::text, 9, '0'), 8, 2)
         ELSE NULL END,
       CASE WHEN i % 4 = 0 THEN 'client' || i || '@mail.example' END,
       1 + i % {u}, {now} - interval '400 days' + i * interval '1 minute'
FROM generate_series(1, {c}) i""",
        ),
        (
            "identities",
            f"""
INSERT INTO channel_identities (channel, external_id, chat_id, client_id, phone, phone_verified,
    email_verified, reachable, created_at)
SELECT {_pick(CHANNELS, "id")}, 'x' || id, 'x' || id, id, phone, phone IS NOT NULL, false, true,
       created_at
FROM clients""",
        ),
        (
            "executors",
            f"""
INSERT INTO executors (name, kind, status, capacity, rating_total, rating_count, reliability,
    created_at)
SELECT {_pick(FIRST, "i * 5")} || ' ' || {_pick(LAST, "i")}, 'person',
       CASE WHEN i % 15 = 0 THEN 'applicant' WHEN i % 29 = 0 THEN 'paused' ELSE 'active' END,
       3, (i % 5) * 9, (i % 5) * 2, i % 7, {now} - interval '300 days'
FROM generate_series(1, {e}) i""",
        ),
        (
            "orders",
            f"""
INSERT INTO orders (number, kind_id, client_id, manager_id, executor_id, status, title, details,
    deadline, currency, list_price, discount_bp, discount_amount, client_price, prepayment_amount,
    exchange_price, executor_price, created_at, updated_at, version)
SELECT 1000 + i, 1 + i % 3, 1 + (hashint) % {c},
       CASE WHEN i % 50 = 0 THEN NULL ELSE 1 + (hashint / 7) % {u} END,
       CASE WHEN st IN ('assigned','in_progress','in_review','revision','ready','delivered',
                        'revision_requested','closed') THEN 1 + (hashint / 11) % {e} END,
       st, {_pick(TOPICS, "i")}, '{{}}'::json,
       created + (2 + i % 30) * interval '1 day', 'RUB', price, 0, 0,
       CASE WHEN st NOT IN ('new','evaluating') THEN price END,
       CASE WHEN st NOT IN ('new','evaluating') THEN price / 2 ELSE 0 END,
       CASE WHEN st = 'on_exchange' AND i % 2 = 0 THEN price / 2 END,
       CASE WHEN st IN ('assigned','in_progress','closed','delivered') THEN price / 2 END,
       created, created + (i % 20) * interval '1 hour', 1
FROM (SELECT i, abs(hashtext(i::text)) AS hashint,
             CASE WHEN i > {o} * {1 - OPEN_SHARE}
                  THEN {_pick(STATUSES, "abs(hashtext(i::text || 's'))")}
                  ELSE {_pick(FINISHED, "abs(hashtext(i::text || 's'))")} END AS st,
             (1000 + (i % 500) * 100) * 100 AS price,
             {now} - interval '365 days' + i * (interval '365 days' / {o}) AS created
      FROM generate_series(1, {o}) i) g""",
        ),
        (
            "conversations",
            """
INSERT INTO conversations (kind, order_id, client_id, executor_id, manager_id, created_at)
SELECT 'client', id, client_id, NULL, manager_id, created_at FROM orders
UNION ALL
SELECT 'executor', id, client_id, executor_id, manager_id, created_at FROM orders
WHERE executor_id IS NOT NULL
UNION ALL
SELECT 'notes', id, client_id, NULL, manager_id, created_at FROM orders WHERE id % 3 = 0
UNION ALL
SELECT 'lead', NULL, id, NULL, NULL, created_at FROM clients WHERE id % 2 = 0""",
        ),
        ("messages", _messages(size, ORDER_MESSAGE)),
        ("lead messages", _messages(size, LEAD_MESSAGE)),
        (
            "conversation times",
            """
UPDATE conversations c SET last_message_at = t.last, last_inbound_at = t.last_in,
    last_outbound_at = t.last_out
FROM (SELECT conversation_id, max(created_at) AS last,
             max(created_at) FILTER (WHERE direction = 'in') AS last_in,
             max(created_at) FILTER (WHERE direction = 'out') AS last_out
      FROM messages GROUP BY conversation_id) t
WHERE t.conversation_id = c.id""",
        ),
        (
            "read markers",
            f"""
INSERT INTO read_markers (conversation_id, user_id, last_read_message_id, read_at)
SELECT t.conversation_id, u.id, t.latest - CASE WHEN t.conversation_id % 4 = 0 THEN 1 ELSE 0 END,
       {now}
FROM (SELECT conversation_id, max(id) AS latest FROM messages GROUP BY conversation_id) t
CROSS JOIN users u
WHERE (t.conversation_id + u.id) % 3 <> 0""",
        ),
        (
            "outbox (failed)",
            """
INSERT INTO outbox (message_id, channel, chat_id, payload, status, attempts, next_attempt_at,
    last_error, created_at)
SELECT id, channel, 'chat', '{}'::json, 'failed', 1, created_at, delivery_error, created_at
FROM messages WHERE delivery_status = 'failed'""",
        ),
        (
            "order events",
            """
INSERT INTO order_events (order_id, action, actor_role, actor_user_id, from_status, to_status,
    data, created_at)
SELECT o.id, (ARRAY['create','quote','accept_quote','mark_paid','assign'])[s], 'manager',
       o.manager_id, NULL, o.status, '{}'::json, o.created_at + s * interval '1 hour'
FROM orders o CROSS JOIN generate_series(1, 3) s""",
        ),
        (
            "bids",
            f"""
INSERT INTO bids (order_id, executor_id, price, status, created_at, updated_at)
SELECT o.id, 1 + (o.id * 13 + s * 17) % {e}, o.client_price / 2 + s * 1000, 'active',
       o.updated_at, o.updated_at
FROM orders o CROSS JOIN generate_series(1, 4) s WHERE o.status = 'on_exchange'""",
        ),
        (
            "accounts",
            """
INSERT INTO ledger_accounts (kind, ref, currency, created_at)
SELECT 'client_balance', id::text, 'RUB', created_at FROM clients
UNION ALL SELECT 'order_hold', id::text, 'RUB', created_at FROM orders WHERE prepayment_amount > 0
UNION ALL SELECT 'cash_desk', 'cash', 'RUB', now() at time zone 'utc'""",
        ),
        (
            "payments",
            """
INSERT INTO payments (client_id, order_id, provider, method, amount, currency, status, raw,
    created_at, confirmed_at)
SELECT client_id, id, 'manual', 'cash', prepayment_amount, 'RUB', 'succeeded', '{}'::json,
       created_at + interval '1 day', created_at + interval '1 day'
FROM orders WHERE prepayment_amount > 0 AND status NOT IN ('quoted', 'awaiting_payment')""",
        ),
        (
            "ledger",
            """
WITH tx AS (
  INSERT INTO ledger_transactions (operation, currency, client_id, order_id, payment_id, created_at)
  SELECT op, 'RUB', p.client_id, CASE WHEN op = 'top_up' THEN NULL ELSE p.order_id END, p.id,
         p.created_at
  FROM payments p CROSS JOIN unnest(ARRAY['top_up', 'hold_prepayment']) op
  RETURNING id, operation, client_id, payment_id)
INSERT INTO ledger_entries (transaction_id, account_id, amount)
SELECT tx.id, a.id, CASE WHEN leg = 1 THEN p.amount ELSE -p.amount END
FROM tx JOIN payments p ON p.id = tx.payment_id
CROSS JOIN generate_series(1, 2) leg
JOIN ledger_accounts a ON (a.kind, a.ref) = (
  CASE WHEN tx.operation = 'top_up' AND leg = 1 THEN 'cash_desk'
       WHEN tx.operation = 'top_up' THEN 'client_balance'
       WHEN leg = 1 THEN 'client_balance' ELSE 'order_hold' END,
  CASE WHEN tx.operation = 'top_up' AND leg = 1 THEN 'cash'
       WHEN tx.operation = 'top_up' OR leg = 1 THEN p.client_id::text
       ELSE p.order_id::text END)""",
        ),
        (
            "files",
            """
INSERT INTO files (storage_key, original_name, content_type, size, sha256, purpose, order_id,
    created_at)
SELECT 'k' || id, 'материалы-' || number || '.pdf', 'application/pdf', 100000,
       md5(id::text) || md5(id::text),
       CASE WHEN id % 3 = 0 THEN 'result' ELSE 'material' END, id, created_at
FROM orders""",
        ),
        ("order counter", "UPDATE counters SET value = (SELECT max(number) FROM orders)"),
    ]


async def generate(conn: AsyncConnection, size: Size) -> list[tuple[str, float]]:
    """Fill an empty, migrated database; returns the seconds each step took."""
    timings = []
    for name, sql in statements(size):
        began = time.perf_counter()
        await conn.execute(sa.text(sql))
        timings.append((name, time.perf_counter() - began))
    return timings
