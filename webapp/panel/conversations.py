"""A conversation in the panel: the full page (thread + who, where, which order), the thread
fragment the order card embeds, "load older", read marks and retrying a failed delivery.

    GET  /conversations/{id}           the page
    GET  /conversations/{id}/thread    fragment: messages + composer (marks read)
    GET  /conversations/{id}/messages  fragment: the messages (?before=<id>: older ones)
    POST /conversations/{id}/read      mark read up to the newest message
    POST /conversations/{id}/retry     outbox_id=<id>: send a failed message again

Writing (reply, note, forward) is in webapp/panel/conv_compose.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import record
from core.i18n import N_
from core.lifecycle import STATUS_LABELS
from inbox.dispatcher import describe_reason, retry_failed
from inbox.events import OutboxQueued
from inbox.models import Conversation, ConversationKind, Message, OutboxItem
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.keys import SERVICES, STAFF
from webapp.panel import conv_format
from webapp.panel.conv_access import (
    ConversationInfo,
    conversation_id_of,
    conversation_info,
    mark_read,
    visible_conversation,
)
from webapp.panel.inputs import parse_id, posted_form
from webapp.panel.render import panel_locale, render_page
from webapp.queries import ThreadView, thread_messages
from webapp.templating import render

KIND_LABELS = {
    ConversationKind.CLIENT: N_("Client thread"),
    ConversationKind.EXECUTOR: N_("Executor thread"),
    ConversationKind.NOTES: N_("Internal notes"),
    ConversationKind.LEAD: N_("Lead"),
    ConversationKind.APPLICATION: N_("Executor application"),
}


# An answer rendered before the dispatcher or the socket had their say may be overtaken by
# their events while it travels: once it is swapped in and live, the threads look again.
RECHECK_HEADER = "HX-Trigger-After-Settle"
RECHECK_EVENT = "pult:thread-written"


def add_conversation_routes(panel: PanelRoutes) -> None:
    panel.get("/conversations/{id}", page, Permission.INBOX, name="conversation")
    panel.get("/conversations/{id}/thread", thread, Permission.INBOX, name="conversation_thread")
    panel.get("/conversations/{id}/messages", messages, Permission.INBOX)
    panel.post("/conversations/{id}/read", read, Permission.INBOX)
    panel.post("/conversations/{id}/retry", retry, Permission.REPLY)


@dataclass(frozen=True, slots=True)
class Formatting:
    """What templates call to show times, channels and delivery failures."""

    tz: ZoneInfo
    locale: str

    def full(self, moment: Any) -> str:
        return conv_format.full_time(moment, self.tz)

    def short(self, moment: Any) -> str:
        return conv_format.short_time(moment, self.tz)

    def waiting(self, since: Any) -> str | None:
        return conv_format.waiting(since, self.locale)

    def waiting_minutes(self, since: Any) -> int:
        return conv_format.waiting_minutes(since)

    def badge(self, channel: str | None) -> conv_format.ChannelBadge:
        return conv_format.channel_badge(channel)

    def size(self, size: int) -> str:
        return conv_format.file_size(size, self.locale)

    def reason(self, reason: str | None) -> str:
        return describe_reason(reason, self.locale) if reason else ""


def formatting(request: web.Request) -> Formatting:
    return Formatting(request.app[SERVICES].tz, panel_locale(request))


def fragment_context(request: web.Request, **context: Any) -> dict[str, Any]:
    """What a partial needs that render_page would otherwise add."""
    staff = request[STAFF]
    return {
        "staff": staff,
        "csrf_token": staff.csrf_token,
        "Permission": Permission,
        "fmt": formatting(request),
        "status_labels": STATUS_LABELS,
        "kind_labels": KIND_LABELS,
        **context,
    }


def render_fragment(
    request: web.Request, name: str, status: int = 200, **context: Any
) -> web.Response:
    response = render(request, name, panel_locale(request), **fragment_context(request, **context))
    response.set_status(status)
    return response


async def thread_context(
    request: web.Request,
    session: AsyncSession,
    conversation: Conversation,
    *,
    composer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The thread's messages (marking them read) and its composer's state."""
    staff = request[STAFF]
    writable = request.app[SERVICES].channels
    info = await conversation_info(session, conversation, writable=writable)
    view = await thread_messages(session, conversation.id)
    assert view is not None
    await mark_read(session, conversation.id, staff.user_id)
    return {
        "info": info,
        "conversation": conversation,
        "view": view,
        "composer": {"text": "", "error": None, "notice": None, "channel": "", **(composer or {})},
        "with_styles": False,
    }


