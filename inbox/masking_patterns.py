"""Contact detectors run on the normalised copy (see `masking_shadow`): e-mails, links,
@handles, handles named after a messenger or a mail service, and requests to talk off the
desk; phones are in `masking_phones`. Each yields `(kind, start, end)` in the copy."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from inbox.masking_phones import Hit, find_phones
from inbox.masking_words import (
    AT_WORDS,
    CYRILLIC_TLDS,
    DIRECT_CONTACT_PHRASES,
    DOT_WORDS,
    EMAIL_CUES,
    MAIL_PROVIDERS,
    MESSENGER_CUES,
    NICK_CUES,
    NOT_HANDLES,
    NOT_LINKS,
    SLASH_WORDS,
    TLDS,
)

# --- e-mails and links --------------------------------------------------------------------

_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_AT = (
    rf"(?P<at>\s*@\s*|\s*[(\[{{<]\s*(?:@|{AT_WORDS})\s*[)\]}}>]\s*"
    rf"|(?P<weak_at>\s+{AT_WORDS}\s+))"
)
_DOT = rf"(?:\.|\s*[(\[{{<]\s*(?:\.|{DOT_WORDS})\s*[)\]}}>]\s*|\s+{DOT_WORDS}\s+|\s+\.\s*|\.\s+)"
# Inside the name part only unambiguous dots: a plain ". " would pull the sentence before
# the address into it ("Готово. ivan@mail.ru").
_NAME_DOT = rf"(?:\.|[(\[{{<]\s*(?:\.|{DOT_WORDS})\s*[)\]}}>]|\s+{DOT_WORDS}\s+)"
# Real names have a few labels; the bound keeps "a. b. c. d. ..." from costing n² steps.
_MAX_LABELS = 6
_EMAIL = re.compile(
    rf"(?<![\w.+\-])(?P<local>[^\W_][\w+\-]*(?:{_NAME_DOT}[\w+\-]+){{0,4}}){_AT}"
    rf"(?P<domain>{_LABEL}(?:{_DOT}{_LABEL}){{0,{_MAX_LABELS}}})"
)
_BARE_TLD = re.compile(r"\s+([^\W\d_]{2,3})(?![^\W\d_])")
_DOMAIN = re.compile(
    rf"(?<![\w@.\-/:])(?P<body>{_LABEL}(?:{_DOT}{_LABEL}){{1,{_MAX_LABELS}}})"
    rf"(?P<path>\s*(?:/|{SLASH_WORDS})\s*[^\s<>\"'«»]+)?"
)
_URL = re.compile(
    r"(?<![^\W\d_])(?:(?:https?|ftp|tg|viber|whatsapp|intent)\s*:\s*//\s*"
    r"|(?:tel|sms|mailto|skype|viber|tg):(?=[^\s/])|www\s*\.\s*)[^\s<>\"'«»]*"
)
_LABEL_RE = re.compile(_LABEL)
_DOT_RE = re.compile(_DOT)
_ASCII_LABEL = re.compile(r"[a-z0-9-]+")
_ALL_TLDS = TLDS | CYRILLIC_TLDS
_TRAILING = ".,;:!?)]}»\"'"


def find_emails(text: str) -> Iterator[Hit]:
    for match, end in _scan(_EMAIL, text, _email_end):
        yield "email", match.start(), end


def _email_end(match: re.Match[str]) -> int | None:
    """Where an address ends, or None when the match is an ordinary sentence."""
    labels, dots = _split_domain(match, "domain")
    tld = _last_tld(labels, _ALL_TLDS)
    provider = labels[0].group() in MAIL_PROVIDERS
    spoken_at = match.group("weak_at") is not None
    at = match.group("at")
    if at[0].isspace() and at.strip() == "@" and not at[-1].isspace():
        return None  # "пиши @ivan_author.com" is a handle, not "пиши" at a domain
    if tld is None:
        spelled = _BARE_TLD.match(match.string, labels[0].end())  # "мейл ру"
        if provider and spelled and spelled.group(1) in _ALL_TLDS:
            return spelled.end()
        return labels[0].end() if provider and not spoken_at else None
    dots = dots[:tld]
    # A spoken "at" ("собака", "at") is also ordinary language: "we meet at noon. Me and",
    # "у меня собака site.ru". It needs a known provider or a spelled-out dot.
    if spoken_at and (any(_ends_sentence(dot) for dot in dots) or
                      (not provider and all(dot == "." for dot in dots))):  # fmt: skip
        return None
    return labels[tld].end()


def find_links(text: str) -> Iterator[Hit]:
    for match in _URL.finditer(text):
        yield "link", match.start(), _trim(match.group(), match.start())
    for match, end in _scan(_DOMAIN, text, _domain_end):
        yield "link", match.start(), end


def _domain_end(match: re.Match[str]) -> int | None:
    labels, dots = _split_domain(match, "body")
    tld = _last_tld(labels, TLDS)
    if tld is None:
        return None
    kept, dots = labels[: tld + 1], dots[:tld]
    names = [label.group() for label in kept]
    if names[-1] != "рф" and not all(_ASCII_LABEL.fullmatch(name) for name in names):
        return None
    if ".".join(names) in NOT_LINKS:
        return None
    has_path = tld == len(labels) - 1 and match.group("path") is not None
    # "Готово. Me too": a full stop before a space ends a sentence unless a path follows.
    if any(_ends_sentence(dot) for dot in dots) and not has_path:
        return None
    return _trim(match.group(), match.start()) if has_path else kept[-1].end()


def _split_domain(match: re.Match[str], group: str) -> tuple[list[re.Match[str]], list[str]]:
    """The labels of a matched domain and the dots (however spelled) between them."""
    text, end = match.string, match.end(group)
    labels = [_must(_LABEL_RE.match(text, match.start(group), end))]
    dots: list[str] = []
    while (dot := _DOT_RE.match(text, labels[-1].end(), end)) and (
        label := _LABEL_RE.match(text, dot.end(), end)
    ):
        dots.append(dot.group())
        labels.append(label)
    return labels, dots


def _must(match: re.Match[str] | None) -> re.Match[str]:
    if match is None:
        raise AssertionError("the domain group always starts with a label")
    return match


def _ends_sentence(dot: str) -> bool:
    return dot.startswith(".") and len(dot) > 1 and dot[1:].isspace()


def _last_tld(labels: list[re.Match[str]], tlds: frozenset[str]) -> int | None:
    for index in range(len(labels) - 1, 0, -1):
        if labels[index].group() in tlds:
            return index
    return None


def _trim(url: str, start: int) -> int:
    """End of a URL without the sentence punctuation after it; ")" stays if "(" is inside."""
    end = len(url)
    while end and url[end - 1] in _TRAILING:
        if url[end - 1] == ")" and url.count("(", 0, end) >= url.count(")", 0, end):
            break
        end -= 1
    return start + end


# --- handles and direct-contact requests --------------------------------------------------

_HANDLE = re.compile(r"(?<![\w.@])@\s?[^\W\d_][\w.]{3,31}[^\W.]")
# What may stand between a cue and the name: "ник в телеге — ivan", "my telegram is ivan".
# Each step starts with its own spaces and ends on a non-space, so matching stays linear.
_FILLER_WORDS = rf"(?:мой|моя|my|is|это|ник|name|id|айди|в|во|на|on|in|at|{MESSENGER_CUES})"
_FILLER = rf"(?:\s*[:\-=]|\s+{_FILLER_WORDS}(?![^\W\d_]))*"
_NAMED_HANDLE = re.compile(
    rf"(?<![^\W\d_])(?P<cue>{NICK_CUES}|{EMAIL_CUES}|{MESSENGER_CUES})(?![^\W\d_])"
    rf"(?P<filler>{_FILLER})\s*"
    r"(?P<name>@?(?:live:)?[a-z][a-z0-9_.]{2,31}[a-z0-9_])(?![\w@])(?!\.\w)"
)
_CUE_KINDS = ((re.compile(NICK_CUES), "handle"), (re.compile(EMAIL_CUES), "email"))
_ANY_CUE = re.compile(rf"{NICK_CUES}|{EMAIL_CUES}|{MESSENGER_CUES}")
_DIRECT = re.compile(DIRECT_CONTACT_PHRASES)


def find_handles(text: str) -> Iterator[Hit]:
    for match in _HANDLE.finditer(text):
        yield "handle", match.start(), match.end()
    for match, end in _scan(_NAMED_HANDLE, text, _named_handle_end):
        cue = match.group("cue")
        kind = next((k for regex, k in _CUE_KINDS if regex.fullmatch(cue)), "messenger")
        yield kind, match.start("name"), end


def _named_handle_end(match: re.Match[str]) -> int | None:
    name = match.group("name").lstrip("@")
    # "почта на gmail: ivan" - a service name is the next cue, not the handle.
    if name in NOT_HANDLES or _ANY_CUE.fullmatch(name):
        return None
    if not match.group("cue").isascii():
        return match.end("name")  # a Latin word right after "телега" / "ник" is a nickname
    # In English "reply in telegram tomorrow" is common; want a marker or a handle's shape.
    marked = re.search(r"[:=\-]|\bis\b", match.group("filler")) is not None
    shaped = match.group("name").startswith("@") or re.search(r"[0-9_.]", name) is not None
    return match.end("name") if marked or shaped else None


def find_direct_requests(text: str) -> Iterator[Hit]:
    for match in _DIRECT.finditer(text):
        yield "messenger", match.start(), match.end()


def _scan(
    pattern: re.Pattern[str], text: str, accept: Callable[[re.Match[str]], int | None]
) -> Iterator[tuple[re.Match[str], int]]:
    """Accepted matches; a rejected one is retried one character later, so a sentence
    that only looks like the start of an address cannot hide the address after it."""
    position = 0
    while (match := pattern.search(text, position)) is not None:
        end = accept(match)
        if end is None or end <= match.start():
            position = match.start() + 1
        else:
            yield match, end
            position = end


DETECTORS: tuple[Callable[[str], Iterator[Hit]], ...] = (
    find_emails,
    find_links,
    find_phones,
    find_handles,
    find_direct_requests,
)
