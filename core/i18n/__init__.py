"""Translations: English message ids in code, Russian by default, English available.

Catalogues are gettext .po files under `core/i18n/locale/<lang>/LC_MESSAGES/`: `pult.po`
plus one file per part of the product (`panel.po`, `email.po`, ...) so that parts built side
by side never edit one file. They are merged and compiled in memory on first use (no build
step, so a fresh clone runs as is); a message id in two files takes `pult.po`'s text."""

from __future__ import annotations

import gettext as _gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "pult"
DEFAULT_LOCALE = "ru"
SUPPORTED_LOCALES = ("ru", "en")


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the locale is known."""
    return message


def catalogue_files(locale: str) -> list[Path]:
    """The locale's .po files, the main one first."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    main = folder / f"{DOMAIN}.po"
    others = sorted(path for path in folder.glob("*.po") if path != main)
    return ([main] if main.exists() else []) + others


def read_catalogue(locale: str) -> Catalog | None:
    catalog: Catalog | None = None
    for path in catalogue_files(locale):
        with path.open("rb") as po_file:
            part = read_po(po_file, locale=locale)
        if catalog is None:
            catalog = part
            continue
        for message in part:
            if message.id and message.id not in catalog:
                catalog[message.id] = message
    return catalog


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    catalog = read_catalogue(locale)
    if catalog is None:
        return _gettext.NullTranslations()
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def normalize_locale(locale: str | None, default: str = DEFAULT_LOCALE) -> str:
    """A supported language from a tag like "en-GB"; `default` (the installation's
    language, PULT_LOCALE) for none or one we have no catalogue for."""
    if not locale:
        return default
    lang = locale.replace("-", "_").split("_")[0].lower()
    return lang if lang in SUPPORTED_LOCALES else default


def gettext(message: str, locale: str | None = None) -> str:
    return translations(normalize_locale(locale)).gettext(message)


def ngettext(singular: str, plural: str, n: int, locale: str | None = None) -> str:
    return translations(normalize_locale(locale)).ngettext(singular, plural, n)
