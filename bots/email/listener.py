"""The IMAP listener (aioimaplib): one per mailbox. It takes every mail after the last UID
it took (kept in the database, checked against UIDVALIDITY), then waits with IDLE for new
ones (polling with NOOP when the server has no IDLE), and reconnects with backoff when the
server goes away. A UID counts as taken only once `take` returned for it and everything
before it, so a crash or an outage loses nothing; a mail taken twice is a duplicate
Message-ID in the inbound log. Taken mail may be moved to a "processed" folder."""

from __future__ import annotations

import asyncio
import logging
import random
import re
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from aioimaplib import aioimaplib

from bots.email.mailbox import MailboxProgress
from inbox.channel import Incoming

log = logging.getLogger(__name__)
T = TypeVar("T")

# A mail's bytes into the event to receive (None: nothing to receive), and receiving it.
Prepare = Callable[[bytes], Awaitable[Incoming | None]]
Deliver = Callable[[Incoming], Awaitable[object]]
_UID = re.compile(rb"UID (\d+)")
_LITERAL = re.compile(rb"\{(\d+)\}$")
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


class ImapError(Exception):
    """The server said NO or BAD, or the connection is gone: reconnect."""


@dataclass(frozen=True, slots=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    ssl: bool = True
    processed_folder: str | None = None
    poll_seconds: float = 60.0
    timeout: float = 30.0

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}/{self.folder}"[:255]


@dataclass(frozen=True, slots=True)
class Backoff:
    first: float = 1.0
    cap: float = 60.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.first * 2 ** (failures - 1)) * random.uniform(0.5, 1.0)


