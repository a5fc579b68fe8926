"""An `Outgoing` as a MIME mail: text with an HTML alternative (the bots' cards and their
buttons made readable in both), attachments (RFC 2231 file names, RFC 2047 display names:
Russian is safe in both), From the desk, Reply-To the order-tagged address, our Message-ID,
In-Reply-To / References continuing the thread, and `[#<order number>]` in the subject."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime

from core.db import utcnow
from core.i18n import N_, gettext
from inbox.channel import Outgoing

ORDER_SUBJECT = N_("Order #{number}")
DESK_SUBJECT = N_("Message from the desk")
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|ответ|отв)\s*(\[\d+\])?\s*:\s*)+", re.I)
MAX_REFERENCES = 10
REPLY_WITH_CHOICE = N_(
    "To answer, reply to this e-mail with one of these choices or in your own words; "
    "a manager will read your reply:"
)
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAG = re.compile(r"</?[a-z][^>]*>", re.I)


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
    locale: str | None = None,
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
    text, markup = bodies(message, locale)
    mail.set_content(text, cte="quoted-printable")
    mail.add_alternative(markup, subtype="html", cte="quoted-printable")
    for file in files:
        maintype, _, subtype = file.content_type.partition("/")
        mail.add_attachment(
            file.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=file.name,
        )
    return mail


def bodies(message: Outgoing, locale: str | None = None) -> tuple[str, str]:
    """The text part and the HTML part of a message. A flow's card comes as the bots'
    markup (`handlers.reply`: escaped text with <b>, <i>, <a href> and line breaks); a
    manager's reply as plain text. Buttons become what a mail can hold: a link button its
    link, the others the choices listed, answered by replying (a manager reads the reply:
    mail never reaches a bot flow)."""
    markup = message.html if message.html is not None else html.escape(message.text, quote=False)
    links = [b for row in message.buttons for b in row if b.kind == "url" and b.payload]
    choices = [b.label for row in message.buttons for b in row if b.kind == "callback"]
    text_parts = [markup_as_text(markup)]
    html_parts = [markup.strip()]
    if links:
        text_parts.append("\n".join(f"{b.label}: {b.payload}" for b in links))
        html_parts.append(
            "\n".join(
                f'<a href="{html.escape(b.payload or "")}">{html.escape(b.label)}</a>'
                for b in links
            )
        )
    if choices:
        intro = gettext(REPLY_WITH_CHOICE, locale)
        text_parts.append("\n".join([intro, *(f"- {label}" for label in choices)]))
        html_parts.append(
            "\n".join([html.escape(intro), *(f"— {html.escape(label)}" for label in choices)])
        )
    text = "\n\n".join(part for part in text_parts if part.strip())
    return text + "\n", _document("\n\n".join(part for part in html_parts if part.strip()))


def markup_as_text(markup: str) -> str:
    """The bots' markup as plain text: a link keeps its address, tags go, entities are
    read back (`&lt;` is the "<" a person typed)."""
    linked = _LINK.sub(
        lambda m: m.group(2) if m.group(2) == m.group(1) else f"{m.group(2)} ({m.group(1)})",
        markup,
    )
    return html.unescape(_TAG.sub("", linked)).strip()


def text_as_html(text: str) -> str:
    return _document(html.escape(text.strip(), quote=False))


def _document(markup: str) -> str:
    """Safe markup as an HTML mail: paragraphs at blank lines, <br> at line breaks (a
    mail reader joins lines that HTML does not break)."""
    paragraphs = [
        "<p>" + chunk.strip("\n").replace("\n", "<br>\n") + "</p>"
        for chunk in re.split(r"\n\s*\n", markup.strip())
        if chunk.strip()
    ]
    return (
        '<html><body style="font-family: sans-serif">\n'
        + "\n".join(paragraphs)
        + "\n</body></html>"
    )
