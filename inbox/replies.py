"""The manager's side: answer in a conversation, or relay a message between an order's
client and executor threads with contact details masked. Notes stay inside; everything else
becomes a message plus an outbox item for the counterpart's preferred reachable identity
(or the channel the manager picked), written in one transaction."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import N_, gettext
from core.models import ChannelIdentity, Client, Executor, Order, StoredFile
from inbox.channel import Outgoing, OutgoingFile
from inbox.conversations import add_message, order_thread
from inbox.masking import MaskResult, mask_contacts
from inbox.models import Conversation, ConversationKind, DeliveryStatus, Direction, Message
from inbox.outbox import enqueue
from inbox.people import insert_identity

HIDDEN = N_("[contact hidden]")
RELAY = {ConversationKind.CLIENT: ConversationKind.EXECUTOR}
RELAY[ConversationKind.EXECUTOR] = ConversationKind.CLIENT

CLIENT_SIDE = (ConversationKind.CLIENT, ConversationKind.LEAD)
EXECUTOR_SIDE = (ConversationKind.EXECUTOR, ConversationKind.APPLICATION)


# The e-mail channel's name (bots/email): the address on a client's or executor's card is a
# way to reach them even before they have written from it.
EMAIL = "email"


class NoRoute(Exception):
    """The counterpart has no reachable identity (on the chosen channel)."""

    reason = "no_reachable_identity"


async def reply(
    session: AsyncSession,
    conversation: Conversation,
    text: str,
    *,
    author_user_id: int,
    files: list[StoredFile] | None = None,
    channel: str | None = None,
    masked_names: bool = False,
    locale: str | None = None,
) -> Message:
    """`masked_names`: a relay to the other side, whose file names (the sender's words, say
    "ivan_89161234567.docx") go out with contacts masked too, the placeholder in `locale`."""
    if conversation.kind is ConversationKind.NOTES:
        return await add_message(
            session, conversation, Direction.NOTE, text, author_user_id=author_user_id,
            files=files,
        )  # fmt: skip
    identity = await route(session, conversation, channel)
    message = await add_message(
        session, conversation, Direction.OUT, text, channel=identity.channel,
        identity_id=identity.id, author_user_id=author_user_id, files=files,
        delivery_status=DeliveryStatus.QUEUED,
    )  # fmt: skip
    outgoing = Outgoing(
        channel=identity.channel,
        chat_id=identity.chat_id or identity.external_id,
        text=text,
        files=tuple(
            OutgoingFile(
                f.storage_key,
                preview_relay(f.original_name, locale).text if masked_names else f.original_name,
                f.content_type,
            )
            for f in files or []
        ),
        order_id=conversation.order_id,
        conversation_id=conversation.id,
    )
    await enqueue(session, identity, outgoing, message_id=message.id)
    return message


async def note(
    session: AsyncSession,
    conversation: Conversation,
    text: str,
    *,
    author_user_id: int,
    files: list[StoredFile] | None = None,
) -> Message:
    """An internal note in any conversation, beside the messages it is about: staff see
    it, it never leaves (no outbox item) and it is not an answer to the counterpart."""
    return await add_message(
        session, conversation, Direction.NOTE, text, author_user_id=author_user_id, files=files
    )


async def route(
    session: AsyncSession, conversation: Conversation, channel: str | None = None
) -> ChannelIdentity:
    """The counterpart's identity to write to: the named channel, else the one they used
    last; unreachable identities (blocked the bot, bounced) are skipped."""
    if conversation.kind in CLIENT_SIDE and conversation.client_id is not None:
        owner = ChannelIdentity.client_id == conversation.client_id
    elif conversation.kind in EXECUTOR_SIDE and conversation.executor_id is not None:
        owner = ChannelIdentity.executor_id == conversation.executor_id
    else:
        raise NoRoute(f"conversation {conversation.id} has no counterpart")
    query = select(ChannelIdentity).where(owner, ChannelIdentity.reachable.is_(True))
    if channel is not None:
        query = query.where(ChannelIdentity.channel == channel)
    identity = await session.scalar(
        query.order_by(
            ChannelIdentity.last_seen_at.desc().nulls_last(), ChannelIdentity.id.desc()
        ).limit(1)
    )
    if identity is None and channel == EMAIL:
        identity = await card_email_identity(session, conversation)
    if identity is None:
        raise NoRoute(f"no reachable identity for conversation {conversation.id}")
    return identity


async def card_email(session: AsyncSession, conversation: Conversation) -> str | None:
    """The e-mail address on the counterpart's card (client or executor), if any."""
    client_id, executor_id = _counterpart(conversation)
    return await _address_on_card(session, client_id, executor_id)


