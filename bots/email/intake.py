"""One fetched mail into the inbound pipeline: parse it, keep its attachments in the file
store, ignore our own mail come back, and hand the `Incoming` to `receive` (which
de-duplicates by Message-ID: a mail fetched twice is filed once)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bots.email.addresses import ReplyAddresses
from bots.email.files import store_attachments
from bots.email.inbound import is_ours, to_incoming
from bots.email.parse import parse_mail
from inbox.channel import Incoming
from inbox.files import FileStore

log = logging.getLogger(__name__)

Receive = Callable[[Incoming], Awaitable[object]]


class MailIntake:
    def __init__(
        self, addresses: ReplyAddresses, store: FileStore, max_bytes: int, receive: Receive
    ) -> None:
        self.addresses = addresses
        self.store = store
        self.max_bytes = max_bytes
        self._receive = receive

    async def take(self, raw: bytes) -> Incoming | None:
        """The event the mail became (None: our own mail, ignored). Raises what `receive`
        raises: the caller fetches the mail again later."""
        incoming = await self.prepare(raw)
        if incoming is not None:
            await self.deliver(incoming)
        return incoming

    async def prepare(self, raw: bytes) -> Incoming | None:
        """The mail read, its attachments in the file store; None for our own mail."""
        mail = parse_mail(raw)
        if is_ours(mail, self.addresses):
            log.info("e-mail %s is our own, ignored", mail.message_id)
            return None
        files = await store_attachments(self.store, mail.attachments, self.max_bytes)
        return to_incoming(mail, self.addresses, files)

    async def deliver(self, incoming: Incoming) -> object:
        return await self._receive(incoming)
