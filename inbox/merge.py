"""Two client cards that are one person become one: everything of the card that goes (its
orders, channel identities, conversations, files, payments, the ledger's links and its free
balance) moves to the card that stays, and the card that goes is deleted.

Staff do it by hand from the client card (webapp/panel/client_merge.py, owner and manager);
the inbound pipeline does it when a person proves, on a channel, a phone or e-mail that is
already on another client's card (inbox/people.py): the lead client made for them on first
contact joins that card.

Money moves through the ledger, never by rewriting entries: each currency's free balance is
one balanced `move_balance` transaction from the old card's account to the new one. Holds
belong to orders (and so move with them). The transactions' client links are re-pointed, so
that what the person paid counts towards the one card's discount. A system note in the kept
card's lead conversation and an audit row on every order moved say what happened."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.i18n import N_, gettext
from core.models import ChannelIdentity, Client, Order, StoredFile
from core.models.money import AccountKind, LedgerAccount, LedgerTransaction, Payment
from core.models.orders import OrderEvent
from core.pricing import format_money
from core.transitions import Actor, audit
from inbox import conversations
from inbox.models import Conversation, ConversationKind, Direction, Message, ThreadRef

log = logging.getLogger(__name__)

MERGED_NOTE = N_(
    "Client card «{name}» (№{id}) was merged into this one{by}: orders {orders}, "
    "channels {channels}, conversations {conversations}{money}."
)
MERGED_BY = N_(" by {who}")
MERGED_AUTOMATICALLY = N_(" automatically: the person proved the same {what} on {channel}")
MOVED_MONEY = N_("; free balance moved: {amounts}")
PHONE = N_("phone")
EMAIL = N_("e-mail")


class CannotMerge(Exception):
    """The merge was refused; nothing was changed. `reason`: "same" or "missing"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Merged:
    kept_id: int
    gone_id: int
    gone_name: str
    orders: int
    channels: int
    conversations: int
    moved: dict[str, int] = field(default_factory=dict)  # currency -> minor units


@dataclass(frozen=True, slots=True)
class Counts:
    """What merging a card would move (the confirmation page shows it first)."""

    orders: int
    channels: int
    conversations: int
    balances: dict[str, int]


async def what_would_move(session: AsyncSession, client_id: int) -> Counts:
    return Counts(
        orders=await _count(session, select(Order.id).where(Order.client_id == client_id)),
        channels=await _count(
            session, select(ChannelIdentity.id).where(ChannelIdentity.client_id == client_id)
        ),
        conversations=await _count(
            session, select(Conversation.id).where(Conversation.client_id == client_id)
        ),
        balances=await _balances(session, client_id),
    )


async def merge_clients(
    session: AsyncSession,
    keep_id: int,
    gone_id: int,
    *,
    actor: Actor,
    by: str | None = None,
    reason: str | None = None,
) -> Merged:
    """Merge card `gone_id` into card `keep_id` (see the module's docstring). `by` names
    the staff member for the note, `reason` says why an automatic merge happened."""
    if keep_id == gone_id:
        raise CannotMerge("same")
    keep = await session.get(Client, keep_id, with_for_update=True)
    gone = await session.get(Client, gone_id, with_for_update=True)
    if keep is None or gone is None:
        raise CannotMerge("missing")
    counts = await what_would_move(session, gone_id)
    memo = f"client {gone_id} merged into {keep_id}"
    for currency, amount in counts.balances.items():
        await ledger.move_balance(
            session, gone_id, keep_id, amount, currency, recorded_by=actor.user_id, memo=memo
        )
    orders = list(await session.scalars(select(Order).where(Order.client_id == gone_id)))
    for order in orders:
        order.client_id = keep_id  # through the ORM: the order's version moves too
        audit(
            session, order, actor, "client_merged", order.status, order.status,
            data={"from_client": gone_id, "to_client": keep_id},
        )  # fmt: skip
    await _move_lead_conversation(session, keep_id, gone_id)
    for model, column in _CLIENT_LINKS:
        await session.execute(
            update(model).where(column == gone_id).values({column.key: keep_id}),
            execution_options={"synchronize_session": "fetch"},
        )
    _take_over_contacts(keep, gone)
    merged = Merged(
        keep_id, gone_id, gone.name, counts.orders, counts.channels, counts.conversations,
        {currency: amount for currency, amount in counts.balances.items()},
    )  # fmt: skip
    await session.delete(gone)
    await session.flush()
    lead = await conversations.lead_conversation(session, keep_id)
    await conversations.insert_message(
        session, lead, Direction.SYSTEM, merged_note(merged, by=by, reason=reason)
    )
    log.info("client %s merged into %s (%s)", gone_id, keep_id, by or reason or "system")
    return merged


