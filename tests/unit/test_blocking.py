from __future__ import annotations

import asyncio

import pytest

from muster.blocking import Waiters, effective_wait


@pytest.mark.asyncio
async def test_notify_wakes_only_waiters_of_that_key() -> None:
    waiters = Waiters()
    woken = asyncio.create_task(waiters.wait("a", 5))
    other = asyncio.create_task(waiters.wait("b", 0.2))
    await asyncio.sleep(0)
    waiters.notify("a")
    assert await woken is True
    assert await other is False
    assert 0 == len(waiters)


@pytest.mark.asyncio
async def test_cancelled_waiter_is_removed() -> None:
    waiters = Waiters()
    task = asyncio.create_task(waiters.wait("a", 5))
    await asyncio.sleep(0)
    assert 1 == len(waiters)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0 == len(waiters)


@pytest.mark.asyncio
async def test_close_wakes_everyone_and_refuses_new_waits() -> None:
    waiters = Waiters()
    tasks = [asyncio.create_task(waiters.wait(i, 60)) for i in range(100)]
    await asyncio.sleep(0)
    waiters.close()
    assert [False] * 100 == await asyncio.gather(*tasks)
    assert await waiters.wait("late", 60) is False


def test_effective_wait_defaults_clamps_and_jitters() -> None:
    assert 300 <= effective_wait(0) < 300 + 300 / 16
    assert 600 <= effective_wait(3_600 * 10**9) < 600 + 600 / 16
    assert 2 <= effective_wait(2 * 10**9) < 2 + 2 / 16
