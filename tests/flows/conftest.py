"""Fixtures the flow tests share: a publisher with the bots' reactions and a receiver with
the dialog engine behind it."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.events import LocalPublisher
from handlers.engine import Dialogs
from handlers.reactions import reactions
from handlers.services import Services
from inbox.receive import Receiver


@pytest.fixture
def publisher() -> LocalPublisher:
    publisher = LocalPublisher()
    for reaction in reactions(Services()):
        publisher.add_reaction(reaction)
    return publisher


@pytest.fixture
def receiver(sessions: async_sessionmaker[AsyncSession], publisher: LocalPublisher) -> Receiver:
    return Receiver(sessions, publisher, dialog=Dialogs(Services()))
