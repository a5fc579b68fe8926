"""Download names: what a file is called when a person saves it, safe on Windows, macOS and
Linux and honest about the content; and the Content-Disposition header that carries it."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal
from urllib.parse import quote

from inbox.files.types import (
    CLAIMED_EXTENSIONS,
    OCTET_STREAM_EXTENSION,
    FileType,
    file_type,
)

MAX_NAME_LENGTH = 120  # characters; 120 Cyrillic letters are 240 UTF-8 bytes, under 255
FALLBACK_STEM = "file"

_UNSAFE = re.compile(r'[<>:"|?*]')  # forbidden on Windows; / and \ are cut off before
_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")
# Dropped from names: controls, format characters (U+202E RIGHT-TO-LEFT OVERRIDE turns
# "photo\u202egpj.exe" into what looks like photoexe.jpg), surrogates, private use and
# unassigned code points.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# Extensions that make Windows run the file. On content we recognised they are a lie, and
# keeping them before the right one (`invoice.exe.pdf`) still reads `invoice.exe` where
# known extensions are hidden; so they are replaced like a known type's extension.
_EXECUTABLE_EXTENSIONS = frozenset(
    {"exe", "com", "scr", "pif", "bat", "cmd", "msi", "msp", "cpl", "lnk", "hta", "js", "jse"}
    | {"vbs", "vbe", "wsf", "wsh", "ps1", "jar", "reg"}
)
_REPLACED_EXTENSIONS = CLAIMED_EXTENSIONS | _EXECUTABLE_EXTENSIONS
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{device}{n}" for device in ("COM", "LPT") for n in [*"0123456789", "¹", "²", "³"]}
)

_CYRILLIC_TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "є": "ye", "і": "i", "ї": "yi", "ґ": "g", "ў": "u",
}  # fmt: skip
_TRANSLITERATION = str.maketrans(
    {
        **{ord(letter): latin for letter, latin in _CYRILLIC_TO_LATIN.items()},
        **{ord(letter.upper()): latin.capitalize() for letter, latin in _CYRILLIC_TO_LATIN.items()},
    }
)
# RFC 5987 attr-char: what may stay unencoded in filename*=UTF-8''...
_ATTR_CHAR_PUNCTUATION = "!#$&+-.^_`|~"


def safe_name(original_name: str, content_type: str) -> str:
    """A name to save the file under. Directories, controls and characters some system
    forbids are removed, Cyrillic is kept, the length is capped keeping the extension, and
    the extension is made to agree with `content_type` (the sniffed type):

    * an extension that belongs to another known type is replaced: `photo.jpg` holding a
      PDF becomes `photo.pdf` (never `photo.jpg.pdf`, which Windows shows as `photo.jpg`);
    * so is one that makes Windows run the file: `photo.exe` holding a PNG -> `photo.png`;
    * a missing or unknown one gets the right one appended: `Скан` -> `Скан.pdf`,
      `v1.final` -> `v1.final.pdf`;
    * text keeps any extension that is not a known binary type's (`main.py`, `data.csv`);
    * content we do not recognise keeps whatever extension it came with.
    """
    stem, extension = _split_extension(_clean(original_name))
    kind = file_type(content_type)
    if kind is not None and not _is_honest(extension.lower(), kind):
        if extension and extension.lower() not in _REPLACED_EXTENSIONS:
            stem = f"{stem}.{extension}"  # not an extension we know: part of the name
        extension = kind.extension
    if not stem:
        stem = FALLBACK_STEM
        extension = extension or OCTET_STREAM_EXTENSION
    if stem.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"  # CON.txt or nul.tar.gz would open a device on Windows
    suffix = f".{extension}" if extension else ""
    stem = stem[: MAX_NAME_LENGTH - len(suffix)].rstrip(" .") or FALLBACK_STEM
    return stem + suffix


def _is_honest(extension: str, kind: FileType) -> bool:
    if extension in kind.extensions:
        return True
    return kind.any_text_extension and bool(extension) and extension not in CLAIMED_EXTENSIONS


def _clean(name: str) -> str:
    name = unicodedata.normalize("NFC", name)  # macOS sends decomposed й and ё
    name = "".join(
        char
        for char in name
        if char.isspace() or unicodedata.category(char) not in _DROPPED_CATEGORIES
    )
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name)
    # Windows drops trailing dots and spaces; a leading dot hides the file on Unix.
    return " ".join(name.split()).rstrip(" .")


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if dot and _EXTENSION.fullmatch(extension):
        return stem.strip(" ."), extension
    return name.lstrip(" ."), ""


def content_disposition(
    name: str, disposition: Literal["attachment", "inline"] = "attachment"
) -> str:
    """An RFC 6266 Content-Disposition value: a plain-ASCII `filename` for old clients and,
    when the name is not plain ASCII, `filename*=UTF-8''...` that modern ones prefer."""
    name = "".join(char for char in name if unicodedata.category(char) not in ("Cc", "Cf"))
    fallback = _ascii_fallback(name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += "; filename*=UTF-8''" + quote(name, safe=_ATTR_CHAR_PUNCTUATION)
    return value


def _ascii_fallback(name: str) -> str:
    latin = unicodedata.normalize("NFKD", name.translate(_TRANSLITERATION))
    latin = "".join(char for char in latin if not unicodedata.combining(char))
    # Quotes and backslashes would end or escape the quoted string; some clients
    # percent-decode the plain filename (RFC 6266 appendix D), so % goes too.
    return "".join(
        char if char.isascii() and char.isprintable() and char not in '"\\%' else "_"
        for char in latin
    )
