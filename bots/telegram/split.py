"""Telegram HTML that fits a message: measuring text the way Telegram does (visible
characters in UTF-16 code units, after tags and entities are parsed) and splitting a long
text on paragraph, line or word boundaries with every chunk's tags balanced."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"<[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]\w*);|[^<&]|[<&]", re.DOTALL)
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][\w-]*)")
# Where a chunk may end, best first: between paragraphs, between lines, between words.
_BREAKS = ("\n\n", "\n", " ")


@dataclass(frozen=True, slots=True)
class _Token:
    source: str  # as written in the markup
    text: str  # what it shows ("" for a tag)
    tag: str | None = None  # the tag's name, for tags
    closing: bool = False

    @property
    def width(self) -> int:
        return utf16_length(self.text)


_ANY_TAG = re.compile(r"<[^>]*>")


def utf16_length(text: str) -> int:
    """Telegram counts UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def visible_length(markup: str) -> int:
    """How long Telegram considers `markup` (tags dropped, entities as one character)."""
    return sum(token.width for token in _tokenize(markup))


def split_html(markup: str, limit: int) -> list[str]:
    """`markup` in chunks of at most `limit` visible characters. A chunk ends at the last
    paragraph break in the second half of its window, else the last line break, else the
    last space, else exactly at the limit. Tags open at a cut are closed at the end of the
    chunk and opened again at the start of the next; whitespace at the cut is dropped and
    so are chunks with nothing visible (Telegram refuses empty messages)."""
    if utf16_length(markup) <= limit:
        # Fits even counting the tags (most messages): nothing to cut, no tag to carry over.
        return [markup.rstrip()] if _ANY_TAG.sub("", markup).strip() else []
    tokens = _tokenize(markup)
    chunks: list[str] = []
    open_tags: list[_Token] = []
    start = 0
    while start < len(tokens):
        end = _cut(tokens, start, limit)
        body = tokens[start:end]
        prefix = "".join(tag.source for tag in open_tags)
        open_tags = _still_open(open_tags, body)
        suffix = "".join(f"</{tag.tag}>" for tag in reversed(open_tags))
        if "".join(token.text for token in body).strip():
            chunks.append(prefix + "".join(token.source for token in _rstrip(body)) + suffix)
        start = _skip_space(tokens, end)
    return chunks


def _tokenize(markup: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(markup):
        source = match.group()
        tag = _TAG.match(source) if source.startswith("<") and len(source) > 1 else None
        if tag is not None:
            tokens.append(_Token(source, "", tag.group(2).lower(), closing=bool(tag.group(1))))
        else:
            tokens.append(_Token(source, html.unescape(source)))
    return tokens


def _cut(tokens: list[_Token], start: int, limit: int) -> int:
    """The index the chunk that begins at `start` ends before."""
    width, end = 0, start
    while end < len(tokens) and width + tokens[end].width <= limit:
        width += tokens[end].width
        end += 1
    if end == len(tokens):
        return end
    half = start + (end - start) // 2
    for separator in _BREAKS:
        for position in range(end, max(half, start + 1) - 1, -1):
            if _ends_with(tokens, position, separator):
                return _before_opening_tags(tokens, start, position)
    return _before_opening_tags(tokens, start, max(end, start + 1))


def _before_opening_tags(tokens: list[_Token], start: int, position: int) -> int:
    # A tag opened right at the cut would leave an empty `<b></b>` behind: let it open the
    # next chunk instead.
    while position - 1 > start and tokens[position - 1].tag and not tokens[position - 1].closing:
        position -= 1
    return position


def _ends_with(tokens: list[_Token], position: int, separator: str) -> bool:
    tail = "".join(token.text for token in tokens[max(0, position - len(separator)) : position])
    return tail == separator


def _still_open(open_tags: list[_Token], body: list[_Token]) -> list[_Token]:
    stack = list(open_tags)
    for token in body:
        if token.tag is None:
            continue
        if not token.closing:
            stack.append(token)
            continue
        for index in range(len(stack) - 1, -1, -1):
            if stack[index].tag == token.tag:
                del stack[index]
                break
    return stack


def _rstrip(body: list[_Token]) -> list[_Token]:
    end = len(body)
    while end and body[end - 1].tag is None and body[end - 1].text.isspace():
        end -= 1
    return body[:end]


def _skip_space(tokens: list[_Token], position: int) -> int:
    while (
        position < len(tokens) and tokens[position].tag is None and tokens[position].text.isspace()
    ):
        position += 1
    return position
