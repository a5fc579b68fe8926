"""The dialog engine: the inbound pipeline's dialog hook. It sees every event first and
either consumes it (a command, a button, the answer a flow step waits for) or leaves it to
be threaded into a conversation. Replies leave through the outbox in the same transaction.

What is handled where is listed in `handlers/routes.py`: commands, button areas (the part
of a button payload before the first ':') and multi-step flows (the `flow` of a saved
state)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

import handlers.routes as routes
from core.db import utcnow
from core.i18n import N_
from core.models import ChannelIdentity, Order
from handlers import staff_link
from handlers.menu import stale_button
from handlers.reply import Reply, button, rows
from handlers.services import Services
from handlers.turn import Turn
from inbox import held
from inbox.channel import Incoming, Outgoing
from inbox.conversations import order_thread
from inbox.models import ConversationKind, DialogState
from inbox.outbox import enqueue

log = logging.getLogger(__name__)

# Ids are INTEGER columns: 32 bits on PostgreSQL.
MAX_ID = 2**31 - 1
MAX_ID_DIGITS = len(str(MAX_ID))

# A wizard left alone longer than this is offered to be continued or started over.
STALE_AFTER = timedelta(hours=12)

STALE_WIZARD = N_("You have an unfinished request from {date}. Continue or start over?")
CONTINUE = N_("Continue")
START_OVER = N_("Start over")


class Dialogs:
    """`await dialogs(session, identity, incoming) -> bool`: True when a flow consumed it."""

    def __init__(self, services: Services | None = None) -> None:
        self.services = services or Services()

    async def __call__(
        self, session: AsyncSession, identity: ChannelIdentity, incoming: Incoming
    ) -> bool:
        turn = Turn(session, identity, incoming, self.services, utcnow())
        turn.state = await session.get(DialogState, identity.id)
        holding = held.held_events(turn.state)
        consumed = await self._route(turn)
        if holding and not turn.in_flow(held.FLOW):
            # "Which order?" was left without an answer (the menu, a command, another
            # flow): what it held is filed where a manager reads it, never dropped.
            await held.release(session, self.services.files, identity, holding)
        await send_replies(session, identity, turn.replies)
        return consumed

    async def _route(self, turn: Turn) -> bool:
        incoming = turn.incoming
        if turn.identity.user_id is not None:
            command, _, argument = turn.text.partition(" ")
            return await staff_link.staff_turn(
                turn, argument.strip() if command == "/start" else ""
            )
        if incoming.location is not None and incoming.edited:
            return await routes.on_location(turn)  # a live location moving
        if turn.text.startswith("/"):
            return await _command(turn)
        if incoming.button:
            return await _button(turn, incoming.button)
        if turn.state is not None:
            return await _answer(turn, turn.state)
        if incoming.location is not None:
            return await routes.on_location(turn)
        return await routes.on_free_text(turn)


async def _command(turn: Turn) -> bool:
    name, _, argument = turn.text[1:].partition(" ")
    name = name.split("@")[0].lower()  # "/start@pult_bot" in groups
    handler = routes.COMMANDS.get(name)
    if handler is None:
        return await routes.on_free_text(turn)
    await handler(turn, argument.strip())
    return True


async def _button(turn: Turn, payload: str) -> bool:
    area, _, rest = payload.partition(":")
    handler = routes.BUTTONS.get(area)
    action, *args = rest.split(":") if rest else [""]
    if handler is None or not all(_id_or_word(arg) for arg in args):
        await stale_button(turn)
        return True
    await handler(turn, action, args)
    return True


def _id_or_word(arg: str) -> bool:
    """False for a number no button of ours carries: beyond the database's ids (PostgreSQL
    refuses the query, SQLite's driver overflows) or digits `int()` does not read ("²").
    Callback data comes from the person's client and a modified client can send anything;
    such a press gets "no longer active" instead of failing the event again and again."""
    if not arg.isdigit():
        return True
    return arg.isascii() and len(arg) <= MAX_ID_DIGITS and int(arg) <= MAX_ID


async def _answer(turn: Turn, state: DialogState) -> bool:
    flow = routes.FLOWS.get(state.flow)
    if flow is None:
        log.warning("identity %s is in unknown flow %r", state.identity_id, state.flow)
        await turn.finish()
        return await routes.on_free_text(turn)
    if flow.resumable and _stale(state, turn.now) and state.step != "stale":
        turn.move("stale", resume_step=state.step)
        turn.say(
            turn.t(STALE_WIZARD, date=state.updated_at.strftime("%d.%m %H:%M")),
            buttons=rows(
                [button(turn.t(CONTINUE), "dlg:resume"), button(turn.t(START_OVER), "dlg:restart")],
                2,
            ),
        )
        return True
    await flow.on_input(turn)
    return True


def _stale(state: DialogState, now: datetime) -> bool:
    return state.step != "stale" and now - state.updated_at > STALE_AFTER


async def send_replies(
    session: AsyncSession, identity: ChannelIdentity, replies: list[Reply]
) -> None:
    """Queue replies for one identity, in order; a reply about an order carries the
    order's thread so that the person's answer to it is filed there."""
    chat_id = identity.chat_id or identity.external_id
    for reply in replies:
        conversation_id = None
        if reply.order_id is not None:
            conversation_id = await _thread_of(session, identity, reply.order_id)
        extra: dict[str, object] = {}
        if reply.remove_keyboard:
            extra["remove_keyboard"] = True
        if reply.edit_of:
            extra["edit_message_id"] = reply.edit_of
        await enqueue(
            session,
            identity,
            Outgoing(
                channel=identity.channel, chat_id=chat_id, text=reply.text, html=reply.html,
                buttons=reply.buttons, files=reply.files, order_id=reply.order_id,
                conversation_id=conversation_id, extra=extra,
            ),
        )  # fmt: skip


async def _thread_of(session: AsyncSession, identity: ChannelIdentity, order_id: int) -> int:
    order = await session.get(Order, order_id)
    assert order is not None
    side = ConversationKind.EXECUTOR if identity.executor_id else ConversationKind.CLIENT
    return (await order_thread(session, order, side)).id
