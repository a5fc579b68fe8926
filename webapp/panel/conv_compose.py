"""Writing in a conversation: a reply on the counterpart's channel (or a chosen one) with
files, an internal note, and relaying a message between an order's client and executor
threads with contact details masked (the masked text is shown before it is sent).

    POST /conversations/{id}/reply     text, channel, files
    POST /conversations/{id}/note      text, files
    GET  /conversations/{id}/forward   ?message=<id>: the masked preview
    POST /conversations/{id}/forward   message_id, text: relay it

Everything goes through inbox/replies.py, which writes the message and its outbox item in
one transaction; the worker's dispatcher delivers. Answers are the refreshed thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.events import discard_pending
from core.i18n import N_, gettext
from core.models import ChannelIdentity, FilePurpose, Order, StoredFile
from inbox.files import FileStore, FileTooLarge, save_file
from inbox.models import Conversation, ConversationKind, Message
from inbox.replies import RELAY, NoRoute, forward, note, preview_relay, reply
from webapp.access.guard import CSRF_HEADER, PanelRoutes
from webapp.access.permissions import Permission
from webapp.access.sessions import Staff
from webapp.keys import SERVICES, STAFF
from webapp.panel.conv_access import (
    conversation_id_of,
    conversation_info,
    visible_conversation,
)
from webapp.panel.conversations import (
    RECHECK_EVENT,
    RECHECK_HEADER,
    render_fragment,
    thread_context,
)
from webapp.panel.inputs import clean_text, parse_id, posted_form
from webapp.panel.render import panel_locale

MAX_TEXT = 20_000
CHUNK = 256 * 1024
EMPTY = N_("Write a message or attach a file.")
NO_ROUTE = N_("The recipient has no reachable channel for this message.")
TOO_LARGE = N_("The file is too large: at most {mb} MB.")
SENT_MASKED = N_("Forwarded with contact details hidden.")
FORWARD_REFUSED = N_("This message cannot be forwarded: the order has no executor yet.")


def add_compose_routes(panel: PanelRoutes) -> None:
    panel.post("/conversations/{id}/reply", reply_handler, Permission.REPLY, name="reply")
    panel.post("/conversations/{id}/note", note_handler, Permission.REPLY, name="note")
    panel.get("/conversations/{id}/forward", forward_preview, Permission.REPLY)
    panel.post("/conversations/{id}/forward", forward_handler, Permission.REPLY)


@dataclass
class ComposeForm:
    """What the composer sent, filled as it is read (what came before a refused file is
    kept to show again)."""

    files: list[StoredFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.fields.get("text", "")

    @property
    def channel(self) -> str:
        return self.fields.get("channel", "")


async def reply_handler(request: web.Request) -> web.StreamResponse:
    return await _write(request, as_note=False)


async def note_handler(request: web.Request) -> web.StreamResponse:
    return await _write(request, as_note=True)


async def _write(request: web.Request, *, as_note: bool) -> web.StreamResponse:
    staff: Staff = request[STAFF]
    services = request.app[SERVICES]
    locale = panel_locale(request)
    async with services.uow() as uow:
        session = uow.session
        conversation = await visible_conversation(session, staff, conversation_id_of(request))
        form = ComposeForm()
        error = None
        try:
            await read_form(request, session, services.files, conversation, staff.user_id, form)
            if not form.text.strip() and not form.files:
                error = gettext(EMPTY, locale)
            elif as_note or conversation.kind is ConversationKind.NOTES:
                await note(session, conversation, form.text.strip(), author_user_id=staff.user_id,
                           files=form.files)  # fmt: skip
            else:
                info = await conversation_info(session, conversation, writable=services.channels)
                await reply(
                    session, conversation, form.text.strip(), author_user_id=staff.user_id,
                    files=form.files, channel=info.send_channel(form.channel),
                )  # fmt: skip
        except FileTooLarge as exc:
            error = gettext(TOO_LARGE, locale).format(mb=exc.limit // (1024 * 1024))
        except NoRoute:
            error = gettext(NO_ROUTE, locale)
        if error is not None:
            conversation = await _start_over(session, conversation.id)
        composer = {"text": form.text, "channel": form.channel, "error": error} if error else {}
        context = await thread_context(request, session, conversation, composer=composer)
        await uow.commit()
    return _thread_answer(request, context, failed=error is not None)


def _thread_answer(request: web.Request, context: dict[str, Any], *, failed: bool) -> web.Response:
    # htmx swaps only 2xx answers: a refused message comes back as a 200 thread showing the
    # error; a plain form post (no htmx) gets 422.
    status = 422 if failed and not request.headers.get("HX-Request") else 200
    response = render_fragment(request, "panel/_thread.html", status=status, **context)
    response.headers[RECHECK_HEADER] = RECHECK_EVENT
    return response


async def read_form(
    request: web.Request,
    session: AsyncSession,
    store: FileStore,
    conversation: Conversation,
    user_id: int,
    form: ComposeForm,
) -> None:
    """Fill `form` with the composer's fields; files are streamed into the store as they
    arrive (the size limit applies while reading). A form without the CSRF header was
    already read whole by the guard, so its files are taken from there."""

    async def keep(data: AsyncIterator[bytes] | bytes, name: str, declared: str | None) -> None:
        form.files.append(
            await save_file(
                session,
                store,
                data,
                original_name=name,
                purpose=FilePurpose.ATTACHMENT,
                order_id=conversation.order_id,
                client_id=conversation.client_id,
                executor_id=conversation.executor_id,
                uploaded_by=user_id,
                declared_type=declared,
            )
        )

    if request.content_type == "multipart/form-data" and request.headers.get(CSRF_HEADER):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.filename is not None:
                if part.filename:
                    await keep(_chunks(part), part.filename, part.headers.get("Content-Type"))
                else:
                    await part.release()  # an empty file input
            elif part.name:
                form.fields[part.name] = clean_text(await part.text())[:MAX_TEXT]
    else:
        for name, value in (await posted_form(request)).items():
            if isinstance(value, str):
                form.fields[name] = value[:MAX_TEXT]
            elif isinstance(value, web.FileField) and value.filename:
                await keep(value.file.read(), value.filename, value.content_type)


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


async def _relayable(
    session: AsyncSession, conversation: Conversation, message_id: int | None
) -> Message | None:
    """A message of this order thread that may be relayed to the other side, or None."""
    if message_id is None or conversation.kind not in RELAY or conversation.order_id is None:
        return None
    message = await session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        return None
    if RELAY[conversation.kind] is ConversationKind.EXECUTOR:
        order = await session.get(Order, conversation.order_id)
        if order is None or order.executor_id is None:
            return None
    return message


async def forward_preview(request: web.Request) -> web.StreamResponse:
    """The text the other side would receive, masked, in an editable form."""
    staff: Staff = request[STAFF]
    async with request.app[SERVICES].uow() as uow:
        conversation = await visible_conversation(uow.session, staff, conversation_id_of(request))
        message = await _relayable(uow.session, conversation, _int(request.query.get("message")))
        if message is None:
            return web.Response(text="", content_type="text/html")  # "cancel", or nothing to do
        # Rendered inside the unit of work: leaving it without a commit expires the rows.
        return render_fragment(
            request, "panel/_thread_forward.html", conversation=conversation, message=message,
            masked=preview_relay(message.text, request.app[SERVICES].default_locale),
            target=RELAY[conversation.kind],
            channels=await _target_channels(uow.session, conversation),
        )  # fmt: skip


async def forward_handler(request: web.Request) -> web.StreamResponse:
    staff: Staff = request[STAFF]
    locale = panel_locale(request)
    form = await posted_form(request)
    message_id = _int(str(form.get("message_id", "")))
    text = str(form.get("text", ""))[:MAX_TEXT].strip()
    channel = str(form.get("channel", "")) or None
    async with request.app[SERVICES].uow() as uow:
        session = uow.session
        conversation = await visible_conversation(session, staff, conversation_id_of(request))
        message = await _relayable(session, conversation, message_id)
        if message is None:
            raise web.HTTPUnprocessableEntity(text=gettext(FORWARD_REFUSED, locale))
        error = None
        try:
            await forward(
                session, message, author_user_id=staff.user_id,
                text=text or None, channel=channel,
                locale=request.app[SERVICES].default_locale,
            )  # fmt: skip
        except NoRoute:
            error = gettext(NO_ROUTE, locale)
            conversation = await _start_over(session, conversation.id)
        composer = {"error": error} if error else {"notice": gettext(SENT_MASKED, locale)}
        context = await thread_context(request, session, conversation, composer=composer)
        await uow.commit()
    return _thread_answer(request, context, failed=error is not None)


async def _target_channels(session: AsyncSession, conversation: Conversation) -> list[str]:
    order = await session.get(Order, conversation.order_id or 0)
    if order is None:
        return []
    if RELAY[conversation.kind] is ConversationKind.EXECUTOR:
        owner = ChannelIdentity.executor_id == order.executor_id
    else:
        owner = ChannelIdentity.client_id == order.client_id
    rows = await session.scalars(
        select(ChannelIdentity.channel).where(owner, ChannelIdentity.reachable.is_(True))
    )
    return list(dict.fromkeys(rows))


async def _start_over(session: AsyncSession, conversation_id: int) -> Conversation:
    """Undo what a refused message wrote (its uploaded files' rows) and reload the
    conversation the rollback expired."""
    await session.rollback()
    discard_pending(session)
    conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    return conversation


def _int(value: str | None) -> int | None:
    return parse_id(value)
