"""Manager alerts in a messenger: staff who linked their own Telegram (or any identity with
`user_id` set) hear of a new order, a new inbound message, and money that came in, with a
button that opens it in the panel when the panel has a public address.

Who hears it: for an order, its manager if one is assigned, else every owner and manager;
for a lead or an application, the managers (the owners when there is no manager). Nobody
is alerted about what they did themselves."""

from __future__ import annotations

import logging
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import DomainEvent, OrderCreated, OrderTransitioned, PaymentReceived
from core.i18n import N_
from core.models import (
    ChannelIdentity,
    Client,
    Executor,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    StaffRole,
    User,
)
from core.pricing import format_money
from handlers.cards import t
from handlers.engine import send_replies
from handlers.recipients import locale_of
from handlers.reply import Reply, link_button, rows
from handlers.services import Services
from inbox.channel import Button
from inbox.events import MessageCreated
from inbox.models import Message

log = logging.getLogger(__name__)

NEW_ORDER = N_("New order №{number}: {title}")
NEW_ORDER_MESSAGE = N_("New message in order №{number} from {name}: {text}")
NEW_MESSAGE = N_("New message from {name}: {text}")
PAYMENT_FOR_ORDER = N_("Payment received: {amount} for order №{number}")
PAYMENT = N_("Payment received: {amount} from {name}")
OPEN_IN_PANEL = N_("Open in the panel")
UNKNOWN_SENDER = N_("an unknown sender")
A_FILE = N_("(a file)")

PREVIEW_LENGTH = 100
ORDER_STAFF = (StaffRole.OWNER, StaffRole.MANAGER)


class StaffAlerts:
    """The reaction: `await alerts(session, event)`."""

    def __init__(self, services: Services) -> None:
        self.public_url = (services.public_url or "").rstrip("/") or None
        self.locale = services.locale

    async def __call__(self, session: AsyncSession, event: DomainEvent) -> None:
        if isinstance(event, OrderCreated) and event.status == OrderStatus.NEW:
            await self._new_order(session, event.order_id, "create")
        elif isinstance(event, OrderTransitioned) and event.action == "submit":
            await self._new_order(session, event.order_id, "submit")  # a draft placed
        elif isinstance(event, MessageCreated) and event.direction == "in":
            await self._new_message(session, event)
        elif isinstance(event, PaymentReceived) and event.method != "balance":
            await self._payment(session, event)  # from the balance: no money came in

    async def _new_order(self, session: AsyncSession, order_id: int, action: str) -> None:
        order = await session.get(Order, order_id)
        assert order is not None
        actor = await session.scalar(
            select(OrderEvent.actor_user_id)
            .where(OrderEvent.order_id == order.id, OrderEvent.action == action)
            .order_by(OrderEvent.id.desc())
            .limit(1)
        )
        for identity in await order_staff(session, order, exclude=actor):
            text = t(
                NEW_ORDER, locale_of(identity, self.locale), number=order.number, title=order.title
            )
            await self._send(session, identity, text, f"/orders/{order.id}")

    async def _new_message(self, session: AsyncSession, event: MessageCreated) -> None:
        # Who would hear of it comes first: on most desks nobody has linked a messenger, and
        # then this costs two small queries per inbound message instead of six.
        order = await session.get(Order, event.order_id) if event.order_id is not None else None
        staff = await self._message_staff(session, order)
        if not staff:
            return
        message = await session.get(Message, event.message_id)
        assert message is not None
        if message.author_user_id is not None:  # a staff member writing: not to themself
            staff = await self._message_staff(session, order, exclude=message.author_user_id)
        name = await _sender_name(session, message)
        path = f"/orders/{order.id}" if order else f"/conversations/{event.conversation_id}"
        for identity in staff:
            locale = locale_of(identity, self.locale)
            values = {"name": name or t(UNKNOWN_SENDER, locale), "text": _preview(message, locale)}
            if order is not None:
                line = t(NEW_ORDER_MESSAGE, locale, number=order.number, **values)
            else:
                line = t(NEW_MESSAGE, locale, **values)
            await self._send(session, identity, line, path)

    async def _message_staff(
        self, session: AsyncSession, order: Order | None, *, exclude: int | None = None
    ) -> list[ChannelIdentity]:
        if order is not None:
            return await order_staff(session, order, exclude=exclude)
        return await lead_staff(session, exclude=exclude)

    async def _payment(self, session: AsyncSession, event: PaymentReceived) -> None:
        payment = await session.get(Payment, event.payment_id)
        recorded_by = payment.recorded_by if payment is not None else None
        order = await session.get(Order, event.order_id) if event.order_id else None
        client = await session.get(Client, event.client_id) if event.client_id else None
        if order is not None:
            staff = await order_staff(session, order, exclude=recorded_by)
        else:
            staff = await lead_staff(session, exclude=recorded_by)
        for identity in staff:
            locale = locale_of(identity, self.locale)
            amount = format_money(event.amount, event.currency, locale)
            if order is not None:
                text = t(PAYMENT_FOR_ORDER, locale, amount=amount, number=order.number)
            else:
                text = t(PAYMENT, locale, amount=amount, name=client.name if client else "")
            await self._send(session, identity, text, f"/orders/{order.id}" if order else None)

    async def _send(
        self, session: AsyncSession, identity: ChannelIdentity, text: str, path: str | None
    ) -> None:
        buttons: tuple[tuple[Button, ...], ...] = ()
        if self.public_url and path:
            label = t(OPEN_IN_PANEL, locale_of(identity, self.locale))
            buttons = rows([link_button(label, self.public_url + path)])
        await send_replies(session, identity, [Reply(text, buttons=buttons)])