def merged_note(merged: Merged, *, by: str | None, reason: str | None) -> str:
    who = gettext(MERGED_BY).format(who=by) if by else (reason or "")
    money = ""
    if merged.moved:
        amounts = ", ".join(
            format_money(amount, currency) for currency, amount in merged.moved.items()
        )
        money = gettext(MOVED_MONEY).format(amounts=amounts)
    return gettext(MERGED_NOTE).format(
        name=merged.gone_name, id=merged.gone_id, by=who, orders=merged.orders,
        channels=merged.channels, conversations=merged.conversations, money=money,
    )  # fmt: skip


def automatic_reason(what: str, channel: str) -> str:
    label = gettext(PHONE if what == "phone" else EMAIL)
    name = _CHANNEL_NAMES.get(channel, channel)
    return gettext(MERGED_AUTOMATICALLY).format(what=label, channel=name)


_CHANNEL_NAMES = {"telegram": "Telegram", "email": "e-mail"}


# Every other column that names a client: re-pointed in bulk (orders go through the ORM).
_CLIENT_LINKS: tuple[tuple[Any, Any], ...] = (
    (ChannelIdentity, ChannelIdentity.client_id),
    (Conversation, Conversation.client_id),
    (Message, Message.author_client_id),
    (StoredFile, StoredFile.client_id),
    (OrderEvent, OrderEvent.actor_client_id),
    (LedgerTransaction, LedgerTransaction.client_id),
    (Payment, Payment.client_id),
)


async def _move_lead_conversation(session: AsyncSession, keep_id: int, gone_id: int) -> None:
    """One lead conversation per client (a unique index): when both cards have one, the
    messages of the one that goes join the other, and it is deleted."""
    gone_lead = await _lead(session, gone_id)
    keep_lead = await _lead(session, keep_id)
    if gone_lead is None or keep_lead is None:
        return  # at most one: it is re-pointed with the other conversations
    await session.execute(
        update(Message)
        .where(Message.conversation_id == gone_lead.id)
        .values(conversation_id=keep_lead.id),
        execution_options={"synchronize_session": "fetch"},
    )
    await session.execute(
        update(ThreadRef)
        .where(ThreadRef.conversation_id == gone_lead.id)
        .values(conversation_id=keep_lead.id),
        execution_options={"synchronize_session": "fetch"},
    )
    for name in ("last_message_at", "last_inbound_at", "last_outbound_at"):
        times = [t for t in (getattr(keep_lead, name), getattr(gone_lead, name)) if t is not None]
        setattr(keep_lead, name, max(times) if times else None)
    await session.execute(delete(Conversation).where(Conversation.id == gone_lead.id))
    session.expunge(gone_lead)


async def _lead(session: AsyncSession, client_id: int) -> Conversation | None:
    found: Conversation | None = await session.scalar(
        select(Conversation).where(
            Conversation.kind == ConversationKind.LEAD, Conversation.client_id == client_id
        )
    )
    return found


def _take_over_contacts(keep: Client, gone: Client) -> None:
    """What the kept card lacks is taken from the other; nothing on it is overwritten."""
    for name in ("phone", "email", "company", "locale", "manager_id"):
        if not getattr(keep, name) and getattr(gone, name):
            setattr(keep, name, getattr(gone, name))
    if gone.notes and gone.notes != keep.notes:
        keep.notes = f"{keep.notes}\n\n{gone.notes}" if keep.notes else gone.notes


async def _balances(session: AsyncSession, client_id: int) -> dict[str, int]:
    currencies = await session.scalars(
        select(LedgerAccount.currency)
        .where(
            LedgerAccount.kind == AccountKind.CLIENT_BALANCE,
            LedgerAccount.ref == str(client_id),
        )
        .order_by(LedgerAccount.currency)
    )
    found = {}
    for currency in list(currencies):
        amount = await ledger.balance(session, AccountKind.CLIENT_BALANCE, client_id, currency)
        if amount > 0:
            found[currency] = amount
    return found


async def _count(session: AsyncSession, query: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
