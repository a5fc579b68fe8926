"""What a file is (sniffed from hand-made samples of each format), what it may be called
when downloaded, and the Content-Disposition header that carries the name."""

from __future__ import annotations

import io
import struct
import zipfile
from urllib.parse import unquote

import pytest
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from inbox.files import content_disposition, safe_name, sniff
from inbox.files.names import MAX_NAME_LENGTH
from inbox.files.sniff import HEAD_SIZE

PDF = "application/pdf"
PNG_TYPE = "image/png"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
TEXT = "text/plain; charset=utf-8"
CP1251 = "text/plain; charset=windows-1251"
OCTET = "application/octet-stream"

# A real 1x1 greyscale PNG.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00"
    b"\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)


def zip_of(entries: dict[str, bytes], *, stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first is not None:
            archive.writestr(stored_first, entries.pop(stored_first), zipfile.ZIP_STORED)
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_compression_method(archive: bytes, method: int) -> bytes:
    """The first entry re-labelled with another compression method (99 is WinZip AES,
    which zipfile cannot read), in its local header and in the central directory."""
    patched = bytearray(archive)
    central = archive.index(b"PK\x01\x02")
    struct.pack_into("<H", patched, 8, method)
    struct.pack_into("<H", patched, central + 10, method)
    return bytes(patched)


def ooxml(folder: str, part: str) -> bytes:
    return zip_of(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "_rels/.rels": b"<Relationships/>",
            f"{folder}/{part}": b"<document/>",
        }
    )


