"""Blocking queries: waiters parked on a key (a service, or the whole state) until it changes or their
deadline passes. One future per waiter and no task of its own: thousands of waiters stay cheap, a
client that hangs up is freed at once (its handler is cancelled), and shutdown wakes everyone first."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Hashable

MAX_WAIT_SECONDS = 600.0
DEFAULT_WAIT_SECONDS = 300.0


def effective_wait(
    wait_ns: int, *, default: float = DEFAULT_WAIT_SECONDS, maximum: float = MAX_WAIT_SECONDS
) -> float:
    """Consul's wait: 0 means the default, larger than the maximum is clamped, plus jitter < wait/16."""
    seconds = wait_ns / 1e9 if wait_ns > 0 else default
    seconds = min(seconds, maximum)
    return seconds + random.uniform(0, seconds / 16)


class Waiters:
    def __init__(self) -> None:
        self._by_key: dict[Hashable, set[asyncio.Future[None]]] = {}
        self._closing = False

    def __len__(self) -> int:
        return sum(len(waiting) for waiting in self._by_key.values())

    @property
    def closing(self) -> bool:
        return self._closing

    async def wait(self, key: Hashable, seconds: float) -> bool:
        """Park until `key` changes (True) or `seconds` pass (False)."""
        if self._closing:
            return False
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiting = self._by_key.setdefault(key, set())
        waiting.add(future)
        timer = loop.call_later(seconds, _expire, future)
        try:
            await future
        except TimeoutError:
            return False
        finally:
            timer.cancel()
            waiting.discard(future)
            if not waiting and self._by_key.get(key) is waiting:
                del self._by_key[key]
        return not self._closing

    def notify(self, key: Hashable) -> None:
        for future in self._by_key.get(key, ()):
            if not future.done():
                future.set_result(None)

    def close(self) -> None:
        """Shutdown: wake every waiter so each answers with what it has."""
        self._closing = True
        for waiting in self._by_key.values():
            for future in waiting:
                if not future.done():
                    future.set_result(None)


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
