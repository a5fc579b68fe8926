"""The test suite's wait for a batch of work (tests/telegram_helpers.py `progressing`):
it waits for as long as the work moves, and fails soon once it stops (issue 11, item 32:
the e-mail corpus test failed under load on a fixed 15 s deadline for the whole batch)."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.telegram_helpers import progressing


class Work:
    """A job that finishes one item every `pace` seconds, `items` in all (then stops)."""

    def __init__(self, items: int, pace: float) -> None:
        self.done = 0
        self._task = asyncio.create_task(self._run(items, pace))

    async def _run(self, items: int, pace: float) -> None:
        for _ in range(items):
            await asyncio.sleep(pace)
            self.done += 1

    async def count(self) -> int:
        return self.done


async def test_slow_but_steady_work_is_waited_for_beyond_the_stall_window() -> None:
    work = Work(items=12, pace=0.05)  # 0.6 s in all, one item every 0.05 s
    started = asyncio.get_running_loop().time()
    await progressing(work.count, 12, "the items", stall=0.25)
    assert work.done == 12
    assert asyncio.get_running_loop().time() - started > 0.25  # a fixed deadline had failed


async def test_work_that_stops_moving_fails_after_the_stall_window() -> None:
    work = Work(items=3, pace=0.01)  # stops at 3 of 10
    with pytest.raises(AssertionError, match=re.escape("the items: stuck at 3 of 10 for 0.2 s")):
        await progressing(work.count, 10, "the items", stall=0.2)
