"""The e-mail channel's outbound half: looks up what the mail continues (the order, the
conversation's last mail), builds it (render.py), sends it with aiosmtplib and turns SMTP
answers into the dispatcher's errors: 4xx and network trouble retryable, a 5xx on the
recipient permanent (`bad_address`: the identity becomes unreachable). The Message-ID we
make is the receipt's external id: the dispatcher keeps it as a thread reference, so the
client's In-Reply-To finds the conversation. It is also the channel's `FileSource`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.email.addresses import ReplyAddresses
from bots.email.config import EmailSettings
from bots.email.files import read_stored
from bots.email.inbound import CHANNEL, OUR_ID_PREFIX
from bots.email.parse import format_address
from bots.email.render import FileBytes, Thread, build_mail, subject_for
from core.models import Order
from inbox.channel import (
    BAD_ADDRESS,
    Capability,
    DeliveryReceipt,
    IncomingFile,
    Outgoing,
    PermanentError,
    RetryableError,
)
from inbox.files import BlobNotFound, FileStore, InvalidStorageKey
from inbox.masking import mask_contacts
from inbox.models import Conversation, ConversationKind, InboundEvent, Message, ThreadRef

log = logging.getLogger(__name__)

FILE_MISSING = "file_missing"
REJECTED = "rejected_by_server"
UNAVAILABLE = "smtp_unavailable"
CAPABILITIES = frozenset({Capability.FILES, Capability.HTML, Capability.URL_BUTTONS})


class EmailChannel:
    def __init__(
        self,
        settings: EmailSettings,
        addresses: ReplyAddresses,
        files: FileStore,
        sessions: async_sessionmaker[AsyncSession],
        *,
        locale: str | None = None,
    ) -> None:
        self.settings = settings
        # The installation's language (PULT_LOCALE): of the subject and the mail's own words.
        self.locale = locale
        self.addresses = addresses
        self.files = files
        self._sessions = sessions

    @property
    def name(self) -> str:
        return CHANNEL

    @property
    def capabilities(self) -> frozenset[Capability]:
        return CAPABILITIES

    async def send(self, message: Outgoing) -> DeliveryReceipt:
        thread, side = await self._thread(message)
        reply_to = None
        if thread.order_number is not None and side is not None:
            reply_to = self.addresses.reply_address(thread.order_number, side)
        message_id = f"{OUR_ID_PREFIX}{secrets.token_hex(12)}@{self.settings.domain}"
        mail = build_mail(
            message,
            sender=format_address(self.settings.address, self.settings.name),
            reply_to=reply_to,
            message_id=message_id,
            subject=subject_for(thread, self.locale, override=message.extra.get("subject")),
            thread=thread,
            files=[await self._file(f.storage_key, f.name, f.content_type) for f in message.files],
            locale=self.locale,
        )
        await self._smtp(mail, message.chat_id)
        return DeliveryReceipt(message_id)

    async def download(self, file: IncomingFile, *, max_bytes: int) -> AsyncIterator[bytes]:
        return await read_stored(self.files, file, max_bytes=max_bytes)

    async def _file(self, key: str, name: str, content_type: str) -> FileBytes:
        try:
            data = b"".join([chunk async for chunk in self.files.open(key)])
        except (BlobNotFound, InvalidStorageKey) as error:
            raise PermanentError(FILE_MISSING, str(error)) from error
        return FileBytes(name, content_type, data)

    async def _smtp(self, mail: object, recipient: str) -> None:
        settings = self.settings
        try:
            await aiosmtplib.send(
                mail,  # type: ignore[arg-type]
                sender=settings.address,
                recipients=[recipient],
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_user,
                password=settings.smtp_password,
                use_tls=settings.smtp_security == "ssl",
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.timeout_seconds,
            )
        except aiosmtplib.SMTPException as error:
            raise classify(error) from error
        except OSError as error:
            raise RetryableError(UNAVAILABLE, str(error)) from error

    async def _thread(self, message: Outgoing) -> tuple[Thread, str | None]:
        """What the mail continues, and which side of the order it goes to."""
        if message.conversation_id is None and message.order_id is None:
            return Thread(), None
        async with self._sessions() as session:
            return await thread_of(session, message)


async def thread_of(session: AsyncSession, message: Outgoing) -> tuple[Thread, str | None]:
    conversation = (
        await session.get(Conversation, message.conversation_id)
        if message.conversation_id is not None
        else None
    )
    order_id = conversation.order_id if conversation is not None else message.order_id
    order = await session.get(Order, order_id) if order_id is not None else None
    side = "client"
    if conversation is not None and conversation.kind in (
        ConversationKind.EXECUTOR,
        ConversationKind.APPLICATION,
    ):
        side = "executor"
    references: list[str] = []
    last_subject = in_reply_to = None
    if conversation is not None:
        references, in_reply_to, last_subject = await _mails_of(session, conversation.id)
    title = order.title if order else None
    if title and side == "executor":
        title = mask_contacts(title).text  # the client's words: no contacts to executors
    return (
        Thread(
            order_number=order.number if order else None,
            order_title=title,
            last_subject=last_subject,
            in_reply_to=in_reply_to,
            references=tuple(references),
        ),
        side if order else None,
    )


async def _mails_of(
    session: AsyncSession, conversation_id: int
) -> tuple[list[str], str | None, str | None]:
    """The conversation's mail ids (theirs and ours, oldest first), the last one of
    theirs, and its subject."""
    theirs = (
        await session.execute(
            select(Message.id, Message.external_id)
            .where(
                Message.conversation_id == conversation_id,
                Message.channel == CHANNEL,
                Message.external_id.is_not(None),
            )
            .order_by(Message.id.desc())
            .limit(10)
        )
    ).all()
    ours = (
        await session.scalars(
            select(ThreadRef.external_id)
            .where(ThreadRef.conversation_id == conversation_id, ThreadRef.channel == CHANNEL)
            .order_by(ThreadRef.id.desc())
            .limit(10)
        )
    ).all()
    last_subject = in_reply_to = None
    inbound = [row for row in theirs if not row.external_id.startswith(OUR_ID_PREFIX)]
    if inbound:
        in_reply_to = inbound[0].external_id
        payload = await session.scalar(
            select(InboundEvent.payload).where(InboundEvent.message_id == inbound[0].id)
        )
        last_subject = ((payload or {}).get("raw") or {}).get("subject") or None
    references = list(dict.fromkeys([*reversed(ours), *(r.external_id for r in reversed(theirs))]))
    return references, in_reply_to, last_subject


def classify(error: aiosmtplib.SMTPException) -> RetryableError | PermanentError:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
        if any(code >= 500 for code in codes):
            return PermanentError(BAD_ADDRESS, detail)
        return RetryableError("smtp_4xx", detail)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        if error.code >= 500:
            return PermanentError(BAD_ADDRESS, f"{error.code} {error.message}")
        return RetryableError("smtp_4xx", f"{error.code} {error.message}")
    if isinstance(error, (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPAuthenticationError)):
        # Our account or address, not the person's: right again once the settings are.
        return RetryableError("smtp_account", f"{error.code} {error.message}")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        if error.code >= 500:
            return PermanentError(REJECTED, f"{error.code} {error.message}")
        return RetryableError("smtp_4xx", f"{error.code} {error.message}")
    return RetryableError(UNAVAILABLE, str(error))
