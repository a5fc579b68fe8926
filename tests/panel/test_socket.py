"""The panel's live socket: signed-in staff only, a note after a message arrives through the
inbound pipeline, read marks announced, closed cleanly when the app shuts down."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType

from core.models import StaffRole
from inbox.channel import Incoming
from tests.panel.conftest import PASSWORD, AddStaff, OpenPanel, Panel
from tests.panel.inbox_helpers import desk, dispatch, loopback
from webapp.panel.socket import SIGNED_OUT

TIMEOUT = 5.0


async def _next_note(socket: aiohttp.ClientWebSocketResponse, topic: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        while True:
            message = await socket.receive()
            assert message.type is WSMsgType.TEXT, message
            note: dict[str, Any] = json.loads(message.data)
            if note["topic"] == topic:
                return note


async def test_a_received_message_is_announced_on_the_socket(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    assert (await panel.sign_in("maria@desk.example")).status == 303

    async with panel.client.ws_connect("/ws") as socket:
        await asyncio.sleep(0.05)  # the handler subscribes right after the upgrade
        await panel.container.receiver.receive(
            Incoming(channel="loopback", sender_id=f"loopback-{scene.anna}",
                     chat_id=f"loopback-{scene.anna}", message_id="in-1", text="Я тут")
        )  # fmt: skip
        note = await _next_note(socket, "message.created")

    assert note["conversation_id"] == scene.thread_a
    assert note["order_id"] == scene.order_a.id
    assert set(note) <= {"topic", "conversation_id", "order_id", "message_id"}


async def test_opening_a_thread_announces_that_it_was_read(
    panel: Panel, add_staff: AddStaff
) -> None:
    scene = await desk(panel.container, add_staff)
    assert (await panel.sign_in("maria@desk.example")).status == 303

    async with panel.client.ws_connect("/ws") as socket:
        await asyncio.sleep(0.05)
        await panel.client.get(f"/conversations/{scene.thread_a}/thread")
        note = await _next_note(socket, "conversation.read")

    assert note["conversation_id"] == scene.thread_a and note["user_id"] == scene.maria


async def test_nobody_signed_in_gets_no_socket(panel: Panel) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await panel.client.ws_connect("/ws")
    plain = await panel.client.get("/ws", allow_redirects=False)
    assert plain.status == 303


async def test_open_sockets_are_closed_when_the_app_shuts_down(
    open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    await add_staff(StaffRole.OWNER)
    async with open_panel() as panel:
        assert (await panel.sign_in("owner@desk.example")).status == 303
        socket = await panel.client.ws_connect("/ws")
        await asyncio.sleep(0.05)
        async with asyncio.timeout(TIMEOUT):
            await panel.client.app.shutdown()  # type: ignore[union-attr]
            message = await socket.receive()
        assert message.type is WSMsgType.CLOSE
        assert message.data == WSCloseCode.GOING_AWAY
        await socket.close()


async def test_a_delivery_is_announced_on_the_socket(panel: Panel, add_staff: AddStaff) -> None:
    scene = await desk(panel.container, add_staff)
    loopback(panel.container)
    assert (await panel.sign_in("maria@desk.example")).status == 303
    sent = await panel.post(f"/conversations/{scene.thread_a}/reply", {"text": "Готово"})
    assert sent.status == 200

    async with panel.client.ws_connect("/ws") as socket:
        await asyncio.sleep(0.05)
        await dispatch(panel.container)
        note = await _next_note(socket, "delivery.changed")

    assert note["status"] == "sent" and note["message_id"]


async def _closed_with(socket: aiohttp.ClientWebSocketResponse) -> int | None:
    async with asyncio.timeout(TIMEOUT):
        while True:
            message = await socket.receive()
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
                return socket.close_code


@asynccontextmanager
async def _two_browsers(
    panel: Panel, open_panel: OpenPanel, add_staff: AddStaff
) -> AsyncIterator[tuple[Panel, aiohttp.ClientWebSocketResponse, aiohttp.ClientWebSocketResponse]]:
    """Anna signed in on a phone and on the desktop (`panel`), a live socket open on each:
    (phone, desktop socket, phone socket)."""
    await add_staff(StaffRole.MANAGER, "anna@desk.example")
    async with open_panel() as phone:
        await phone.sign_in("anna@desk.example")
        await panel.sign_in("anna@desk.example")
        async with (
            panel.client.ws_connect("/ws") as desktop_socket,
            phone.client.ws_connect("/ws") as phone_socket,
        ):
            await asyncio.sleep(0.05)  # both handlers subscribe right after the upgrade
            yield phone, desktop_socket, phone_socket


async def test_signing_out_closes_that_browsers_socket_only(
    panel: Panel, open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    async with _two_browsers(panel, open_panel, add_staff) as (phone, desktop, on_phone):
        await phone.post("/logout")

        assert await _closed_with(on_phone) == SIGNED_OUT
        assert not desktop.closed


async def test_a_password_change_closes_the_other_browsers_sockets(
    panel: Panel, open_panel: OpenPanel, add_staff: AddStaff
) -> None:
    async with _two_browsers(panel, open_panel, add_staff) as (_phone, desktop, on_phone):
        changed = await panel.post(
            "/account/password",
            {"current": PASSWORD, "new": "new-password-42", "repeat": "new-password-42"},
        )

        assert changed.status == 200
        assert await _closed_with(on_phone) == SIGNED_OUT
        assert not desktop.closed
