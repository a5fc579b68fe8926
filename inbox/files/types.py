"""The file types Pult recognises: content type, the extension it gets by default and the
extensions that honestly describe it. Sniffing returns these types; naming checks
extensions against them."""

from __future__ import annotations

from dataclasses import dataclass

OCTET_STREAM = "application/octet-stream"
TEXT_UTF8 = "text/plain; charset=utf-8"
TEXT_CP1251 = "text/plain; charset=windows-1251"
TEXT_UTF16 = "text/plain; charset=utf-16"

_OOXML = "application/vnd.openxmlformats-officedocument"
_ODF = "application/vnd.oasis.opendocument"


@dataclass(frozen=True, slots=True)
class FileType:
    content_type: str
    extension: str  # given when the name has none, or has one that belongs to another type
    extensions: frozenset[str]  # lower-case, without the dot
    # Text is read by any editor under any extension (main.py, data.csv, page.html); only
    # an extension that belongs to a binary type we know (report.pdf) contradicts it.
    any_text_extension: bool = False


def _type(content_type: str, *extensions: str, text: bool = False) -> FileType:
    return FileType(content_type, extensions[0], frozenset(extensions), text)


FILE_TYPES: dict[str, FileType] = {
    kind.content_type: kind
    for kind in (
        _type("application/pdf", "pdf"),
        _type("image/png", "png"),
        _type("image/jpeg", "jpg", "jpeg", "jpe", "jfif"),
        _type("image/gif", "gif"),
        _type("image/webp", "webp"),
        _type("image/tiff", "tif", "tiff"),
        _type("image/heic", "heic", "heif"),
        _type("image/heif", "heif", "heic"),
        _type("image/avif", "avif"),
        _type("image/svg+xml", "svg"),
        _type(f"{_OOXML}.wordprocessingml.document", "docx", "docm", "dotx", "dotm"),
        _type(f"{_OOXML}.spreadsheetml.sheet", "xlsx", "xlsm", "xltx", "xltm"),
        _type(f"{_OOXML}.presentationml.presentation", "pptx", "pptm", "ppsx", "potx"),
        _type(f"{_ODF}.text", "odt", "ott"),
        _type(f"{_ODF}.spreadsheet", "ods", "ots"),
        _type(f"{_ODF}.presentation", "odp", "otp"),
        _type(f"{_ODF}.graphics", "odg", "otg"),
        _type("application/epub+zip", "epub"),
        _type("application/zip", "zip"),
        _type("application/msword", "doc", "dot"),
        _type("application/vnd.ms-excel", "xls", "xlt", "xla"),
        _type("application/vnd.ms-powerpoint", "ppt", "pps", "pot"),
        _type("application/vnd.ms-outlook", "msg"),
        # An OLE container we could not place (Visio, Publisher, Project, old Works ...).
        FileType(
            "application/x-ole-storage",
            "bin",
            frozenset({"doc", "dot", "xls", "xlt", "ppt", "pps", "msg", "vsd", "pub", "mpp"}),
        ),
        # Word opens RTF under .doc, and many older systems (1C, bank clients) save it so.
        _type("text/rtf", "rtf", "doc"),
        _type("text/plain", "txt", "text", "csv", "log", "md", text=True),
        _type("audio/mpeg", "mp3"),
        _type("audio/ogg", "ogg", "oga", "opus"),
        _type("video/ogg", "ogv", "ogg"),
        _type("audio/wav", "wav"),
        _type("audio/mp4", "m4a", "m4b", "mp4"),
        _type("video/mp4", "mp4", "m4v"),
        _type("video/quicktime", "mov", "qt"),
        _type("video/3gpp", "3gp", "3g2"),
        _type("application/vnd.rar", "rar"),
        _type("application/x-7z-compressed", "7z"),
        _type("application/gzip", "gz", "tgz"),
    )
}

OCTET_STREAM_EXTENSION = "bin"

# Extensions that name one of the binary types above: text under such a name (report.pdf)
# is misnamed; any other extension on text is the sender's business.
CLAIMED_EXTENSIONS: frozenset[str] = frozenset(
    extension
    for kind in FILE_TYPES.values()
    if not kind.any_text_extension
    for extension in kind.extensions
)


def base_type(content_type: str) -> str:
    """`text/plain; charset=utf-8` -> `text/plain`."""
    return content_type.split(";", 1)[0].strip().lower()


def file_type(content_type: str) -> FileType | None:
    """The known type, or None for application/octet-stream and anything not in the table."""
    return FILE_TYPES.get(base_type(content_type))
