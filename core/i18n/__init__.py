"""Translations: English message ids in code, Russian by default, English available.

Catalogues are gettext .po files under `core/i18n/locale/<lang>/LC_MESSAGES/pult.po`,
compiled in memory on first use (no build step, so a fresh clone runs as is)."""

from __future__ import annotations

import gettext as _gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "pult"
DEFAULT_LOCALE = "ru"
SUPPORTED_LOCALES = ("ru", "en")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the locale is known."""
    return message


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return _gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def normalize_locale(locale: str | None) -> str:
    if not locale:
        return DEFAULT_LOCALE
    lang = locale.replace("-", "_").split("_")[0].lower()
    return lang if lang in SUPPORTED_LOCALES else DEFAULT_LOCALE


def gettext(message: str, locale: str | None = None) -> str:
    return translations(normalize_locale(locale)).gettext(message)


def ngettext(singular: str, plural: str, n: int, locale: str | None = None) -> str:
    return translations(normalize_locale(locale)).ngettext(singular, plural, n)
