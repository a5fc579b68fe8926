"""The unified inbox, `GET /inbox`: conversations from every channel, newest activity
first, with unread marks, the channel, the order and its status, the counterpart, a
preview and how long the counterpart has been waiting; filters and search in the URL.

The filter form and "show more" are htmx requests answered with fragments (the list, or
more rows); the list reloads itself on the socket's `message-created`,
`conversation-read` and `reconnected` events with the filters it was drawn with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from core.i18n import N_
from core.lifecycle import STATUS_LABELS
from core.models import OrderStatus
from inbox.models import ConversationKind
from webapp.access.guard import PanelRoutes
from webapp.access.permissions import Permission
from webapp.access.sessions import Staff
from webapp.keys import SERVICES, STAFF
from webapp.panel.conv_compose import add_compose_routes
from webapp.panel.conv_format import KNOWN_CHANNELS, channel_badge
from webapp.panel.conversations import (
    KIND_LABELS,
    add_conversation_routes,
    formatting,
    render_fragment,
)
from webapp.panel.files import add_file_routes
from webapp.panel.render import render_page
from webapp.panel.socket import add_socket_routes
from webapp.queries import (
    InboxCursor,
    InboxFilters,
    InboxRow,
    channels_with_people,
    inbox_page,
    search,
)

PAGE_SIZE = 50
LIST_ID = "inbox-list"
MORE_ID = "inbox-more"
# The "status" filter also offers conversations outside orders.
KIND_CHOICES = {"lead": ConversationKind.LEAD, "application": ConversationKind.APPLICATION}
MATCH_LABELS = {
    "order": N_("order number"),
    "client": N_("client name"),
    "company": N_("company"),
    "phone": N_("phone"),
    "email": N_("e-mail"),
    "text": N_("message text"),
}


def add_inbox_routes(app: web.Application, panel: PanelRoutes) -> None:
    """The inbox, conversations, writing in them, the live socket and file downloads."""
    panel.get("/inbox", inbox, Permission.INBOX, name="inbox")
    add_conversation_routes(panel)
    add_compose_routes(panel)
    add_socket_routes(app, panel)
    add_file_routes(panel)


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """What the person asked for, as it is in the URL."""

    channel: str = ""
    status: str = ""  # an order status, "lead" or "application"
    mine: bool = False
    unanswered: bool = False
    q: str = ""

    @classmethod
    def of(cls, request: web.Request) -> InboxQuery:
        query = request.query
        status = query.get("status", "")
        if status not in KIND_CHOICES and status not in OrderStatus.__members__.values():
            status = ""
        return cls(
            channel=query.get("channel", "")[:32],
            status=status,
            mine=query.get("mine") == "1",
            unanswered=query.get("unanswered") == "1",
            q=" ".join(query.get("q", "").split())[:200],
        )

    def url(self, **extra: str) -> str:
        params = {
            "channel": self.channel, "status": self.status, "mine": "1" if self.mine else "",
            "unanswered": "1" if self.unanswered else "", "q": self.q, **extra,
        }  # fmt: skip
        pairs = {key: value for key, value in params.items() if value}
        return "/inbox" + ("?" + urlencode(pairs) if pairs else "")

    def filters(self, staff: Staff) -> InboxFilters:
        statuses: tuple[OrderStatus, ...] = ()
        kinds: tuple[ConversationKind, ...] = ()
        if self.status in KIND_CHOICES:
            kinds = (KIND_CHOICES[self.status],)
        elif self.status:
            statuses = (OrderStatus(self.status),)
        return InboxFilters(
            channel=self.channel or None, statuses=statuses, assigned_to_me=self.mine,
            unanswered=self.unanswered, only_assigned_to=staff.only_assigned_to, kinds=kinds,
        )  # fmt: skip

    def keeps(self, row: InboxRow, staff: Staff) -> bool:
        """The filters, applied to a search hit (search itself knows none of them)."""
        if self.channel and row.channel != self.channel:
            return False
        if self.status in KIND_CHOICES:
            if row.kind is not KIND_CHOICES[self.status]:
                return False
        elif self.status and (row.order_status is None or row.order_status.value != self.status):
            return False
        if self.mine and row.manager_id != staff.user_id:
            return False
        return not self.unanswered or row.waiting_since is not None


def offered_channels(configured: list[str], in_use: list[str]) -> list[str]:
    """The channel filter's choices: only channels this installation has, configured or
    with someone on them (never a Viber or site chat that does not exist), the usual ones
    first."""
    present = {*configured, *in_use}
    known = [name for name in KNOWN_CHANNELS if name in present]
    return known + sorted(present - set(known))


@dataclass(frozen=True, slots=True)
class Entry:
    row: InboxRow
    matched: str | None = None  # search: what matched
    snippet: str | None = None  # search: the matching text


async def inbox(request: web.Request) -> web.StreamResponse:
    staff: Staff = request[STAFF]
    asked = InboxQuery.of(request)
    before = InboxCursor.parse(request.query.get("before"))
    async with request.app[SERVICES].uow() as uow:
        session = uow.session
        if asked.q:
            found = await search(
                session, asked.q, viewer_id=staff.user_id, limit=PAGE_SIZE,
                only_assigned_to=staff.only_assigned_to,
            )  # fmt: skip
            entries = [
                Entry(hit.row, hit.matched, hit.snippet)
                for hit in found.conversations
                if asked.keeps(hit.row, staff)
            ]
            more = None
        else:
            page = await inbox_page(
                session, viewer_id=staff.user_id, filters=asked.filters(staff),
                limit=PAGE_SIZE, before=before,
            )  # fmt: skip
            entries = [Entry(row) for row in page.rows]
            more = asked.url(before=page.next_cursor.token()) if page.next_cursor else None
        in_use = await channels_with_people(session)
    context = _context(request, asked, entries, more, in_use)
    target = request.headers.get("HX-Target") if request.headers.get("HX-Request") else None
    if target == MORE_ID and before is not None:
        return render_fragment(request, "panel/inbox_rows.html", **context)
    if target == LIST_ID:
        return render_fragment(request, "panel/inbox_list.html", **context)
    return render_page(
        request, "panel/inbox.html", section="inbox", fmt=formatting(request), **context
    )


def _context(
    request: web.Request,
    asked: InboxQuery,
    entries: list[Entry],
    more: str | None,
    in_use: list[str],
) -> dict[str, Any]:
    channels = offered_channels(request.app[SERVICES].channels.names(), in_use)
    return {
        "asked": asked,
        "entries": entries,
        "more_url": more,
        "list_url": asked.url(),
        "list_id": LIST_ID,
        "more_id": MORE_ID,
        "channels": [(name, channel_badge(name)) for name in channels],
        "statuses": [(status.value, STATUS_LABELS[status]) for status in OrderStatus],
        "kind_choices": [("lead", KIND_LABELS[ConversationKind.LEAD]),
                         ("application", KIND_LABELS[ConversationKind.APPLICATION])],
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "match_labels": MATCH_LABELS,
    }  # fmt: skip
