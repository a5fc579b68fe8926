"""How far a mailbox has been read, kept in the database (`mailbox_states`): the last UID
taken, valid while the server's UIDVALIDITY stays the same. A changed UIDVALIDITY (the
folder was recreated, the server migrated) starts from the first UID again: what was
already filed comes back as duplicates of known Message-IDs and is skipped."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import utcnow
from inbox.models import MailboxState

log = logging.getLogger(__name__)


class MailboxProgress:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], mailbox: str) -> None:
        self._sessions = sessions
        self.mailbox = mailbox

    async def resume(self, uid_validity: int) -> int:
        """The last UID taken under `uid_validity` (0: take everything)."""
        async with self._sessions() as session:
            state = await session.get(MailboxState, self.mailbox)
            if state is None:
                session.add(
                    MailboxState(mailbox=self.mailbox, uid_validity=uid_validity, last_uid=0)
                )
                await session.commit()
                return 0
            if state.uid_validity != uid_validity:
                log.warning(
                    "e-mail: %s changed UIDVALIDITY (%s -> %s): reading it from the start",
                    self.mailbox, state.uid_validity, uid_validity,
                )  # fmt: skip
                state.uid_validity, state.last_uid = uid_validity, 0
                await session.commit()
                return 0
            return state.last_uid

    async def advance(self, uid_validity: int, last_uid: int) -> None:
        async with self._sessions() as session:
            state = await session.get(MailboxState, self.mailbox)
            if state is None:
                state = MailboxState(mailbox=self.mailbox, uid_validity=uid_validity, last_uid=0)
                session.add(state)
            state.uid_validity = uid_validity
            state.last_uid = max(state.last_uid or 0, last_uid)
            state.updated_at = utcnow()
            await session.commit()
