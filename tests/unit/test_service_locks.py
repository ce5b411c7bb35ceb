"""ServiceLocks: writes on one service run one at a time, to their end even when the caller is
cancelled, and no lock outlives its last user."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from muster.agent.locks import ServiceLocks

KEY = ("default", "web-1")


def test_writes_on_one_service_do_not_interleave() -> None:
    async def scenario() -> list[str]:
        locks = ServiceLocks()
        events: list[str] = []

        def write(name: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                events.append(f"{name} start")
                await asyncio.sleep(0.01)
                events.append(f"{name} end")

            return run

        await asyncio.gather(locks.run([KEY], write("a")), locks.run([KEY], write("b")))
        assert 0 == len(locks)
        return events

    assert ["a start", "a end", "b start", "b end"] == asyncio.run(scenario())


def test_writes_on_other_services_run_together() -> None:
    async def scenario() -> int:
        locks = ServiceLocks()
        running = 0
        most = 0

        async def write() -> None:
            nonlocal running, most
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.01)
            running -= 1

        await asyncio.gather(*(locks.run([("default", f"s{i}")], write) for i in range(5)))
        return most

    assert 5 == asyncio.run(scenario())


def test_a_cancelled_caller_lets_its_write_finish_before_the_next_starts() -> None:
    async def scenario() -> list[str]:
        locks = ServiceLocks()
        events: list[str] = []

        async def slow() -> None:
            await asyncio.sleep(0.05)
            events.append("slow done")

        async def quick() -> None:
            events.append("quick")

        caller = asyncio.ensure_future(locks.run([KEY], slow))
        await asyncio.sleep(0.01)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        await locks.run([KEY], quick)
        assert 0 == len(locks)
        return events

    assert ["slow done", "quick"] == asyncio.run(scenario())


def test_overlapping_key_sets_do_not_deadlock() -> None:
    async def scenario() -> int:
        locks = ServiceLocks()
        done = 0

        async def write() -> None:
            nonlocal done
            await asyncio.sleep(0)
            done += 1

        a, b = ("default", "a"), ("default", "b")
        await asyncio.wait_for(asyncio.gather(*(locks.run(keys, write) for keys in ([a, b], [b, a]) * 10)), 5)
        return done

    assert 20 == asyncio.run(scenario())


def test_an_error_releases_the_locks() -> None:
    async def scenario() -> int:
        locks = ServiceLocks()

        async def failing() -> None:
            raise ValueError("refused")

        with pytest.raises(ValueError, match="refused"):
            await locks.run([KEY], failing)
        return len(locks)

    assert 0 == asyncio.run(scenario())
