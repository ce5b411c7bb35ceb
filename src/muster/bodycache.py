"""Encoded answers of catalog and health reads, kept while what they were built from is unchanged
(the scope's index and the local check outputs), so a load balancer polling `/v1/health/service/web`
gets cached bytes instead of a fresh build and encode on every request."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

MAX_ENTRIES = 512


class BodyCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
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
        self._entries[key] = (marker, body)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