async def page(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    async with request.app[SERVICES].uow() as uow:
        conversation = await visible_conversation(uow.session, staff, conversation_id_of(request))
        context = await thread_context(request, uow.session, conversation)
        await uow.commit()
    return render_page(
        request, "panel/conversation.html", section="inbox",
        fmt=formatting(request), status_labels=STATUS_LABELS, kind_labels=KIND_LABELS,
        **context,
    )  # fmt: skip


async def thread(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    async with request.app[SERVICES].uow() as uow:
        conversation = await visible_conversation(uow.session, staff, conversation_id_of(request))
        context = await thread_context(request, uow.session, conversation)
        await uow.commit()
    # Embedded in pages that do not load inbox.css (the order card): it comes along.
    return render_fragment(request, "panel/_thread.html", **{**context, "with_styles": True})


async def messages(request: web.Request) -> web.StreamResponse:
    """The messages alone: the thread's live refresh, or an older page (`?before=`)."""
    staff = request[STAFF]
    before = _int(request.query.get("before"))
    async with request.app[SERVICES].uow() as uow:
        conversation = await visible_conversation(uow.session, staff, conversation_id_of(request))
        info = await conversation_info(uow.session, conversation)
        view = await thread_messages(uow.session, conversation.id, before_id=before)
        assert view is not None
        if before is None:
            await mark_read(uow.session, conversation.id, staff.user_id)
        await uow.commit()
    return render_fragment(
        request, "panel/_thread_messages.html", info=info, conversation=conversation, view=view
    )


async def read(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    async with request.app[SERVICES].uow() as uow:
        conversation = await visible_conversation(uow.session, staff, conversation_id_of(request))
        await mark_read(uow.session, conversation.id, staff.user_id)
        await uow.commit()
    return web.Response(status=204)


async def retry(request: web.Request) -> web.StreamResponse:
    staff = request[STAFF]
    form = await posted_form(request)
    item_id = _int(str(form.get("outbox_id", "")))
    if item_id is None:
        raise web.HTTPUnprocessableEntity(text="outbox_id is required")
    async with request.app[SERVICES].uow() as uow:
        session = uow.session
        conversation = await visible_conversation(session, staff, conversation_id_of(request))
        owner = (
            await session.execute(
                select(Message.conversation_id, OutboxItem.channel)
                .join(OutboxItem, OutboxItem.message_id == Message.id)
                .where(OutboxItem.id == item_id)
            )
        ).first()
        if owner is None or owner.conversation_id != conversation.id:
            raise web.HTTPNotFound()
        try:
            await retry_failed(session, item_id)
        except LookupError:
            raise web.HTTPConflict(text="this message is not waiting for a retry") from None
        # Wakes the dispatcher now rather than at its next poll.
        record(session, OutboxQueued(outbox_id=item_id, channel=owner.channel))
        info = await conversation_info(session, conversation)
        view: ThreadView | None = await thread_messages(session, conversation.id)
        await uow.commit()
    response = render_fragment(
        request, "panel/_thread_messages.html", info=info, conversation=conversation, view=view
    )
    response.headers[RECHECK_HEADER] = RECHECK_EVENT
    return response


def _int(value: str | None) -> int | None:
    return parse_id(value)


__all__ = ["ConversationInfo", "add_conversation_routes", "render_fragment", "thread_context"]
