"""Which language a page is shown in: `?lang=`, else Accept-Language, else the default."""

from __future__ import annotations

from aiohttp import web

from core.i18n import SUPPORTED_LOCALES


def request_locale(request: web.Request, default: str) -> str:
    asked = request.query.get("lang", "").lower()
    if asked in SUPPORTED_LOCALES:
        return asked
    for language in accepted_languages(request.headers.get("Accept-Language", "")):
        if language in SUPPORTED_LOCALES:
            return language
    return default


def accepted_languages(header: str) -> list[str]:
    """Primary language tags of an Accept-Language header, most wanted first."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                quality = _quality(value)
        language = tag.strip().split("-")[0].lower()
        if language and language != "*" and quality > 0:
            # Sorting on -quality then position keeps the header's order among equals.
            weighted.append((-quality, position, language))
    return [language for _, _, language in sorted(weighted)]


def _quality(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0
