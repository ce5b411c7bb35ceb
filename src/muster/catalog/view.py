"""A live view of one etcd key range: loaded once, then kept current by one watch that every local
reader and blocking query shares. Its index is the etcd revision of the last change in the range,
so a blocking query on one service wakes only when that service changes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from muster.catalog.etcd_client import DELETE, EtcdClient, EtcdUnavailable, Event, WatchCompacted

log = logging.getLogger("muster.catalog")
BACKOFF_FIRST, BACKOFF_MAX = 0.2, 2.0


class PrefixView:
    def __init__(self, client: EtcdClient, prefix: bytes, on_contact: Callable[[bool], None]) -> None:
        self.client = client
        self.prefix = prefix
        self.on_contact = on_contact
        self.values: dict[bytes, bytes] = {}
        self.revisions: dict[bytes, tuple[int, int]] = {}  # key -> (create, mod) revision: entry indexes
        self.revision = 0  # X-Consul-Index: the revision of the last change seen in this range
        self.resume_from = 0  # the watch restarts after this revision
        self.loaded = asyncio.Event()
        self.last_used = time.monotonic()
        self.readers = 0  # blocking queries waiting on this view right now
        self._decoded: dict[bytes, Any] = {}
        self._changed: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"view {self.prefix!r}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._notify()

    def decoded(self, key: bytes, decode: Callable[[bytes], Any]) -> Any:
        """The value under key, decoded once per change (None if it does not decode)."""
        if key not in self._decoded:
            try:
                self._decoded[key] = decode(self.values[key])
            except ValueError:  # a value written by something else: skip it, never fail a read
                log.warning("catalog: ignoring undecodable value at %r", key)
                self._decoded[key] = None
        return self._decoded[key]

    async def load(self, *, serializable: bool = False) -> None:
        """Read the whole range again (also the `?consistent` read-through); raises EtcdUnavailable."""
        revision, kvs = await self.client.range(self.prefix, serializable=serializable)
        self.on_contact(True)
        if revision < self.resume_from:
            return  # a lagging member: the watch already has newer data
        values = {kv.key: kv.value for kv in kvs}
        self.revisions = {kv.key: (kv.create_revision, kv.mod_revision) for kv in kvs}
        if values != self.values:
            self.values = values
            self._decoded.clear()
            self.revision = max(self.revision, revision, *(kv.mod_revision for kv in kvs))
            self._notify()
        elif not self.revision:
            self.revision = revision
        self.resume_from = max(self.resume_from, revision)
        self.loaded.set()

    def apply(self, events: list[Event]) -> None:
        for event in events:
            self._decoded.pop(event.key, None)
            if event.kind == DELETE:
                self.values.pop(event.key, None)
                self.revisions.pop(event.key, None)
            else:
                self.values[event.key] = event.value
                self.revisions[event.key] = (event.create_revision, event.mod_revision)
        if events:
            self.revision = max(self.revision, events[-1].mod_revision)
            self.resume_from = max(self.resume_from, self.revision)
            self._notify()

    async def _run(self) -> None:
        backoff = BACKOFF_FIRST
        need_load = not self.loaded.is_set()
        while True:
            try:
                if need_load:
                    await self.load()
                    need_load = False
                async for revision, events in self.client.watch(self.prefix, self.resume_from + 1):
                    self.on_contact(True)
                    backoff = BACKOFF_FIRST
                    self.apply(events)
                    if not events:  # a progress notification: nothing in the range up to revision
                        self.resume_from = max(self.resume_from, revision)
            except WatchCompacted:
                need_load = True
            except EtcdUnavailable as exc:
                self.on_contact(False)
                log.debug("catalog view %r: %s; retrying in %.1fs", self.prefix, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(BACKOFF_MAX, backoff * 2)

    def _notify(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        self._changed = None

    async def wait_past(self, index: int, seconds: float) -> None:
        """Return once the revision passes index, or after seconds."""
        deadline = time.monotonic() + seconds
        self.readers += 1
        try:
            while self.revision <= index and self._task is not None and not self._task.done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                if self._changed is None:
                    self._changed = asyncio.get_running_loop().create_future()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._changed), remaining)
        finally:
            self.readers -= 1
            self.last_used = time.monotonic()