class MailListener:
    def __init__(
        self,
        mailbox: Mailbox,
        prepare: Prepare,
        deliver: Deliver,
        progress: MailboxProgress,
        *,
        backoff: Backoff | None = None,
        idle_seconds: float = 300.0,  # servers drop IDLE after 30 min; renew well before
        batch: int = 100,
        concurrency: int = 50,  # the receiver commits up to 50 arrivals at once
    ) -> None:
        self.mailbox = mailbox
        self._prepare = prepare
        self._deliver = deliver
        self._progress = progress
        self.backoff = backoff or Backoff()  # public: a test may wait less
        self._idle_seconds = idle_seconds
        self._batch = batch
        self._concurrency = concurrency
        self.connected = asyncio.Event()  # set while a session is up (tests, the bench)
        self.waits_by = "idle"  # or "polling": how the current session waits for mail
        self._lost = asyncio.Event()  # set when the current session's connection drops

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set, reconnecting after any failure."""
        failures = 0
        while not stop.is_set():
            try:
                await self._session(stop)
                continue
            except (OSError, TimeoutError, ImapError, aioimaplib.AioImapException) as error:
                # A session that got going starts the count again.
                failures = 1 if self.connected.is_set() else failures + 1
                delay = self.backoff.delay(failures)
                log.warning(
                    "e-mail: %s: %s; reconnecting in %.1f s",
                    self.mailbox.key, f"{type(error).__name__}: {error}", delay,
                )  # fmt: skip
            finally:
                self.connected.clear()
            if await _sleep(delay, stop):
                return

    async def _ask(self, command: Awaitable[T]) -> T:
        """The command's answer; ImapError as soon as the connection is lost (aioimaplib
        itself would wait for the command's timeout)."""
        task = asyncio.ensure_future(command)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not task.done():
            task.cancel()
            raise ImapError("connection lost")
        return task.result()

    async def _session(self, stop: asyncio.Event) -> None:
        lost = self._lost = asyncio.Event()
        client = self._client(lost)
        try:
            await self._ask(client.wait_hello_from_server())
            _ok(await self._ask(client.login(self.mailbox.user, self.mailbox.password)), "LOGIN")
            await self._ask(client.protocol.capability())  # servers may offer more once logged in
            if self.mailbox.processed_folder:
                await self._ask(
                    client.create(self.mailbox.processed_folder)
                )  # NO when it exists: fine
            selected = _ok(await self._ask(client.select(self.mailbox.folder)), "SELECT")
            uid_validity = _uid_validity(selected.lines)
            last = await self._progress.resume(uid_validity)
            self.connected.set()
            log.info("e-mail: reading %s from UID %s", self.mailbox.key, last + 1)
            self.waits_by = "idle" if client.has_capability("IDLE") else "polling"
            while not stop.is_set() and not lost.is_set():
                last = await self._catch_up(client, uid_validity, last)
                if self.waits_by == "idle":
                    await self._idle(client, stop, lost)
                else:
                    await _first(stop, lost, seconds=self.mailbox.poll_seconds)
                    if not stop.is_set():
                        _ok(await self._ask(client.noop()), "NOOP")
            if lost.is_set():
                raise ImapError("connection lost")
        finally:
            await _close(client)

    def _client(self, lost: asyncio.Event) -> aioimaplib.IMAP4:
        def connection_lost(_error: Exception | None) -> None:
            lost.set()

        return aioimaplib.IMAP4(
            self.mailbox.host, self.mailbox.port, timeout=self.mailbox.timeout,
            conn_lost_cb=connection_lost,
            ssl_context=ssl.create_default_context() if self.mailbox.ssl else None,
        )  # fmt: skip

    async def _catch_up(self, client: aioimaplib.IMAP4, uid_validity: int, last: int) -> int:
        """Take every mail after UID `last`; the new last UID."""
        while True:
            found = _ok(await self._ask(client.uid_search(f"UID {last + 1}:*")), "SEARCH")
            uids = sorted(u for u in _numbers(found.lines) if u > last)
            if not uids:
                return last
            for start in range(0, len(uids), self._batch):
                chunk = uids[start : start + self._batch]
                last = await self._take_chunk(client, uid_validity, chunk, last)

    async def _take_chunk(
        self, client: aioimaplib.IMAP4, uid_validity: int, uids: list[int], last: int
    ) -> int:
        wanted = ",".join(str(uid) for uid in uids)
        fetched = _ok(await self._ask(client.uid("fetch", wanted, "(UID BODY.PEEK[])")), "FETCH")
        mails = sorted(_fetched_mails(fetched.lines).items())
        outcomes = await self._take(raw for _, raw in mails)
        done = last
        for (uid, _), outcome in zip(mails, outcomes, strict=False):
            if isinstance(outcome, BaseException):
                # This one and the ones after it are fetched again (the taken ones are
                # duplicates then); the receiver logged what went wrong.
                await self._progress.advance(uid_validity, done)
                raise ImapError(f"mail UID {uid} not taken: {outcome!r}")
            done = uid
        done = max(done, uids[-1])  # UIDs the server no longer has (expunged meanwhile)
        await self._progress.advance(uid_validity, done)
        if self.mailbox.processed_folder and mails:
            await self._move(client, [uid for uid, _ in mails])
        return done

    async def _take(self, mails: Iterable[bytes]) -> list[object]:
        """Prepare every mail first (parsing is CPU work that would otherwise slow down the
        transactions in flight), then receive them: one sender's mails in order, different
        senders' at once (the receiver commits those arriving together in one transaction;
        a new sender's identity is created once, not raced for). Outcomes in mail order;
        the first failure to prepare ends the list (the mails after it are fetched again)."""
        prepared: list[Incoming | None] = []
        for raw in mails:
            try:
                prepared.append(await self._prepare(raw))
            except Exception as error:  # the file store failing: the mail is fetched again
                return [*prepared, error]
        by_sender: dict[str, list[int]] = {}
        for index, incoming in enumerate(prepared):
            if incoming is not None:
                by_sender.setdefault(incoming.sender_id, []).append(index)
        outcomes: list[object] = [None] * len(prepared)
        slots = asyncio.Semaphore(self._concurrency)

        async def deliver(indexes: list[int]) -> None:
            async with slots:
                for index in indexes:
                    incoming = prepared[index]
                    assert incoming is not None
                    try:
                        outcomes[index] = await self._deliver(incoming)
                    except Exception as error:
                        outcomes[index] = error

        await asyncio.gather(*(deliver(indexes) for indexes in by_sender.values()))
        return outcomes

    async def _move(self, client: aioimaplib.IMAP4, uids: list[int]) -> None:
        wanted = ",".join(str(uid) for uid in uids)
        folder = self.mailbox.processed_folder
        assert folder is not None
        if client.has_capability("MOVE"):
            _ok(await self._ask(client.uid("move", wanted, folder)), "MOVE")
            return
        _ok(await self._ask(client.uid("copy", wanted, folder)), "COPY")
        _ok(await self._ask(client.uid("store", wanted, "+FLAGS.SILENT", r"(\Deleted)")), "STORE")
        _ok(await self._ask(client.expunge()), "EXPUNGE")

    async def _idle(
        self, client: aioimaplib.IMAP4, stop: asyncio.Event, lost: asyncio.Event
    ) -> None:
        """Wait in IDLE until the server reports new mail, the renewal time, or stop."""
        idle = await self._ask(client.idle_start(timeout=self._idle_seconds))
        try:
            while not stop.is_set() and not lost.is_set():
                push = asyncio.ensure_future(client.wait_server_push(self._idle_seconds + 5))
                await _first(stop, lost, task=push, seconds=self._idle_seconds + 10)
                if not push.done():
                    push.cancel()
                    break
                lines = push.result()
                if not isinstance(lines, list) or any(b"EXISTS" in line for line in lines):
                    break  # new mail, or the renewal time (STOP_WAIT_SERVER_PUSH)
        except TimeoutError:
            pass
        finally:
            if not lost.is_set():
                client.idle_done()
                await asyncio.wait_for(idle, self.mailbox.timeout)
            else:
                idle.cancel()


