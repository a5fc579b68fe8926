"""E-mail wired into the processes: the channel (SMTP, registered for the outbox), the
order-tagged reply addresses, and the IMAP listener the worker runs (`email_listener`).

`runtime/bootstrap.py` builds it only when PULT_EMAIL_ADDRESS is set: without it e-mail is
off and nothing of it starts."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.email.addresses import ReplyAddresses
from bots.email.intake import MailIntake, Receive
from bots.email.listener import Mailbox, MailListener
from bots.email.mailbox import MailboxProgress
from bots.email.outbound import EmailChannel
from inbox.files import FileStore
from runtime.settings import Settings


class EmailRuntime:
    """The installation's desk mailbox and what each process does with it."""

    def __init__(
        self,
        settings: Settings,
        files: FileStore,
        sessions: async_sessionmaker[AsyncSession],
        receive: Receive,
    ) -> None:
        email = settings.email
        assert email is not None
        self.settings = email
        self.addresses = ReplyAddresses(email.address, email.tag_pattern, settings.email_secret)
        self.channel = EmailChannel(email, self.addresses, files, sessions, locale=settings.locale)
        self.intake = MailIntake(self.addresses, files, settings.max_file_size, receive)
        self.mailbox = Mailbox(
            host=email.imap_host,
            port=email.imap_port,
            user=email.imap_user,
            password=email.imap_password,
            folder=email.imap_folder,
            ssl=email.imap_ssl,
            processed_folder=email.processed_folder,
            poll_seconds=email.poll_seconds,
            timeout=email.timeout_seconds,
        )
        self.listener = MailListener(
            self.mailbox,
            self.intake.prepare,
            self.intake.deliver,
            MailboxProgress(sessions, self.mailbox.key),
        )

    async def listen(self, stop: asyncio.Event) -> None:
        """Read the mailbox until `stop` (the worker's `email_listener` job)."""
        await self.listener.run(stop)
