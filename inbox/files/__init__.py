"""Files people exchange: the content-addressed file store, sniffing what a file is from
its bytes, safe download names, and filing an upload as a `StoredFile` row.
See docs/files.md."""

from inbox.files.names import content_disposition, safe_name
from inbox.files.records import save_file
from inbox.files.sniff import sniff
from inbox.files.store import (
    BlobNotFound,
    FileStore,
    FileStoreError,
    FileTooLarge,
    InvalidStorageKey,
    LocalFileStore,
    StoredBlob,
    check_storage_key,
    storage_key_for,
)
from inbox.files.types import OCTET_STREAM, FileType, base_type, file_type

__all__ = [
    "OCTET_STREAM",
    "BlobNotFound",
    "FileStore",
    "FileStoreError",
    "FileTooLarge",
    "FileType",
    "InvalidStorageKey",
    "LocalFileStore",
    "StoredBlob",
    "base_type",
    "check_storage_key",
    "content_disposition",
    "file_type",
    "safe_name",
    "save_file",
    "sniff",
    "storage_key_for",
]
