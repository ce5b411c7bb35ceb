"""Answers kept as bytes for the fast path to repeat (http/fastpath.py): the reads the route table marks
`reuse=True` declare, when they answer, what their answer depends on beyond the request (a freshness
test: the scope's index, the check outputs, the config, the token's authorizer). A request that names
the same path, query and token is answered from these bytes below aiohttp while the test holds; the
first request after a change is built by the handler and kept again.

The key holds everything of the request that can change the answer: the raw path, the raw query less
the blocking options (`index` decides only whether the request may be answered at once: an `index` at
or past the answer's goes to the handler to block), and the values of the headers a reused request
may carry (the token's two headers, Cache-Control). A request with any other header is not reused
and its answer not kept (fastpath.reusable_head decides both), so a namespace header, say, can never
be answered with another namespace's bytes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web

# Headers a reused request may carry besides the benign ones, and whose values are part of the key
# (`Accept`: HTTP libraries send `*/*` unasked, and an answer may depend on it).
KEYED_HEADERS = (b"x-consul-token", b"authorization", b"cache-control", b"accept")
# Never in the kept head: aiohttp adds Content-Length, Date and Server as it writes (the fast path
# does the same); a response carrying its own, or other framing, is not kept.
_WRITTEN_BY_SERVER = frozenset({"content-length", "date", "server", "transfer-encoding", "set-cookie"})
_NOT_IN_KEY = frozenset({b"index", b"wait"})
MAX_ENTRIES = 1024
MAX_BYTES = 32 << 20

Key = tuple[bytes, bytes, tuple[bytes, ...]]  # raw path, raw query less the blocking options, headers


@dataclass(frozen=True)
class Kept:
    fresh: Callable[[], bool]  # still the answer the handler would give
    index: int  # its X-Consul-Index (0: none): a blocking request below it is answered at once
    head: bytes  # status line and headers, without Content-Length, Date and Server
    body: bytes


def query_key(raw_query: bytes) -> tuple[bytes, int | None]:
    """The query less `index` and `wait`, and the `index` asked for (None when absent or not a plain
    number: such a request goes to the handler). Order is kept: a repeated parameter's first value is
    the one read."""
    if not raw_query:
        return b"", None
    kept: list[bytes] = []
    index: int | None = None
    for pair in raw_query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name in _NOT_IN_KEY:
            if name == b"index" and index is None:
                index = int(value) if value.isdigit() and len(value) < 20 else -1
            continue
        kept.append(pair)
    return b"&".join(kept), index


def kept_head(response: web.StreamResponse) -> bytes | None:
    """The status line and headers aiohttp will write for `response` (before its Content-Length,
    Date and Server), or None when it is not one to keep: a streamed, prepared or compressed one."""
    if not isinstance(response, web.Response) or response.prepared or response.compression:
        return None
    if not isinstance(response.body, bytes):
        return None
    lines = [b"HTTP/1.1 %d %s\r\n" % (response.status, HTTPStatus(response.status).phrase.encode())]
    for name, value in response.headers.items():
        if name.lower() in _WRITTEN_BY_SERVER:
            return None
        lines.append(f"{name}: {value}\r\n".encode())
    return b"".join(lines)


class KeptAnswers:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0  # requests answered from kept bytes (the fast path counts them)
        self._entries: OrderedDict[Key, Kept] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key) -> Kept | None:
        """The kept answer for `key` while it is fresh; a stale one is dropped."""
        kept = self._entries.get(key)
        if kept is None:
            return None
        if not kept.fresh():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return kept

    def put(self, key: Key, kept: Kept) -> None:
        size = len(kept.head) + len(kept.body)
        if size > self.max_bytes // 8:
            return  # one huge answer would evict everything else
        if key in self._entries:
            self._drop(key)
        self._entries[key] = kept
        self.size += size
        while self._entries and (len(self._entries) > self.max_entries or self.size > self.max_bytes):
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Key) -> None:
        kept = self._entries.pop(key)
        self.size -= len(kept.head) + len(kept.body)
