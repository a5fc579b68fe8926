"""One turn of a dialog: who wrote what, their saved state, the replies being collected,
and the services flows call. The engine sends the replies through the outbox when the
turn ends, in the same transaction as everything the flow changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import gettext, normalize_locale
from core.models import ChannelIdentity, Client, Executor
from core.transitions import Actor
from handlers.reply import Reply
from handlers.services import Services
from inbox.channel import Incoming
from inbox.models import DialogState


@dataclass
class Turn:
    session: AsyncSession
    identity: ChannelIdentity
    incoming: Incoming
    services: Services
    now: datetime
    state: DialogState | None = None
    replies: list[Reply] = field(default_factory=list)

    @property
    def locale(self) -> str:
        return normalize_locale(self.identity.locale, self.services.locale)

    def t(self, message: str, **values: Any) -> str:
        """Translate a message id into the person's language and fill in the values."""
        text = gettext(message, self.locale)
        return text.format(**values) if values else text

    def say(self, text: str = "", **reply: Any) -> None:
        self.replies.append(Reply(text=text, **reply))

    @property
    def text(self) -> str:
        return (self.incoming.text or "").strip()

    # --- who is writing ---------------------------------------------------------------

    async def client(self) -> Client | None:
        if self.identity.client_id is None:
            return None
        return await self.session.get(Client, self.identity.client_id)

    async def executor(self) -> Executor | None:
        if self.identity.executor_id is None:
            return None
        return await self.session.get(Executor, self.identity.executor_id)

    def client_actor(self) -> Actor:
        assert self.identity.client_id is not None
        return Actor.client(self.identity.client_id)

    def executor_actor(self) -> Actor:
        assert self.identity.executor_id is not None
        return Actor.executor(self.identity.executor_id)

    # --- the saved state of a multi-step flow ------------------------------------------

    def begin(self, flow: str, step: str, data: dict[str, Any] | None = None) -> DialogState:
        if self.state is None:
            self.state = DialogState(identity_id=self.identity.id)
            self.session.add(self.state)
        self.state.flow, self.state.step, self.state.data = flow, step, dict(data or {})
        self.state.updated_at = self.now
        return self.state

    def move(self, step: str, **data: Any) -> None:
        assert self.state is not None, "move() outside a flow"
        self.state.step = step
        # A new dict, so the JSON column sees the change.
        self.state.data = {**self.state.data, **data}
        self.state.updated_at = self.now

    async def finish(self) -> None:
        if self.state is not None:
            await self.session.delete(self.state)
            self.state = None

    def in_flow(self, flow: str) -> bool:
        return self.state is not None and self.state.flow == flow