def _ok(response: aioimaplib.Response, command: str) -> aioimaplib.Response:
    if response.result != "OK":
        lines = b" ".join(bytes(line) for line in response.lines)[:300]
        raise ImapError(f"{command}: {response.result} {lines.decode(errors='replace')}")
    return response


def _uid_validity(lines: list[bytes]) -> int:
    for line in lines:
        found = _UIDVALIDITY.search(bytes(line))
        if found:
            return int(found[1])
    raise ImapError("SELECT gave no UIDVALIDITY")


def _numbers(lines: list[bytes]) -> list[int]:
    line = bytes(lines[0]) if lines else b""
    return [int(word) for word in line.split() if word.isdigit()]


def _fetched_mails(lines: list[bytes | bytearray]) -> dict[int, bytes]:
    """UID -> the mail's bytes, from the untagged FETCH lines (header, literal, tail)."""
    mails: dict[int, bytes] = {}
    pending_uid: int | None = None
    data: bytes | None = None
    for line in lines:
        if isinstance(line, bytearray):
            data = bytes(line)
            if pending_uid is not None:
                mails[pending_uid], pending_uid, data = data, None, None
            continue
        found = _UID.search(line)
        if b"FETCH" in line and _LITERAL.search(line):
            pending_uid = int(found[1]) if found else None
        elif found and data is not None:  # "BODY[] {n}" first, " UID n)" after the bytes
            mails[int(found[1])], data = data, None
    return mails


async def _first(
    *events: asyncio.Event, task: asyncio.Future[object] | None = None, seconds: float
) -> None:
    waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(
            [*waiters, *([task] if task else [])],
            timeout=seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        for waiter in waiters:
            waiter.cancel()


async def _sleep(delay: float, stop: asyncio.Event) -> bool:
    try:
        await asyncio.wait_for(stop.wait(), timeout=delay)
    except TimeoutError:
        return False
    return True


async def _close(client: aioimaplib.IMAP4) -> None:
    try:
        if client.get_state() in ("AUTH", "SELECTED"):
            await asyncio.wait_for(client.logout(), 2)
    except Exception:  # going away anyway
        pass
    transport = getattr(client.protocol, "transport", None)
    if transport is not None:
        transport.close()