async def order_staff(
    session: AsyncSession, order: Order, *, exclude: int | None = None
) -> list[ChannelIdentity]:
    """The alert identities for an order: its manager's, else the owners' and managers'."""
    if order.manager_id is not None:
        return await staff_identities(session, users=[order.manager_id], exclude=exclude)
    return await staff_identities(session, roles=ORDER_STAFF, exclude=exclude)


async def lead_staff(session: AsyncSession, *, exclude: int | None = None) -> list[ChannelIdentity]:
    managers = await staff_identities(session, roles=[StaffRole.MANAGER], exclude=exclude)
    return managers or await staff_identities(session, roles=[StaffRole.OWNER], exclude=exclude)


async def staff_identities(
    session: AsyncSession,
    *,
    roles: Collection[StaffRole] = (),
    users: Collection[int] = (),
    exclude: int | None = None,
) -> list[ChannelIdentity]:
    """One reachable identity per active staff user of `roles` (or of the `users` ids),
    the one they used last."""
    query = (
        select(ChannelIdentity)
        .join(User, User.id == ChannelIdentity.user_id)
        .where(User.is_active.is_(True), ChannelIdentity.reachable.is_(True))
        .order_by(
            User.id, ChannelIdentity.last_seen_at.desc().nulls_last(), ChannelIdentity.id.desc()
        )
    )
    query = query.where(User.id.in_(users)) if users else query.where(User.role.in_(roles))
    if exclude is not None:
        query = query.where(User.id != exclude)
    chosen: dict[int, ChannelIdentity] = {}
    for identity in await session.scalars(query):
        assert identity.user_id is not None
        chosen.setdefault(identity.user_id, identity)
    return list(chosen.values())


async def _sender_name(session: AsyncSession, message: Message) -> str:
    if message.author_client_id is not None:
        client = await session.get(Client, message.author_client_id)
        if client is not None and client.name:
            return client.name
    if message.author_executor_id is not None:
        executor = await session.get(Executor, message.author_executor_id)
        if executor is not None:
            return executor.name
    identity = await session.get(ChannelIdentity, message.identity_id or 0)
    return identity.display_name if identity is not None and identity.display_name else ""


def _preview(message: Message, locale: str) -> str:
    text = " ".join(message.text.split())
    if len(text) > PREVIEW_LENGTH:
        return text[:PREVIEW_LENGTH].rstrip() + "…"
    return text or t(A_FILE, locale)
