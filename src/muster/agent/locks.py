"""Writes that touch the same services run one after another: a check registered while its service is
being deregistered must land either before (and go with it) or after (and find no service), never
between the deregistration's read of the service's checks and its commit. Writes to other services
still share the store's group commits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
ServiceKey = tuple[str, str]  # (namespace, service ID)


class ServiceLocks:
    def __init__(self) -> None:
        self._locks: dict[ServiceKey, asyncio.Lock] = {}
        self._users: dict[ServiceKey, int] = {}
        self._running: set[asyncio.Task[object]] = set()

    async def run(self, keys: Iterable[ServiceKey], write: Callable[[], Awaitable[T]]) -> T:
        """Run `write` holding every key's lock. The write runs to its end even when the caller is
        cancelled (a client that hung up): a lock released before its commit is applied would let the
        next write read state that is about to change."""
        task: asyncio.Task[T] = asyncio.ensure_future(self._locked(sorted(set(keys)), write))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def _locked(self, keys: list[ServiceKey], write: Callable[[], Awaitable[T]]) -> T:
        for key in keys:
            self._users[key] = self._users.get(key, 0) + 1
        acquired: list[asyncio.Lock] = []
        try:
            for key in keys:  # sorted: two writes never wait on each other's keys
                lock = self._locks.setdefault(key, asyncio.Lock())
                await lock.acquire()
                acquired.append(lock)
            return await write()
        finally:
            for lock in acquired:
                lock.release()
            for key in keys:
                self._users[key] -= 1
                if self._users[key] == 0:  # no map entry outlives its last user
                    del self._users[key]
                    del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)
