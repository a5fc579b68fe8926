"""Files people send through a channel: fetched by reference from the adapter that received
them (its `FileSource`), streamed into the file store with the size limit enforced while the
bytes arrive, and filed as `StoredFile` rows attached to the inbound message.

The inbound pipeline fetches before it opens its transaction (`prefetch`), so a slow
download never holds the database (on SQLite, the one write lock); inside the transaction
`attach` only writes the rows, fetching there just what was not fetched before."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from core.i18n import N_, gettext
from core.models import FilePurpose, StoredFile
from inbox.channel import ChannelRegistry, FileSource, Incoming, IncomingFile
from inbox.files.records import save_file, storable_name
from inbox.files.store import FileStore, FileTooLarge, StoredBlob

log = logging.getLogger(__name__)

MEGABYTE = 1024 * 1024
# Made-up names for what has none (a photo, a voice note); the store adds the extension.
_STEMS = {"image": "photo", "video": "video", "audio": "audio"}

TOO_LARGE = N_("File {name} was not received: larger than {size} MB")
NO_SOURCE = N_("File {name} was not received: this channel cannot fetch files")

# What `prefetch` got for each file reference: the stored bytes, or the refusal.
Prefetched = Mapping[str, StoredBlob | FileTooLarge]


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a filed attachment belongs to (the sender, and the order when there is one)."""

    order_id: int | None = None
    client_id: int | None = None
    executor_id: int | None = None


@dataclass(slots=True)
class Attached:
    """The rows of the files that came, and the notes for the manager on those that did not."""

    files: list[StoredFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class InboundFiles:
    def __init__(
        self,
        sources: ChannelRegistry,
        store: FileStore,
        max_bytes: int,
        *,
        locale: str | None = None,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.sources = sources
        self.store = store
        self.max_bytes = max_bytes
        self.locale = locale  # the installation's (PULT_LOCALE): managers read the notes

    def can_fetch(self, channel: str) -> bool:
        return channel in self.sources and isinstance(self.sources.get(channel), FileSource)

    async def take(
        self,
        session: AsyncSession,
        channel: str,
        file: IncomingFile,
        *,
        owner: Owner | None = None,
        purpose: FilePurpose = FilePurpose.ATTACHMENT,
    ) -> StoredFile:
        """Fetch `file` and file it: a row flushed in `session`, not committed. Raises
        FileTooLarge (nothing kept) for a file over the limit or over what the channel
        serves, LookupError for a channel that cannot fetch files; network errors pass
        through."""
        owner = owner or Owner()
        stream = await self._source(channel).download(file, max_bytes=self.max_bytes)
        return await save_file(
            session,
            self.store,
            stream,
            original_name=inbound_name(file),
            purpose=purpose,
            declared_type=file.content_type,
            order_id=owner.order_id,
            client_id=owner.client_id,
            executor_id=owner.executor_id,
        )

    async def fetch(self, channel: str, file: IncomingFile) -> StoredBlob:
        """Only the bytes, into the store (no database); `record` files them later."""
        stream = await self._source(channel).download(file, max_bytes=self.max_bytes)
        return await self.store.put(
            stream, original_name=inbound_name(file), declared_type=file.content_type
        )

    def record(
        self,
        session: AsyncSession,
        file: IncomingFile,
        blob: StoredBlob,
        *,
        owner: Owner | None = None,
        purpose: FilePurpose = FilePurpose.ATTACHMENT,
    ) -> StoredFile:
        """The row for bytes `fetch` stored (added to `session`, flushed with it)."""
        owner = owner or Owner()
        row = StoredFile(
            storage_key=blob.storage_key,
            original_name=storable_name(inbound_name(file)),
            content_type=blob.content_type,
            size=blob.size,
            sha256=blob.sha256,
            purpose=purpose,
            order_id=owner.order_id,
            client_id=owner.client_id,
            executor_id=owner.executor_id,
        )
        session.add(row)
        return row

    async def prefetch(self, incoming: Incoming) -> Prefetched:
        """Fetch the event's files before any transaction. Never raises: a refusal is kept
        for `attach` to note; a network error leaves the file to `attach`, which tries
        again inside the transaction (and fails the event, to be retried, if it fails too)."""
        fetched: dict[str, StoredBlob | FileTooLarge] = {}
        if not self.can_fetch(incoming.channel):
            return fetched
        for file in incoming.files:
            try:
                fetched[file.ref] = await self.fetch(incoming.channel, file)
            except FileTooLarge as refused:
                fetched[file.ref] = refused
            except Exception as error:
                log.warning(
                    "%s file of event %s not fetched yet: %s",
                    incoming.channel,
                    incoming.message_id,
                    error,
                )
        return fetched

    async def attach(
        self,
        session: AsyncSession,
        incoming: Incoming,
        prefetched: Prefetched,
        *,
        owner: Owner | None = None,
    ) -> Attached:
        """Rows for the event's files (what `prefetch` got, the rest fetched now) and a
        note for each file that did not come. Notes are in the installation's language:
        the managers read them."""
        attached = Attached()
        for file in incoming.files:
            name = inbound_name(file)
            if not self.can_fetch(incoming.channel):
                log.warning("%s cannot fetch files: %s not received", incoming.channel, name)
                attached.notes.append(gettext(NO_SOURCE, self.locale).format(name=name))
                continue
            outcome = prefetched.get(file.ref)
            if outcome is None:
                try:
                    outcome = await self.fetch(incoming.channel, file)
                except FileTooLarge as refused:
                    outcome = refused
            if isinstance(outcome, FileTooLarge):
                attached.notes.append(too_large_note(name, outcome.limit, self.locale))
                continue
            attached.files.append(self.record(session, file, outcome, owner=owner))
        if attached.files:
            await session.flush()  # the message links the rows by id
        return attached

    def _source(self, channel: str) -> FileSource:
        source = self.sources.get(channel)
        if not isinstance(source, FileSource):
            raise LookupError(f"channel {channel!r} cannot fetch files")
        return source


def inbound_name(file: IncomingFile) -> str:
    """The sender's file name; a photo or a voice note has none, so one is made up."""
    if file.name:
        return file.name
    major = (file.content_type or "").split("/", 1)[0]
    return _STEMS.get(major, "file")


def too_large_note(name: str, limit: int, locale: str | None = None) -> str:
    return gettext(TOO_LARGE, locale).format(name=name, size=f"{limit / MEGABYTE:g}")
