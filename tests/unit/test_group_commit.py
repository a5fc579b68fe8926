"""Group commit: concurrent items share batches, results reach their own callers, a failed
batch is retried item by item, and nothing waits forever."""

from __future__ import annotations

import asyncio

import pytest

from inbox.group_commit import GroupCommit


class Recorder:
    def __init__(self, fail_on: set[int] | None = None, pause: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.singles: list[int] = []
        self.fail_on = fail_on or set()
        self.pause = pause

    async def run_batch(self, items: list[int]) -> list[str]:
        self.batches.append(list(items))
        await asyncio.sleep(self.pause)
        if self.fail_on & set(items):
            raise RuntimeError("batch rolled back")
        return [f"r{item}" for item in items]

    async def run_one(self, item: int) -> str:
        self.singles.append(item)
        await asyncio.sleep(self.pause)
        if item in self.fail_on:
            raise ValueError(f"bad item {item}")
        return f"r{item}"


async def test_concurrent_items_share_a_batch_and_each_caller_gets_its_own_result() -> None:
    recorder = Recorder(pause=0.01)
    group = GroupCommit(recorder.run_batch, recorder.run_one, limit=50, concurrency=1)
    results = await asyncio.gather(*(group.submit(i) for i in range(10)))
    assert results == [f"r{i}" for i in range(10)]
    # The first caller runs alone; the nine that queued behind it go in one batch.
    assert recorder.singles == [0]
    assert recorder.batches == [list(range(1, 10))]


async def test_a_failed_batch_is_retried_item_by_item_and_only_the_bad_caller_fails() -> None:
    recorder = Recorder(fail_on={5}, pause=0.01)
    group = GroupCommit(recorder.run_batch, recorder.run_one, limit=50, concurrency=1)
    results = await asyncio.gather(*(group.submit(i) for i in range(8)), return_exceptions=True)
    assert [r for i, r in enumerate(results) if i != 5] == [f"r{i}" for i in range(8) if i != 5]
    assert isinstance(results[5], ValueError) and str(results[5]) == "bad item 5"
    assert recorder.batches == [list(range(1, 8))]
    assert recorder.singles == [0, *range(1, 8)]


async def test_more_items_than_the_limit_are_all_settled_in_order() -> None:
    recorder = Recorder(pause=0.001)
    group = GroupCommit(recorder.run_batch, recorder.run_one, limit=3, concurrency=1)
    results = await asyncio.gather(*(group.submit(i) for i in range(20)))
    assert results == [f"r{i}" for i in range(20)]
    handled = [item for batch in recorder.batches for item in batch] + recorder.singles
    assert sorted(handled) == list(range(20))
    assert all(len(batch) <= 3 for batch in recorder.batches)
    assert [item for batch in recorder.batches for item in batch] == sorted(
        item for batch in recorder.batches for item in batch
    )


async def test_a_cancelled_leader_still_settles_the_items_it_took() -> None:
    recorder = Recorder(pause=0.05)
    group = GroupCommit(recorder.run_batch, recorder.run_one, limit=50, concurrency=1)
    first = asyncio.create_task(group.submit(0))
    await asyncio.sleep(0.01)
    others = [asyncio.create_task(group.submit(i)) for i in (1, 2)]
    await asyncio.sleep(0.06)  # item 0 is done; caller 1 now leads the batch [1, 2]
    others[0].cancel()
    assert await asyncio.wait_for(first, 1) == "r0"
    assert await asyncio.wait_for(others[1], 1) == "r2"
    assert recorder.batches == [[1, 2]]


async def test_an_item_behind_a_full_batch_of_abandoned_items_is_still_settled() -> None:
    recorder = Recorder(pause=0.02)
    group = GroupCommit(recorder.run_batch, recorder.run_one, limit=1, concurrency=1)
    first = asyncio.create_task(group.submit(0))
    await asyncio.sleep(0.005)
    abandoned = asyncio.create_task(group.submit(1))
    last = asyncio.create_task(group.submit(2))
    await asyncio.sleep(0.005)
    abandoned.cancel()  # its item stays queued ahead of item 2, for item 2's caller to run
    assert await asyncio.wait_for(last, 1) == "r2"
    assert await asyncio.wait_for(first, 1) == "r0"
    assert recorder.singles == [0, 1, 2]


def test_limits_below_one_are_refused() -> None:
    async def never(_: object) -> None: ...

    with pytest.raises(ValueError):
        GroupCommit(never, never, limit=0)  # type: ignore[arg-type]
