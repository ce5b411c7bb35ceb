"""Packed replies, kept until a catalog scope they were built from changes: a hit is a dict lookup
and a two-byte ID patch, no parse and no render. Also the query counters (docs/metrics.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.rdatatype

from muster.catalog import Scope
from muster.dns.wire import Key

MAX_ENTRIES = 10_000  # distinct questions; beyond this the oldest are dropped first
# A hit re-opens its scope at least this often, which keeps an etcd-backed view (and its watch)
# alive while DNS clients ask about it, and lets the catalog say whether it changed.
REOPEN_SECONDS = 1.0
COUNTED_TYPES = ("A", "AAAA", "ANY", "CNAME", "NS", "PTR", "SOA", "SRV", "TXT")
_TYPE_NAMES = {int(dns.rdatatype.from_text(name)): name for name in COUNTED_TYPES}


def type_name(rdtype: int) -> str:
    """A bounded label for metrics: the common types by name, the rest as OTHER."""
    return _TYPE_NAMES.get(rdtype, "OTHER")


@dataclass(slots=True)
class Entry:
    variants: list[bytes]  # the same answer in different shuffled orders, served in turn
    scopes: tuple[Scope, ...]  # what the reply was read from (none: no catalog data)
    indexes: tuple[object, ...]  # each scope's catalog marker when it was read
    acl_stamp: object
    checked: float  # monotonic time the scope was last opened and found unchanged
    turn: int = 0

    def next_variant(self) -> bytes:
        variants = self.variants
        self.turn += 1
        return variants[self.turn % len(variants)]


class ReplyCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.entries: dict[Key, Entry] = {}

    def get(self, key: Key) -> Entry | None:
        return self.entries.get(key)

    def put(self, key: Key, entry: Entry) -> None:
        entries = self.entries
        if key not in entries and len(entries) >= self.max_entries:
            for old in list(entries)[: max(1, self.max_entries // 10)]:  # insertion order: oldest first
                del entries[old]
        entries[key] = entry

    def clear(self) -> None:
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class DNSStats:
    queries: dict[str, int] = field(default_factory=dict)  # by query type (type_name)
    cache_hits: int = 0
    cache_misses: int = 0
    recursed: int = 0
    recursor_failures: int = 0
    malformed: int = 0

    def count(self, rdtype: int) -> None:
        name = type_name(rdtype)
        self.queries[name] = self.queries.get(name, 0) + 1