def ole(*streams: str, data_sector: bytes = b"") -> bytes:
    """A compound file cut down to what the sniffer reads: the header signature, optionally
    one sector of stream data, and one directory sector of 128-byte entries (root entry
    first, then the given streams)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".ljust(512, b"\x00")
    data = data_sector.ljust(512, b"\x00") if data_sector else b""
    entries = [_ole_entry("Root Entry", 5)] + [_ole_entry(name, 2) for name in streams]
    return header + data + b"".join(entries).ljust(512, b"\x00")


def _ole_entry(name: str, entry_type: int) -> bytes:
    encoded = name.encode("utf-16-le") + b"\x00\x00"
    return encoded.ljust(64, b"\x00") + struct.pack("<HB", len(encoded), entry_type).ljust(
        64, b"\0"
    )


def iso_media(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", len(body) + 4) + body + b"\x00\x00\x00\x08free"


SAMPLES: dict[str, tuple[bytes, str]] = {
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", PDF),
    "pdf after junk": (b"\r\n" * 20 + b"%PDF-1.4\n", PDF),
    "png": (PNG, PNG_TYPE),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", "image/jpeg"),
    "gif": (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04", "image/gif"),
    "webp": (b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00", "image/webp"),
    "tiff little-endian": (b"II*\x00\x08\x00\x00\x00\x00\x00", "image/tiff"),
    "tiff big-endian": (b"MM\x00*\x00\x00\x00\x08\x00\x00", "image/tiff"),
    "heic": (iso_media(b"heic", b"mif1", b"heic"), "image/heic"),
    "heic by compatible brand": (iso_media(b"mif1", b"mif1", b"heic"), "image/heic"),
    "heif": (iso_media(b"mif1", b"mif1"), "image/heif"),
    "avif": (iso_media(b"avif", b"mif1", b"miaf"), "image/avif"),
    "mp4": (iso_media(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
    "m4a voice": (iso_media(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4"),
    "iphone mov": (iso_media(b"qt  ", b"qt  "), "video/quicktime"),
    "docx": (ooxml("word", "document.xml"), DOCX),
    "xlsx": (ooxml("xl", "workbook.xml"), XLSX),
    "pptx": (ooxml("ppt", "presentation.xml"), PPTX),
    "odt": (
        zip_of({"mimetype": ODT.encode(), "content.xml": b"<x/>"}, stored_first="mimetype"),
        ODT,
    ),
    "odt whose mimetype entry cannot be read": (
        with_compression_method(
            zip_of({"mimetype": ODT.encode(), "content.xml": b"<x/>"}, stored_first="mimetype"), 99
        ),
        "application/zip",
    ),
    "zip with a word folder": (zip_of({"word/notes.txt": b"hello"}), "application/zip"),
    "zip cut short": (zip_of({"a.txt": b"hello" * 100})[:60], "application/zip"),
    "doc": (ole("1Table", "WordDocument", "SummaryInformation"), "application/msword"),
    "xls": (ole("Workbook", "SummaryInformation"), "application/vnd.ms-excel"),
    "ppt": (ole("Current User", "PowerPoint Document"), "application/vnd.ms-powerpoint"),
    "outlook msg": (ole("__properties_version1.0"), "application/vnd.ms-outlook"),
    "doc with an embedded workbook": (ole("WordDocument", "Workbook"), "application/msword"),
    "unknown ole": (ole("VisioDocument"), "application/x-ole-storage"),
    "xls quoting a stream name in its data": (
        ole("Workbook", data_sector=b"abc" + _ole_entry("WordDocument", 2)),
        "application/vnd.ms-excel",
    ),
    "rtf": (b"{\\rtf1\\ansi\\ansicpg1251\\deff0 {\\fonttbl}}", "text/rtf"),
    "utf-8 text": ("Курсовая работа: «Экономика»\n".encode(), TEXT),
    "ascii text": (b"Order 1042, 3 copies\r\n", TEXT),
    "utf-8 with bom": ("\ufeffСписок литературы".encode(), TEXT),
    "windows-1251 text": ("Курсовая работа — «Экономика» №5\r\n".encode("cp1251"), CP1251),
    "utf-16 text": ("Привет".encode("utf-16"), "text/plain; charset=utf-16"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>', "image/svg+xml"),
    "svg with prolog": (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- Generator: Adobe Illustrator -->\n'
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "svg11.dtd" [\n'
        b'\t<!ENTITY ns_flows "http://ns.adobe.com/Flows/1.0/">\n]>\n<svg version="1.1">',
        "image/svg+xml",
    ),
    "other xml is text": (b'<?xml version="1.0"?><note><svg/></note>', TEXT),
    "ogg opus voice note": (
        b"OggS\x00\x02" + bytes(20) + b"\x01\x13OpusHead\x01\x01\x38\x01",
        "audio/ogg",
    ),
    "ogg theora": (b"OggS\x00\x02" + bytes(20) + b"\x01\x2a\x80theora\x03\x02", "video/ogg"),
    "mp3 with id3": (b"ID3\x04\x00\x00\x00\x00\x00\x23TSSE", "audio/mpeg"),
    "mp3 frame": (b"\xff\xfb\x90\x64" + bytes(60), "audio/mpeg"),
    "wav": (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
    "rar": (b"Rar!\x1a\x07\x01\x00", "application/vnd.rar"),
    "7z": (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
    "gzip": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "application/gzip"),
    "binary": (b"\x00\x01\x02\x03\xfe\xff" * 10, OCTET),
    "empty": (b"", OCTET),
}


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_sniffing_recognises_the_format(sample: str) -> None:
    data, expected = SAMPLES[sample]
    assert sniff(data) == expected


def test_sniffing_reads_a_file_from_its_start() -> None:
    file = io.BytesIO(ooxml("word", "document.xml"))
    file.seek(0, io.SEEK_END)
    assert sniff(file) == DOCX


def test_pdf_header_too_far_in_is_not_a_pdf() -> None:
    assert sniff(b"x" * 2000 + b"%PDF-1.4\n") == TEXT


def test_utf8_text_cut_mid_character_at_the_sniffed_head_is_still_text() -> None:
    data = b"a" + "ж".encode() * HEAD_SIZE  # the head ends after the first byte of a letter
    assert sniff(data) == TEXT


def test_high_bytes_that_are_not_russian_letters_are_not_taken_for_windows_1251() -> None:
    # All of these decode as Windows-1251 (0x98 would not), mostly to Ђ, Љ, ‰ and the like.
    data = bytes(byte for byte in range(0x80, 0xC0) if byte != 0x98) * 4
    assert sniff(data) == OCTET


# --- download names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "content_type", "expected"),
    [
        ("../../etc/passwd", OCTET, "passwd"),
        ("..\\..\\windows\\system.ini", OCTET, "system.ini"),
        ("C:\\Users\\Анна\\Desktop\\Курсовая.docx", DOCX, "Курсовая.docx"),
        ("uploads/", PDF, "file.pdf"),
    ],
)
def test_directories_are_stripped(original: str, content_type: str, expected: str) -> None:
    assert safe_name(original, content_type) == expected


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul.txt"),
        ("com1.tar.txt", "_com1.tar.txt"),
        ("LPT9 .txt", "_LPT9.txt"),
        ("CONSOLE.txt", "CONSOLE.txt"),
    ],
)
def test_windows_device_names_are_defused(original: str, expected: str) -> None:
    assert safe_name(original, TEXT) == expected


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Отчёт по практике.pdf", "Отчёт по практике.pdf"),
        ("Отче\u0308т.pdf", "Отчёт.pdf"),  # decomposed, as macOS sends it
        ("Звіт Ґанни.pdf", "Звіт Ґанни.pdf"),
    ],
)
def test_cyrillic_is_kept(original: str, expected: str) -> None:
    assert safe_name(original, PDF) == expected


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ('a<b>c:d"e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf"),
        ("  Курсовая   работа\t(финал) .pdf ", "Курсовая работа (финал).pdf"),
        ("line\nbreak\x00nul.pdf", "line breaknul.pdf"),
        ("scan\u202efdp.pdf", "scanfdp.pdf"),  # right-to-left override
        ("report....pdf", "report.pdf"),
        (".hidden.pdf", "hidden.pdf"),
    ],
)
def test_unsafe_characters_and_spacing_are_cleaned(original: str, expected: str) -> None:
    assert safe_name(original, PDF) == expected


def test_long_names_are_cut_keeping_the_extension() -> None:
    assert safe_name("я" * 300 + ".docx", DOCX) == "я" * (MAX_NAME_LENGTH - 5) + ".docx"
    assert safe_name("я" * 300, PDF) == "я" * (MAX_NAME_LENGTH - 4) + ".pdf"


def test_a_cut_never_ends_the_stem_in_a_space_or_dot() -> None:
    stem = "a" * (MAX_NAME_LENGTH - 6) + " . b"
    assert safe_name(stem + ".pdf", PDF) == "a" * (MAX_NAME_LENGTH - 6) + ".pdf"


@pytest.mark.parametrize(
    ("original", "content_type", "expected"),
    [
        ("", PDF, "file.pdf"),
        ("   ", OCTET, "file.bin"),
        ("...", DOCX, "file.docx"),
        ("\x00\x01", PNG_TYPE, "file.png"),
        (".pdf", PDF, "file.pdf"),
    ],
)
def test_empty_names_fall_back_to_file_with_the_right_extension(
    original: str, content_type: str, expected: str
) -> None:
    assert safe_name(original, content_type) == expected


@pytest.mark.parametrize(
    ("original", "content_type", "expected"),
    [
        ("photo.jpg", PDF, "photo.pdf"),  # a known extension of another type: replaced
        ("photo.JPEG", "image/heic", "photo.heic"),
        ("Скан", PDF, "Скан.pdf"),  # none: appended
        ("v1.final", PDF, "v1.final.pdf"),  # not an extension we know: kept in the name
        ("invoice.exe", PNG_TYPE, "invoice.png"),  # runs on Windows: replaced
        ("report.pdf", TEXT, "report.txt"),
        ("README", TEXT, "README.txt"),
        ("PHOTO.JPG", "image/jpeg", "PHOTO.JPG"),  # right already, whatever the case
        ("main.py", TEXT, "main.py"),  # text keeps any extension of a text format
        ("script.js", TEXT, "script.js"),
        ("data.csv", CP1251, "data.csv"),
        ("Заявление.doc", "text/rtf", "Заявление.doc"),  # Word opens RTF saved as .doc
        ("scan.jpg", OCTET, "scan.jpg"),  # content we do not know contradicts nothing
    ],
)
def test_extension_agrees_with_the_content(original: str, content_type: str, expected: str) -> None:
    assert safe_name(original, content_type) == expected


# --- Content-Disposition ------------------------------------------------------------------


def _filename(header: str) -> str | None:
    """The name a client that knows RFC 6266 reads (aiohttp's parser prefers filename*)."""
    _, params = parse_content_disposition(header)
    return content_disposition_filename(params)


def test_ascii_name_needs_no_extended_parameter() -> None:
    assert content_disposition("report-1042.pdf") == 'attachment; filename="report-1042.pdf"'


def test_cyrillic_name_gets_a_utf8_parameter_and_a_transliterated_fallback() -> None:
    header = content_disposition("Отчёт по практике (Щукин).pdf")

    assert header.startswith('attachment; filename="Otchet po praktike (Shchukin).pdf"; ')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert " " not in encoded and "(" not in encoded
    assert unquote(encoded) == "Отчёт по практике (Щукин).pdf"
    assert _filename(header) == "Отчёт по практике (Щукин).pdf"


def test_header_cannot_be_broken_by_the_name() -> None:
    header = content_disposition('a"b\\c%d\r\nSet-Cookie: x=1.txt', "inline")

    assert "\r" not in header and "\n" not in header
    assert header.startswith('inline; filename="a_b_c_dSet-Cookie: x=1.txt"; filename*=')
    assert _filename(header) == 'a"b\\c%dSet-Cookie: x=1.txt'


def test_other_scripts_fall_back_to_underscores() -> None:
    header = content_disposition("café 東京.pdf")
    assert header.startswith('attachment; filename="cafe __.pdf"; ')
