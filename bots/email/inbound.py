"""A parsed mail as the inbound pipeline's `Incoming`: the Message-ID is the event's id (a
mail fetched twice is a duplicate), the text is what the manager reads (quotes and the
signature trimmed; the original is kept in the raw event and the html), and the threading
hint is read from the mail itself (ARCHITECTURE §4): a tagged recipient with a valid token,
then In-Reply-To / References, then `[#1042]` in the subject."""

from __future__ import annotations

import re

from bots.email.addresses import ReplyAddresses, Tag
from bots.email.content import display_text
from bots.email.parse import ParsedMail
from inbox.channel import Automatic, Incoming, IncomingFile, ThreadHint

CHANNEL = "email"
OUR_ID_PREFIX = "pult."  # the Message-IDs we make: pult.<random>@<desk domain>
SUBJECT_NUMBER = re.compile(r"\[#(\d{1,9})\]")
REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|ответ|отв|пересл)\s*(\[\d+\])?\s*:\s*)+", re.I)
MAX_ORIGINAL = 100_000  # characters of the untrimmed body kept in the raw event
MAX_NOTE = 500  # characters of an auto-reply quoted in its system note


def is_ours(mail: ParsedMail, addresses: ReplyAddresses) -> bool:
    """A mail we sent, come back (a copy to ourselves, a server echoing it): ignored."""
    domain = addresses.desk_address.rpartition("@")[2].lower()
    own_id = mail.message_id.startswith(OUR_ID_PREFIX) and mail.message_id.lower().endswith(
        "@" + domain
    )
    return own_id or mail.sender == addresses.desk_address.lower()


def tag_of(mail: ParsedMail, addresses: ReplyAddresses) -> Tag | None:
    for recipient in mail.recipients:
        tag = addresses.read(recipient)
        if tag is not None:
            return tag
    return None


def thread_hint(mail: ParsedMail, addresses: ReplyAddresses) -> ThreadHint:
    tag = tag_of(mail, addresses)
    if tag is not None:
        return ThreadHint(tag.order_number, tag.side, proven=True, references=mail.references)
    found = SUBJECT_NUMBER.search(mail.subject)
    number = int(found[1]) if found else None
    return ThreadHint(number, None, proven=False, references=mail.references)


def to_incoming(
    mail: ParsedMail, addresses: ReplyAddresses, files: tuple[IncomingFile, ...] = ()
) -> Incoming:
    return Incoming(
        channel=CHANNEL,
        sender_id=mail.sender or f"unknown@{mail.message_id}"[:254],
        chat_id=mail.sender or None,
        message_id=mail.message_id,
        text=_text(mail),
        files=files,
        reply_to=mail.in_reply_to,
        sender_name=mail.sender_name,
        raw={
            "subject": mail.subject,
            "from": mail.sender,
            "to": list(mail.recipients),
            "date": mail.date,
            "original_text": mail.text[:MAX_ORIGINAL],
        },
        html=mail.html,
        thread=thread_hint(mail, addresses),
        conversational=False,
        automatic=mail.automatic,
        unreachable=mail.bounced if mail.automatic is Automatic.BOUNCE else (),
    )


def _text(mail: ParsedMail) -> str:
    if mail.automatic is Automatic.BOUNCE:
        who = ", ".join(mail.bounced) or mail.sender
        return f"{who}: {mail.diagnostic or mail.subject}".strip()
    body = display_text(mail.text)
    if mail.automatic is not None:
        return f"{mail.subject}\n{body[:MAX_NOTE]}".strip()
    if mail.in_reply_to is None and mail.subject and not REPLY_PREFIX.match(mail.subject):
        return f"{mail.subject}\n\n{body}".strip()  # a first mail: its subject says what about
    return body
