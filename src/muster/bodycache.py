"""Encoded answers of catalog and health reads, kept while what they were built from is unchanged
(the scope's index and the local check outputs), so a load balancer polling `/v1/health/service/web`
gets cached bytes instead of a fresh build and encode on every request."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

MAX_ENTRIES = 512
# Bounded in bytes too: keys carry every query parameter (a cache-busting `?_=<time>` makes each request
# a new key), and 512 answers of a large service could hold a gigabyte.
MAX_BYTES = 32 << 20


class BodyCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0  # bytes of the bodies held
        self._entries: OrderedDict[Hashable, tuple[Hashable, bytes]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, marker: Hashable) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != marker:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[1]

    def put(self, key: Hashable, marker: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return  # an answer larger than the whole cache is built each time
        old = self._entries.get(key)
        if old is not None:
            self.size -= len(old[1])
        self._entries[key] = (marker, body)
        self._entries.move_to_end(key)
        self.size += len(body)
        while len(self._entries) > self.max_entries or self.size > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.size -= len(dropped)
