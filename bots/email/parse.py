"""A mail's bytes as what the channel needs: who wrote to which addresses, the ids it refers
to, its text and HTML in any charset (utf-8, koi8-r, windows-1251, ...), its attachments
and inline images, and whether a machine sent it (auto-reply, bounce). Never raises on
malformed mail: what cannot be read is left empty."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import Message
from email.utils import getaddresses

from bots.email.content import html_to_text
from inbox.channel import Automatic

_MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_HEADER_ID = re.compile(r"^Message-ID:\s*<([^<>\s]{1,250})>", re.I | re.M)
_AUTO_SUBJECT = re.compile(
    r"^\s*(Automatic reply|Auto(matic)?[- ]?(reply|response)|Out of (the )?Office|"
    r"Автоответ|Автоматический ответ|Вне офиса|Я в отпуске)\b",
    re.I,
)
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"(Undeliver|Delivery Status Notification|Mail delivery failed|Returned mail|"
    r"Недоставленное|не доставлено|Не удалось доставить)",
    re.I,
)
_RCPT_TO = re.compile(r"RCPT TO:\s*<([^<>\s]+@[^<>\s]+)>", re.I)
_LISTED = re.compile(r"^[ \t]{2,}<?([^<>\s@]+@[^<>\s@]+\.[a-z]{2,})>?[ \t]*$", re.I | re.M)
RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to")


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str | None
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str
    sender: str  # lower-cased address, "" when there is none
    sender_name: str | None
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]  # nearest first: In-Reply-To, then References backwards
    text: str  # the full body as text (the HTML's text when there is no plain part)
    html: str | None
    attachments: tuple[Attachment, ...] = ()
    automatic: Automatic | None = None
    bounced: tuple[str, ...] = ()  # failed recipients of a delivery report
    diagnostic: str = ""  # what the reporting server said
    date: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def parse_mail(raw: bytes) -> ParsedMail:
    # compat32: headers stay text until asked for; the structured header parser of the
    # default policy costs more than everything else here (bench/email_ingest.py).
    message = message_from_bytes(raw)
    sender_name, sender = _sender(message)
    references = _ids(header(message, "in-reply-to"))
    for ref in reversed(_ids(header(message, "references"))):
        if ref not in references:
            references.append(ref)
    plain, html, attachments = _bodies(message)
    automatic = _automatic(message, sender)
    bounced, diagnostic, original = _delivery_report(message) if automatic else ((), "", None)
    if automatic is Automatic.BOUNCE and not bounced:
        bounced, original = _plain_bounce(plain, original)
    if original and original not in references:
        references.append(original)  # the bounce of a mail we sent: its id threads it
    return ParsedMail(
        message_id=_message_id(message, raw),
        sender=sender,
        sender_name=sender_name,
        recipients=tuple(_recipients(message)),
        subject=_clean(header(message, "subject")).strip(),
        in_reply_to=next(iter(_ids(header(message, "in-reply-to"))), None),
        references=tuple(references),
        text=plain if plain.strip() else html_to_text(html or ""),
        html=html,
        attachments=tuple(attachments),
        automatic=automatic,
        bounced=bounced,
        diagnostic=diagnostic,
        date=header(message, "date") or None,
    )


def header(message: Message, name: str) -> str:
    """A header's decoded value ("" if missing or unreadable)."""
    values = _decoded(message, name)
    return values[0] if values else ""


def _decoded(message: Message, name: str) -> list[str]:
    """A header's values, unfolded and decoded (RFC 2047 words, 8-bit bytes)."""
    return [decode_words(value) for value in _unfolded(message, name)]


def _unfolded(message: Message, name: str) -> list[str]:
    return [_FOLD.sub("", str(v)) for key, v in message.raw_items() if key.lower() == name]


def _addresses(message: Message, *names: str) -> list[tuple[str, str]]:
    """(display name, address) pairs: split before decoding, so that a comma inside an
    encoded name does not split it."""
    values = [value for name in names for value in _unfolded(message, name)]
    return [(decode_words(n), _clean(a)) for n, a in getaddresses(values) if "@" in a]


def decode_words(value: str) -> str:
    try:
        return _clean(str(make_header(decode_header(value))))
    except Exception:  # a broken encoded word, an unknown charset: the text as it is
        return _clean(value)


def _clean(text: str) -> str:
    """Undeclared 8-bit bytes come through as surrogates: read them as windows-1251 or
    utf-8 (the common cases in Russian mail), else drop them. NUL characters go too
    (PostgreSQL refuses them in text)."""
    text = text.replace("\x00", "")
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    for charset in ("utf-8", "cp1251"):
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            continue
    return _clean(data.decode("utf-8", "replace"))


def _ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value)


def _message_id(message: Message, raw: bytes) -> str:
    found = _ids(header(message, "message-id"))
    if found:
        return found[0]
    # No Message-ID (some robots): the content names it, so a second fetch is a duplicate.
    return f"{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.pult"


