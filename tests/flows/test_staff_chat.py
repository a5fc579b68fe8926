"""A staff member's own chat with the bot: linked with a one-time code, answered with what
the chat is for, never filed as a client's message; a new code re-links it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.events import LocalPublisher
from core.models import ChannelIdentity, StaffRole
from handlers.engine import Dialogs
from handlers.services import Services
from inbox.models import Message
from inbox.receive import Receiver
from inbox.staff_link import issue_link_code
from tests import builders
from tests.chat import Chat, texts


async def test_a_linked_manager_is_answered_not_filed_and_can_relink(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        first = await builders.staff(session, StaffRole.MANAGER, "first@desk.test")
        second = await builders.staff(session, StaffRole.OWNER, "second@desk.test")
        code = await issue_link_code(session, first)
        await session.commit()
    chat = Chat(sessions, Receiver(sessions, LocalPublisher(), dialog=Dialogs(Services())))

    linked = await chat.send(f"/start {code}")
    assert texts(linked) == [
        f"Готово, {first.name}: в этот чат теперь приходят уведомления службы заказов."
    ]
    answered = await chat.send("Клиент ждёт ответа?")
    assert answered[0].text.startswith(
        f"Этот чат получает уведомления службы заказов для {first.name}."
    )

    async with sessions() as session:
        new_code = await issue_link_code(session, second)
        await session.commit()
    await chat.send(f"/start {new_code}")
    async with sessions() as session:
        identity = await session.scalar(select(ChannelIdentity))
        filed = await session.scalar(select(func.count(Message.id)))
    assert identity is not None and identity.user_id == second.id
    assert filed == 0
