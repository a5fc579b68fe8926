"""What a manager reads of a mail: the new text without the quoted history and the
signature (Gmail, Outlook, Apple Mail, Yandex and Mail.ru styles), and HTML-only mail as
readable text. The original is kept beside it (the message's html, the raw event)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_EMAIL = r"[^<>\s]+@[^<>\s]+"
# A line that opens the quoted original, in the styles the common clients write.
_QUOTE_HEADERS = [
    re.compile(r"^\s*-{2,}\s*(Original Message|Исходное сообщение)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.I | re.S),  # Gmail, Apple Mail (en)
    re.compile(rf"^.{{0,300}}<{_EMAIL}>\s*:\s*$", re.S),  # Gmail ru, Yandex, Mail.ru
    re.compile(r"^.{0,300}(пишет|написал\(а\)|написала?|писал\(а\)|wrote)\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above the "From:" block
]
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|От|Von)\s*:\*?\s", re.I)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|Отправлено|Дата|To|Кому|Gesendet)\s*:", re.I)
_FORWARDED = re.compile(
    r"^\s*-{2,}\s*(Forwarded message|Пересылаемое сообщение|Begin forwarded message)", re.I
)
_SIGNATURE_LINES = [
    re.compile(r"^-- ?$"),
    re.compile(r"^\s*(Sent from my|Sent from Mail for|Get Outlook for)\b", re.I),
    re.compile(r"^\s*(Отправлено (из|с)|Отправлено из мобильной|С уважением,?\s*$)", re.I),
    re.compile(r"^\s*(Best regards|Kind regards|Regards),?\s*$", re.I),
]


def display_text(text: str) -> str:
    """`text` without quoted history and signature; the whole text when nothing is left
    (a reply written inside the quote) or the mail forwards something."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if any(_FORWARDED.match(line) for line in lines):
        return text.strip()  # what is forwarded is the content, signatures and all
    kept = lines[: _quote_start(lines)]
    kept = kept[: _signature_start(kept)]
    trimmed = "\n".join(kept).strip()
    return trimmed or text.strip()


def _quote_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        joined = line if index + 1 >= len(lines) else f"{line} {lines[index + 1]}"
        if any(p.match(line) for p in _QUOTE_HEADERS):
            return index
        # A header wrapped over two lines ("On Mon, ... Name <a@b>" / "wrote:").
        wrapped = lines[index + 1 : index + 2] and not line.startswith(">") and len(line) > 20
        if wrapped and any(p.match(joined) for p in _QUOTE_HEADERS[1:4]):
            return index
        if _OUTLOOK_FROM.match(line) and any(
            _OUTLOOK_NEXT.match(next_line) for next_line in lines[index + 1 : index + 4]
        ):
            return index
        if line.startswith(">") and all(
            not rest.strip() or rest.startswith(">") for rest in lines[index:]
        ):
            return index
    return len(lines)


def _signature_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if index > 0 and any(p.match(line) for p in _SIGNATURE_LINES):
            return index
    return len(lines)


_BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "hr"}
_SKIP = {"script", "style", "head", "title"}


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        classes = dict(attrs).get("class") or ""
        if tag == "blockquote" or "gmail_quote" in classes or "moz-cite-prefix" in classes:
            self._quoted += 1
            self.parts.append("\n> ")
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and self._skipping:
            self._skipping -= 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail: paragraphs and line breaks kept, markup, styles and
    scripts dropped."""
    parser = _TextOf()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # malformed markup: keep what was read
        pass
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
