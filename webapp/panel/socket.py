"""The panel's one real-time socket, `GET /ws`: every open panel tab holds one WebSocket,
fed by one bus subscription, and gets a small JSON note after each commit that matters to
the pages (`{"topic": "message.created", "conversation_id": 12, "order_id": 7}`).
webapp/static/panel.js turns each note into a DOM event that htmx elements refresh on.

Notes say only what changed; pages reload what they show from the database. A bus gap
(the subscription fell behind, or Redis reconnected) is sent as `reconnected`: reload
everything. The socket is pinged every HEARTBEAT seconds (a proxy or a phone that went
away is noticed), closed with "going away" when the app shuts down, and closed with
SIGNED_OUT as soon as its session is ended (signing out, a password change elsewhere, the
owner changing the person's role or deactivating them)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from inbox.bus import (
    CONVERSATION_READ,
    DELIVERY_CHANGED,
    GAP,
    MESSAGE_CREATED,
    MONEY_MOVED,
    ORDER_CHANGED,
    BusMessage,
    BusUnavailable,
    Subscription,
)
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.access.sessions import SESSIONS_ENDED, Staff, ends_session
from webapp.keys import SERVICES, STAFF

log = logging.getLogger(__name__)

TOPICS = (MESSAGE_CREATED, ORDER_CHANGED, CONVERSATION_READ, DELIVERY_CHANGED, MONEY_MOVED)
RECONNECTED = "reconnected"
HEARTBEAT = 25.0  # seconds; below the usual 60 s idle timeout of reverse proxies
# Ids and a status, nothing personal: what a page needs to decide whether to reload.
NOTE_FIELDS = ("conversation_id", "order_id", "message_id", "status", "user_id", "client_id")

# A close code of the application range (4000-4999): the session behind the socket ended.
SIGNED_OUT = 4401

OPEN_SOCKETS = web.AppKey("panel_sockets", weakref.WeakSet[web.WebSocketResponse])


def add_socket_routes(app: web.Application, panel: PanelRoutes) -> None:
    app[OPEN_SOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(close_sockets)
    panel.get("/ws", live_socket, Permission.INBOX, name="live")


def note_for(message: BusMessage) -> dict[str, Any]:
    if message.topic == GAP:
        return {"topic": RECONNECTED}
    note: dict[str, Any] = {"topic": message.topic}
    for name in NOTE_FIELDS:
        if message.payload.get(name) is not None:
            note[name] = message.payload[name]
    return note


async def live_socket(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    socket = web.WebSocketResponse(heartbeat=HEARTBEAT)
    if not socket.can_prepare(request).ok:
        raise web.HTTPBadRequest(text="a WebSocket upgrade is expected here")
    await socket.prepare(request)
    sockets = request.app[OPEN_SOCKETS]
    sockets.add(socket)
    try:
        bus = request.app[SERVICES].bus
        async with bus.subscribe(*TOPICS, SESSIONS_ENDED) as subscription:
            pump = asyncio.create_task(_forward(subscription, socket, staff))
            try:
                await _read_until_closed(socket)
            finally:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
    except BusUnavailable:
        log.warning("panel socket: the event bus is unavailable")
        await socket.close(code=WSCloseCode.TRY_AGAIN_LATER)
    finally:
        sockets.discard(socket)
    return socket


async def _read_until_closed(socket: web.WebSocketResponse) -> None:
    """The browser sends nothing but pongs and its close; reading is what notices them."""
    async for message in socket:
        if message.type is WSMsgType.ERROR:
            break


async def _forward(subscription: Subscription, socket: web.WebSocketResponse, staff: Staff) -> None:
    async for message in subscription:
        if socket.closed:
            break
        if message.topic == SESSIONS_ENDED:
            if ends_session(message.payload, staff):
                # panel.js sends the tab to the sign-in page on this code.
                await socket.close(code=SIGNED_OUT, message=b"signed out")
                return
            continue
        try:
            await socket.send_json(note_for(message))
        except ConnectionError:
            break
    # The bus ended this subscription (shutting down): let the browser reconnect.
    if not socket.closed:
        await socket.close(code=WSCloseCode.GOING_AWAY)


async def close_sockets(app: web.Application) -> None:
    """on_shutdown: without this, aiohttp would wait for every open socket."""
    sockets = app[OPEN_SOCKETS]
    for socket in list(sockets):
        await socket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
