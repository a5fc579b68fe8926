"""Reading what a browser sends, in one place, so that no input reaches the database in a
shape it refuses (PostgreSQL answers an id beyond 32 bits or a U+0000 in a text with an
error, which would be a 500):

- ids (in paths, queries and forms) are ASCII digits from 1 to 2**31 - 1, the range of the
  INTEGER primary keys; anything else is "no such record" (`parse_id`, `path_id`), and the
  panel guard answers 404 for a path whose `{id}` / `{..._id}` is out of range;
- U+0000 is removed from every text of a form (`posted_form`) and of a page's query string
  (the guard does that before the handler runs), as a browser would never type it;
- whole numbers typed by people are parsed by `parse_count` with a length cap, so 5,000
  digits are "not a number" rather than Python's refusal to convert them."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDict, MultiDictProxy, MultiMapping

MAX_ID = 2**31 - 1
_MAX_ID_DIGITS = len(str(MAX_ID))
NUL = "\x00"
# What `request.post()` holds: texts, and files (bytes only from a client posting them raw).
FormValue = str | bytes | bytearray | web.FileField


def parse_id(raw: object) -> int | None:
    """The id in `raw`, or None when it cannot be one of ours (empty, not ASCII digits,
    zero, beyond 2**31 - 1)."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not text or len(text) > _MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def path_id(request: web.Request, name: str = "id") -> int:
    """The id in the route's `{name}`; 404 when it is not one."""
    value = parse_id(request.match_info.get(name))
    if value is None:
        raise web.HTTPNotFound()
    return value


def ids_in(values: list[Any]) -> set[int]:
    """The valid ids among repeated form values (checkboxes); the rest are ignored."""
    return {value for value in map(parse_id, values) if value is not None}


def parse_count(raw: object, *, max_digits: int = 12) -> int | None:
    """A non-negative whole number typed by a person, or None (not ASCII digits, or longer
    than `max_digits`, so 20 or 5,000 digits are refused before any conversion)."""
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def clean_text(value: str) -> str:
    return value.replace(NUL, "") if NUL in value else value


async def posted_form(request: web.Request) -> MultiDictProxy[FormValue]:
    """`await request.post()` with U+0000 removed from every text field (files untouched)."""
    posted = await request.post()
    if not any(isinstance(value, str) and NUL in value for value in posted.values()):
        return posted
    cleaned: MultiDict[FormValue] = MultiDict()
    for key, value in posted.items():
        cleaned.add(clean_text(key), clean_text(value) if isinstance(value, str) else value)
    return MultiDictProxy(cleaned)


def has_nul(query: MultiMapping[str]) -> bool:
    return any(NUL in key or NUL in value for key, value in query.items())


def cleaned_query(query: MultiMapping[str]) -> MultiDict[str]:
    return MultiDict((clean_text(key), clean_text(value)) for key, value in query.items())


def out_of_range_path_id(request: web.Request) -> bool:
    """Whether a `{id}` or `{..._id}` of the matched route is no id of ours."""
    return any(
        (name == "id" or name.endswith("_id")) and parse_id(value) is None
        for name, value in request.match_info.items()
        if isinstance(value, str)
    )