def _sender(message: Message) -> tuple[str | None, str]:
    for name in ("from", "sender", "return-path"):
        found = _addresses(message, name)
        if found:
            display, address = found[0]
            # The columns they land in: an address is at most 254, a name 200 characters.
            return (display.strip()[:200] or None), address.strip().lower()[:254]
    return None, ""


def _recipients(message: Message) -> list[str]:
    found = _addresses(message, *RECIPIENT_HEADERS)
    return [address.strip().lower()[:254] for _, address in found]


def _bodies(message: Message) -> tuple[str, str | None, list[Attachment]]:
    plain: list[str] = []
    html: list[str] = []
    attachments: list[Attachment] = []
    for part in _walk(message):
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        name = _filename(part)
        if content_type in ("text/plain", "text/html") and disposition != "attachment" and not name:
            (plain if content_type == "text/plain" else html).append(_text_of(part))
        elif content_type.startswith(("message/", "text/rfc822-headers")):
            continue  # reports and forwarded originals: read by _delivery_report
        else:
            data = _payload(part)
            if data is None:
                continue
            content_id = header(part, "content-id").strip("<> ") or None
            inline = disposition == "inline" or (disposition != "attachment" and bool(content_id))
            attachments.append(Attachment(name, content_type, data, inline, content_id))
    return "\n\n".join(p for p in plain if p.strip()), ("\n".join(html) or None), attachments


def _walk(message: Message) -> list[Message]:
    """Every part, without descending into attached mails (message/rfc822)."""
    parts: list[Message] = []
    stack = [message]
    while stack:
        part = stack.pop(0)
        parts.append(part)
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list):
                stack = [p for p in payload if isinstance(p, Message)] + stack
    return parts


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return decode_words(name).strip() or None if name else None


def _text_of(part: Message) -> str:
    data = _payload(part) or b""
    for charset in (part.get_content_charset() or "utf-8", "utf-8", "cp1251"):
        try:
            return _clean(data.decode(charset))
        except (LookupError, ValueError):  # unknown or malformed charset name, bad bytes
            continue
    return _clean(data.decode("utf-8", "replace"))


def _payload(part: Message) -> bytes | None:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return None
    return data if isinstance(data, bytes) else None


def _automatic(message: Message, sender: str) -> Automatic | None:
    content_type = message.get_content_type()
    report = (message.get_param("report-type", "") or "") if content_type else ""
    subject = header(message, "subject")
    if content_type == "multipart/report" and str(report).lower() != "disposition-notification":
        return Automatic.BOUNCE
    if _BOUNCE_SENDER.match(sender) and _BOUNCE_SUBJECT.search(subject):
        return Automatic.BOUNCE
    auto_submitted = header(message, "auto-submitted").strip().lower()
    precedence = header(message, "precedence").strip().lower()
    if (
        (auto_submitted and auto_submitted != "no")
        or header(message, "x-autoreply")
        or header(message, "x-autorespond")
        or precedence in ("bulk", "auto_reply", "junk", "list")
        or content_type == "multipart/report"  # read receipts
        or _AUTO_SUBJECT.match(subject)
    ):
        return Automatic.AUTO_REPLY
    return None


def _delivery_report(message: Message) -> tuple[tuple[str, ...], str, str | None]:
    """(failed recipients, the server's words, the Message-ID of the mail that failed)."""
    failed: list[str] = []
    diagnostic = ""
    original = None
    for part in _walk(message):
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            for block in _status_blocks(part):
                action = header(block, "action").lower()
                recipient = header(block, "final-recipient") or header(block, "original-recipient")
                address = recipient.rpartition(";")[2].strip().strip("<>").lower()
                if "@" in address and action in ("failed", ""):
                    failed.append(address[:254])
                diagnostic = diagnostic or header(block, "diagnostic-code").rpartition(";")[2]
        elif content_type in ("message/rfc822", "text/rfc822-headers"):
            original = original or _original_id(part)
    return tuple(dict.fromkeys(failed)), diagnostic.strip(), original


def _plain_bounce(text: str, original: str | None) -> tuple[tuple[str, ...], str | None]:
    """A bounce in words only (Exim, Mail.ru): the failed addresses it lists and the
    Message-ID of the copy it quotes."""
    failed = _RCPT_TO.findall(text) + _LISTED.findall(text.partition("failed:")[2][:2000])
    found = _HEADER_ID.findall(text)
    addresses = tuple(dict.fromkeys(address.lower() for address in failed))
    return addresses, original or (found[0] if found else None)


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    return [message_from_bytes(chunk.encode()) for chunk in re.split(r"\n\s*\n", text)]


def _original_id(part: Message) -> str | None:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if isinstance(inner, Message):
        found = _ids(header(inner, "message-id"))
    else:
        found = _HEADER_ID.findall(_text_of(part))
    return found[0] if found else None


def format_address(address: str, name: str | None = None) -> str:
    """`Name <address>` with the name encoded as RFC 2047 needs (Russian names)."""
    if not name:
        return address
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=local, domain=domain))
