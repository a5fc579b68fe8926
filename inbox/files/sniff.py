"""What a file is, judged by its bytes alone: magic numbers, a look inside ZIP and OLE
containers, and a text check. The name and the declared type are chosen by the sender (or
their phone), so neither is consulted."""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
import zlib
from typing import BinaryIO

from inbox.files.types import OCTET_STREAM, TEXT_CP1251, TEXT_UTF8, TEXT_UTF16

HEAD_SIZE = 64 * 1024
PDF_HEADER_WINDOW = 1024  # Acrobat and pdf.js accept junk before %PDF- within this much
_OLE_BLOCK = 1024 * 1024  # a multiple of the 128-byte directory entry, so none straddles

_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF_TYPES = frozenset(
    {
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/vnd.oasis.opendocument.graphics",
        "application/epub+zip",
    }
)

# Prefix -> type, tried in order. ZIP, OLE and Ogg get a closer look below.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"{\\rtf", "text/rtf"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"\x1f\x8b\x08", "application/gzip"),
    (b"ID3", "audio/mpeg"),
)
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# ISO base media (MP4, MOV, HEIF): the `ftyp` box's brands say which member of the family.
_MP4_BRANDS = [b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V "]
_MP4_BRANDS += [b"dash", b"mmp4", b"MSNV", b"f4v "]
_BRANDS: dict[bytes, str] = {
    b"avif": "image/avif",
    b"avis": "image/avif",
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"), "image/heic"),
    b"mif1": "image/heif",
    b"msf1": "image/heif",
    b"qt  ": "video/quicktime",
    **dict.fromkeys((b"M4A ", b"M4B ", b"M4P "), "audio/mp4"),
    **dict.fromkeys((b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3g2a", b"3g2b"), "video/3gpp"),
    **dict.fromkeys(_MP4_BRANDS, "video/mp4"),
}

# Stream names at the top of an OLE (Compound File) directory, in the order they win.
_OLE_STREAMS: tuple[tuple[str, str], ...] = (
    ("WordDocument", "application/msword"),
    ("PowerPoint Document", "application/vnd.ms-powerpoint"),
    ("Workbook", "application/vnd.ms-excel"),
    ("Book", "application/vnd.ms-excel"),  # Excel 5 / 95
    ("__properties_version1.0", "application/vnd.ms-outlook"),
)

# Controls that do occur in real text files: tab, LF, FF, CR, ^Z (DOS end of file), ESC.
_TEXT_CONTROLS = {0x09, 0x0A, 0x0C, 0x0D, 0x1A, 0x1B}
_BINARY_BYTES = bytes(b for b in [*range(0x20), 0x7F] if b not in _TEXT_CONTROLS)
# High bytes that Russian text in Windows-1251 is made of: the letters А..я, Ё ё, the
# Ukrainian and Belarusian Іі Її Єє Ґґ Ўў, and the punctuation Word puts in: … – — « » „ “ ”
# ‘ ’ № and the no-break space.
_CP1251_TEXT = frozenset(range(0xC0, 0x100)) | frozenset(
    b"\xa8\xb8\xb2\xb3\xaf\xbf\xaa\xba\xa5\xb4\xa1\xa2"
    b"\x85\x96\x97\xab\xbb\x84\x93\x94\x91\x92\xb9\xa0"
)

_SVG_ROOT = re.compile(
    r"(?:\s|<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE(?:[^>\[]|\[.*?\])*>)*<(?:[\w.-]+:)?svg[\s/>]",
    re.DOTALL,
)


def sniff(source: bytes | BinaryIO) -> str:
    """The content type of `source` (bytes, or a seekable binary file read from its start)."""
    file: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else source
    file.seek(0)
    head = file.read(HEAD_SIZE)
    if head.startswith(_ZIP_MAGIC):
        return _zip_type(file)
    if head.startswith(_OLE_MAGIC):
        return _ole_type(file)
    if head.startswith(b"OggS"):
        return "video/ogg" if b"\x80theora" in head[:512] else "audio/ogg"
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return "image/webp" if head[8:12] == b"WEBP" else "audio/wav"
    if head[4:8] == b"ftyp":
        return _iso_media_type(head)
    if _is_mpeg_audio_frame(head):
        return "audio/mpeg"
    if b"%PDF-" in head[:PDF_HEADER_WINDOW]:
        return "application/pdf"
    return _text_type(head) or OCTET_STREAM


def _zip_type(file: BinaryIO) -> str:
    try:
        return _zip_document_type(file) or "application/zip"
    # A truncated or hostile archive makes zipfile fail in many ways (bad structure, an
    # encrypted entry, an unknown compression method); by its first bytes it is still ZIP.
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, ValueError):
        return "application/zip"


def _zip_document_type(file: BinaryIO) -> str | None:
    """Office documents are ZIP archives; the central directory (at the end) names them."""
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        if "mimetype" in names:  # ODF and EPUB: the type is written inside
            with archive.open("mimetype") as entry:
                declared = entry.read(100).decode("ascii", "replace").strip()
            if declared in _ODF_TYPES:
                return declared
        if "[Content_Types].xml" not in names:  # a plain archive that has a word/ folder
            return None
        for folder, document in (
            ("word/", "wordprocessingml.document"),
            ("xl/", "spreadsheetml.sheet"),
            ("ppt/", "presentationml.presentation"),
        ):
            if any(name.startswith(folder) for name in names):
                return f"{_OOXML}.{document}"
    return None


def _ole_type(file: BinaryIO) -> str:
    """Legacy Office files are OLE compound files. Rather than walk the sector chains, look
    for the main stream's 128-byte directory entry (aligned, with matching length and type
    fields); when several match (a Word file with an embedded workbook) the entry written
    first, which is the document's own main stream, wins."""
    patterns = [(name.encode("utf-16-le") + b"\x00\x00", kind) for name, kind in _OLE_STREAMS]
    found: dict[str, int] = {}
    file.seek(0)
    offset = 0
    while block := file.read(_OLE_BLOCK):
        for pattern, kind in patterns:
            position = _directory_entry(block, pattern)
            if kind not in found and position != -1:
                found[kind] = offset + position
        offset += len(block)
    return min(found, key=found.__getitem__) if found else "application/x-ole-storage"


def _directory_entry(block: bytes, name: bytes) -> int:
    """Where a directory entry for the stream `name` starts in `block`, or -1."""
    start = block.find(name)
    while start != -1:
        entry = block[start : start + 128]
        if start % 128 == 0 and len(entry) == 128:
            name_length, entry_type = struct.unpack_from("<HB", entry, 64)
            if name_length == len(name) and entry_type == 2:  # 2: a stream
                return start
        start = block.find(name, start + 1)
    return -1


def _iso_media_type(head: bytes) -> str:
    box_size = int.from_bytes(head[:4], "big")
    brands = [head[8:12]]
    brands += [head[i : i + 4] for i in range(16, min(box_size, len(head), 256) - 3, 4)]
    # An iPhone photo may name the generic HEIF brand first and HEVC (heic) after it: the
    # image brands are looked for among all of them, most specific first.
    for image_type in ("image/avif", "image/heic", "image/heif"):
        if any(_BRANDS.get(brand) == image_type for brand in brands):
            return image_type
    for brand in brands:
        if brand in _BRANDS:
            return _BRANDS[brand]
    return OCTET_STREAM


def _is_mpeg_audio_frame(head: bytes) -> bool:
    """An MP3 without an ID3 tag starts with an MPEG-1/2 Layer III frame header."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, sample_rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer == 1 and bitrate not in (0, 15) and sample_rate != 3


def _text_type(head: bytes) -> str | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return TEXT_UTF16
    if not head or len(head.translate(None, _BINARY_BYTES)) != len(head):
        return None
    text = _decode_utf8(head.removeprefix(codecs.BOM_UTF8))
    content_type = TEXT_UTF8
    if text is None:
        text = _decode_cp1251(head)
        content_type = TEXT_CP1251
    if text is None:
        return None
    return "image/svg+xml" if _SVG_ROOT.match(text) else content_type


def _decode_utf8(head: bytes) -> str | None:
    # Not final: the head may end in the middle of a multi-byte character.
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEAD_SIZE)
    except UnicodeDecodeError:
        return None


def _decode_cp1251(head: bytes) -> str | None:
    """Russian text from older Windows programs. Almost any byte string decodes as
    Windows-1251, so also require that the high bytes are nearly all letters and the usual
    punctuation."""
    high = [byte for byte in head if byte >= 0x80]
    textual = sum(1 for byte in high if byte in _CP1251_TEXT)
    if textual < 0.9 * len(high):
        return None
    try:
        return head.decode("cp1251")
    except UnicodeDecodeError:  # 0x98 is unassigned
        return None