async def card_email_identity(
    session: AsyncSession, conversation: Conversation
) -> ChannelIdentity | None:
    """An e-mail identity made from the address on the counterpart's card, so a manager can
    write first to someone who has never e-mailed the desk (see `email_identity_from_card`)."""
    client_id, executor_id = _counterpart(conversation)
    if client_id is None and executor_id is None:
        return None
    return await email_identity_from_card(session, client_id=client_id, executor_id=executor_id)


async def email_identity_from_card(
    session: AsyncSession, *, client_id: int | None = None, executor_id: int | None = None
) -> ChannelIdentity | None:
    """The e-mail identity of the address on a client's (or executor's) card, made on first
    use; the bots' notices use it too, for a person entered at the desk. None when the card
    has no address, or the address is known as someone else's or as unreachable (bounced)."""
    address = await _address_on_card(session, client_id, executor_id)
    if address is None:
        return None
    # Two notices to one client can be written at once (two of their orders moved together):
    # insert-or-get lets one make the identity and the other find it.
    known = await session.scalar(_EMAIL_IDENTITY, {"address": address})
    if known is None:
        owner = {"client_id": client_id} if client_id is not None else {"executor_id": executor_id}
        known = await insert_identity(
            session, channel=EMAIL, external_id=address, chat_id=address, email=address, **owner
        )
    mine = (
        known.client_id == client_id if client_id is not None
        else known.executor_id == executor_id
    )  # fmt: skip
    return known if mine and known.reachable else None


_EMAIL_IDENTITY = select(ChannelIdentity).where(
    ChannelIdentity.channel == EMAIL, ChannelIdentity.external_id == bindparam("address")
)


def _counterpart(conversation: Conversation) -> tuple[int | None, int | None]:
    """(client id, executor id) of whom the conversation is with; one of them is None."""
    if conversation.kind in CLIENT_SIDE and conversation.client_id is not None:
        return conversation.client_id, None
    if conversation.kind in EXECUTOR_SIDE and conversation.executor_id is not None:
        return None, conversation.executor_id
    return None, None


async def _address_on_card(
    session: AsyncSession, client_id: int | None, executor_id: int | None
) -> str | None:
    if client_id is not None:
        person: Client | Executor | None = await session.get(Client, client_id)
    elif executor_id is not None:
        person = await session.get(Executor, executor_id)
    else:
        return None
    address = (person.email or "").strip().lower() if person is not None else ""
    return address or None


def preview_relay(text: str, locale: str | None = None) -> MaskResult:
    """What the other side would receive: the panel shows it before the manager sends."""
    return mask_contacts(text, gettext(HIDDEN, locale))


async def forward(
    session: AsyncSession,
    message: Message,
    *,
    author_user_id: int,
    text: str | None = None,
    channel: str | None = None,
    locale: str | None = None,
) -> Message:
    """Relay `message` (or the manager's edited `text`) from an order's client thread to its
    executor thread or back, with phones, e-mails, handles and links masked; `locale`: the
    installation's, the language of the placeholder."""
    source = await session.get(Conversation, message.conversation_id)
    if source is None or source.kind not in RELAY or source.order_id is None:
        raise NoRoute("only messages of an order's client or executor thread can be relayed")
    order = await session.get(Order, source.order_id)
    assert order is not None
    if RELAY[source.kind] is ConversationKind.EXECUTOR and order.executor_id is None:
        raise NoRoute(f"order {order.number} has no executor yet")
    target = await order_thread(session, order, RELAY[source.kind])
    masked = preview_relay(text if text is not None else message.text, locale).text
    relayed = await reply(
        session, target, masked, author_user_id=author_user_id, files=list(message.files),
        channel=channel, masked_names=True, locale=locale,
    )  # fmt: skip
    relayed.forwarded_from_id = message.id
    return relayed
