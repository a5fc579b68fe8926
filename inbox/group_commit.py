"""Group commit: items submitted at the same moment by concurrent callers share one
transaction, so a burst of webhooks pays for one BEGIN / connection check / COMMIT instead
of one each. A batch that fails is re-run item by item, so one bad item costs the others
nothing but time and its own caller gets its own error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(eq=False, slots=True)
class _Entry(Generic[Item, Result]):
    item: Item
    future: asyncio.Future[Result] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    taken: bool = False


class GroupCommit(Generic[Item, Result]):
    """`await group.submit(item)` returns what `run_batch` (many items, one transaction,
    results in order) or, for a lone item or after a failed batch, `run_one` made of it.

    At most `concurrency` batches run at once; a caller that finds a free slot takes every
    waiting item (up to `limit`) into its batch, its own included. Items of one caller are
    never reordered: they are taken in submission order."""

    def __init__(
        self,
        run_batch: Callable[[list[Item]], Awaitable[list[Result]]],
        run_one: Callable[[Item], Awaitable[Result]],
        *,
        limit: int = 50,
        concurrency: int = 4,
    ) -> None:
        if limit < 1 or concurrency < 1:
            raise ValueError("limit and concurrency must be at least 1")
        self._run_batch = run_batch
        self._run_one = run_one
        self._limit = limit
        self._slots = asyncio.Semaphore(concurrency)
        self._waiting: list[_Entry[Item, Result]] = []

    async def submit(self, item: Item) -> Result:
        entry: _Entry[Item, Result] = _Entry(item)
        self._waiting.append(entry)
        async with self._slots:
            # More than `limit` may be waiting ahead of this item: batches until it is taken.
            while not entry.taken:
                batch = self._waiting[: self._limit]
                del self._waiting[: self._limit]
                for taken in batch:
                    taken.taken = True
                # Shielded: the other callers' items must be settled even if this caller
                # is cancelled (a client hanging up on a webhook).
                await asyncio.shield(self._settle(batch))
        return await entry.future

    async def _settle(self, batch: list[_Entry[Item, Result]]) -> None:
        if len(batch) > 1:
            try:
                results = await self._run_batch([entry.item for entry in batch])
            except Exception:
                pass  # each item is tried again on its own below
            else:
                for entry, result in zip(batch, results, strict=True):
                    entry.future.set_result(result)
                return
        for entry in batch:
            try:
                entry.future.set_result(await self._run_one(entry.item))
            except Exception as exc:
                entry.future.set_exception(exc)
