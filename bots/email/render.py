"""An `Outgoing` as a MIME mail: text with an HTML alternative, attachments (RFC 2231 file
names, RFC 2047 display names: Russian is safe in both), From the desk, Reply-To the
order-tagged address, our Message-ID, In-Reply-To / References continuing the thread, and
`[#<order number>]` in the subject."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from core.db import utcnow
from core.i18n import N_, gettext
from inbox.channel import Button, Outgoing

ORDER_SUBJECT = N_("Order #{number}")
DESK_SUBJECT = N_("Message from the desk")
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|ответ|отв)\s*(\[\d+\])?\s*:\s*)+", re.I)
MAX_REFERENCES = 10


@dataclass(frozen=True, slots=True)
class Thread:
    """What the mail continues: the order (number, title), the last mail of the
    conversation (its id and subject) and the ids before it."""

    order_number: int | None = None
    order_title: str | None = None
    last_subject: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()  # oldest first


@dataclass(frozen=True, slots=True)
class FileBytes:
    name: str
    content_type: str
    data: bytes


def subject_for(thread: Thread, locale: str | None = None, override: str | None = None) -> str:
    """`Re: <their subject>` when answering a mail, else the order's; `[#N]` always
    when there is an order (the subject rule of threading relies on it)."""
    if override:
        subject = override
    elif thread.last_subject:
        subject = "Re: " + _REPLY_PREFIX.sub("", thread.last_subject)
    elif thread.order_number is not None:
        subject = gettext(ORDER_SUBJECT, locale).format(number=thread.order_number)
        if thread.order_title:
            subject += f": {thread.order_title}"
    else:
        subject = gettext(DESK_SUBJECT, locale)
    tag = f"[#{thread.order_number}]"
    if thread.order_number is not None and tag not in subject:
        subject = f"{subject} {tag}" if subject.lower().startswith("re:") else f"{tag} {subject}"
    return " ".join(subject.split())[:250]


def build_mail(
    message: Outgoing,
    *,
    sender: str,
    reply_to: str | None,
    message_id: str,
    subject: str,
    thread: Thread,
    files: list[FileBytes],
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = message.chat_id
    if reply_to:
        mail["Reply-To"] = reply_to
    mail["Subject"] = subject
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = f"<{message_id}>"
    if thread.in_reply_to:
        mail["In-Reply-To"] = f"<{thread.in_reply_to}>"
    references = [*thread.references[-MAX_REFERENCES:]]
    if thread.in_reply_to and thread.in_reply_to not in references:
        references.append(thread.in_reply_to)
    if references:
        mail["References"] = " ".join(f"<{ref}>" for ref in references)
    # Ours is an answer from a person, but robots must not answer it automatically.
    mail["Auto-Submitted"] = "no"
    mail["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    text = message.text + _links_as_text(message.buttons)
    mail.set_content(text, cte="quoted-printable")
    mail.add_alternative(message.html or text_as_html(text), subtype="html")
    for file in files:
        maintype, _, subtype = file.content_type.partition("/")
        mail.add_attachment(
            file.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.name,
        )
    return mail


def text_as_html(text: str) -> str:
    paragraphs = [
        "<p>" + html.escape(chunk).replace("\n", "<br>\n") + "</p>"
        for chunk in re.split(r"\n\s*\n", text.strip())
    ]
    return (
        '<html><body style="font-family: sans-serif">\n'
        + "\n".join(paragraphs)
        + "\n</body></html>"
    )


def _links_as_text(rows: tuple[tuple[Button, ...], ...]) -> str:
    """Mail has no buttons: a link button becomes its address; the others are left out
    (an e-mail reader answers in words)."""
    links = [
        f"{b.label}: {b.payload}" for row in rows for b in row if b.kind == "url" and b.payload
    ]
    return "\n\n" + "\n".join(links) if links else ""
