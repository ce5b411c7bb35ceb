"""A fast path below aiohttp for the GETs that are polled, answered by a plain asyncio Protocol
(aiohttp's per-request cost caps those at ~0.35 of nginx; this path serves them well above it):

- the routes marked `fast=` in api/routes.py (`/v1/agent/services`, `/v1/agent/service/:id`,
  `/v1/agent/health/service/name/:name?format=text`), from the agent's own bytes, while ACLs are off;
- the routes marked `reuse=True` (the catalog and health reads, `/status/v1/simple`), from the bytes
  their handler sent for the same path, query and token while its freshness test holds
  (http/answers.py), in every mode: ACLs on, -dev, HTTPS.

Anything else, or anything unusual about a request (a body, a namespace header, a header it does not
know, a head split across reads, HTTP/1.0, another query), hands the connection to aiohttp with the
bytes read so far, for good; the answers are the same bytes aiohttp's handlers send."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE

from muster.api import render
from muster.api.routes import ROUTES, Route
from muster.http.agentanswers import fast_answers
from muster.http.answers import KEYED_HEADERS, Kept, KeptAnswers, kept_head, query_key
from muster.http.fastrequest import FastRequest
from muster.http.headdeadline import HEAD_TIMEOUT_SECONDS, KEEPALIVE_SECONDS

if TYPE_CHECKING:
    from muster.acl.manager import ACLManager
    from muster.agent.state import LocalState
    from muster.api.app import Dispatcher
    from muster.api.call import Call

# aiohttp internals this module leans on (tested with aiohttp 3.14.5; tests/unit/test_aiohttp_pins.py
# fails naming the one that changed): web.Server() builds a RequestHandler that takes a transport
# mid-stream (connection_made, then data_received with the bytes read here); SERVER_SOFTWARE and
# aiohttp's header layout are the bytes its responses carry (tests/e2e/test_fastpath.py compares them);
# its parser refuses the header values _BAD_VALUE matches and nothing else this path accepts.
log = logging.getLogger("muster.http")
WRITE_BUFFER_LIMIT = 1 << 20  # a client not reading its answers goes to aiohttp's flow control
PIPELINE_LIMIT = 1 << 16  # bytes read ahead while a request is being built
# Headers that cannot change these answers; any other header sends the request to aiohttp.
BENIGN_HEADERS = frozenset(
    {
        b"host", b"user-agent", b"accept-encoding", b"accept-language", b"cache-control", b"pragma",
        b"referer", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-real-ip",
        b"x-request-id", b"connection",
    }
)  # fmt: skip
# A raw path aiohttp decodes to itself (no %, no ;, no #): only those are matched here.
_PLAIN_PATH = re.compile(rb"/[A-Za-z0-9_.:/-]*")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # aiohttp's parser refuses these: let it
_REASONS = {200: b"OK", 429: b"Too Many Requests", 503: b"Service Unavailable"}
_MATCH_CACHE_SIZE = 4096  # raw paths remembered with their route; cleared when full
# A request's headers: names in lower case, values trimmed.
Headers = list[tuple[bytes, bytes]]


class FastRoutes:
    """The answers of the routes the table marks `fast=` (api/routes.py), chosen by the dispatcher's
    own matching (Dispatcher.direct_route), so a route added or changed there cannot drift from here."""

    def __init__(self, state: LocalState, acl: ACLManager, dev: bool, dispatcher: Dispatcher) -> None:
        self.state = state
        self.acl = acl
        self.dev = dev  # -dev indents every answer: the handlers', not these bytes
        self.dispatcher = dispatcher
        self.answers = fast_answers(ROUTES)
        self.kept = KeptAnswers()
        self._matches: dict[bytes, tuple[Route, str] | None] = {}
        self._date_second = 0
        self._date = b""

    def _tail(self) -> bytes:
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = email.utils.formatdate(now, usegmt=True).encode()
        return b"Date: " + self._date + b"\r\nServer: " + SERVER_SOFTWARE.encode() + b"\r\n\r\n"

    def response(self, code: int, headers: bytes, body: bytes) -> bytes:
        return self._framed(b"HTTP/1.1 %d %s\r\n" % (code, _REASONS[code]) + headers, body)

    def _framed(self, head: bytes, body: bytes) -> bytes:
        """A whole response: the status line and headers, then what aiohttp adds (Content-Length,
        Date, Server) and the body."""
        return b"".join((head, b"Content-Length: %d\r\n" % len(body), self._tail(), body))

    def answer(self, head: bytes) -> tuple[str, bytes] | FastRequest | None:
        """(route path, the whole response) for a request head answered from bytes; a FastRequest for
        a reusable read to build here (no kept answer, or a stale one); None: aiohttp's."""
        headers = _get_headers(head)
        if headers is None:
            return None
        target = head[4 : head.index(b" ", 4)]
        raw_path, _, raw_query = target.partition(b"?")
        try:
            matched = self._matches[raw_path]
        except KeyError:
            matched = self._match(raw_path)
        if matched is None:
            return None
        route, path_id = matched
        fast = route.fast
        if fast is not None and raw_query == fast.query.encode() and self._plain(headers):
            response = self.answers[fast.answer](self, path_id)
            if response is not None:
                return route.path, response
        keyed = keyed_values(headers) if route.reuse else None
        if keyed is not None:
            response = self._kept_answer(raw_path, raw_query, keyed)
            if response is not None:
                return route.path, response
            return FastRequest(target, headers)
        return None

    def written(self, response: web.StreamResponse) -> bytes | None:
        """The bytes of a response the dispatcher built for a FastRequest, as aiohttp writes them."""
        head = kept_head(response)
        return None if head is None else self._framed(head, cast(bytes, cast(web.Response, response).body))

    def _plain(self, headers: Headers) -> bool:
        """The agent routes' own answers: only with ACLs off, no -dev, and benign headers alone."""
        acl = self.acl
        if acl.enabled or acl.default_policy != "allow" or self.dev:
            return False
        return all(name in BENIGN_HEADERS for name, _ in headers)

    def _kept_answer(self, raw_path: bytes, raw_query: bytes, keyed: tuple[bytes, ...]) -> bytes | None:
        query, index = query_key(raw_query)
        kept = self.kept.get((raw_path, query, keyed))
        if kept is None or (index is not None and (index < 0 or 0 < kept.index <= index)):
            return None  # a blocking request at or past the answer's index waits in the handler
        self.kept.hits += 1
        return self._framed(kept.head, kept.body)

    def keep(self, route: Route, call: Call, response: web.StreamResponse) -> None:
        """The dispatcher's `answered` hook: keep a reusable GET answer for repeats."""
        request = call.request
        if not route.reuse or call.reuse is None or request.method != "GET":
            return
        raw_path, _, raw_query = request.raw_path.encode().partition(b"?")
        keyed = keyed_values([(name.lower(), value) for name, value in request.raw_headers])
        head = kept_head(response)
        if keyed is None or head is None or not _PLAIN_PATH.fullmatch(raw_path):
            return
        fresh, index = call.reuse
        body = cast(bytes, cast(web.Response, response).body)
        self.kept.put((raw_path, query_key(raw_query)[0], keyed), Kept(fresh, index, head, body))

    def _match(self, raw_path: bytes) -> tuple[Route, str] | None:
        """The route a raw path reaches when it may be answered here; remembered, as routes and the
        UI prefix are fixed."""
        matched = None
        direct = self.dispatcher.direct_route(raw_path.decode()) if _PLAIN_PATH.fullmatch(raw_path) else None
        if direct is not None and (direct[0].fast is not None or direct[0].reuse):
            matched = direct
        if len(self._matches) >= _MATCH_CACHE_SIZE:
            self._matches.clear()
        self._matches[raw_path] = matched
        return matched


def _get_headers(head: bytes) -> Headers | None:
    """A GET's headers (lower-cased names, trimmed values) when it is HTTP/1.1 with exactly one Host,
    keep-alive, and headers this path may see (benign or keyed); else None: aiohttp answers it."""
    if not head.startswith(b"GET /"):
        return None
    first, _, rest = head.partition(b"\r\n")
    if not first.endswith(b" HTTP/1.1") or first.count(b" ") != 2:
        return None
    headers = []
    hosts = 0  # aiohttp answers a request without exactly one Host with 400: so must this path
    for line in rest.split(b"\r\n") if rest else ():
        name, colon, value = line.partition(b":")
        if not colon or name != name.strip() or not name or _BAD_VALUE.search(value):
            return None
        lowered = name.lower()
        if lowered not in BENIGN_HEADERS and lowered not in KEYED_HEADERS:
            return None
        value = value.strip()
        if lowered == b"connection" and value.lower() != b"keep-alive":
            return None
        hosts += lowered == b"host"
        headers.append((lowered, value))
    return headers if hosts == 1 else None


def keyed_values(headers: Headers) -> tuple[bytes, ...] | None:
    """The values of the keyed headers (b"" when absent), or None when a header outside the benign
    and keyed ones is present or a keyed one is repeated: such a request is neither answered from
    kept bytes nor its answer kept."""
    values: dict[bytes, bytes] = {}
    for name, value in headers:
        if name in KEYED_HEADERS:
            if name in values:
                return None
            values[name] = value
        elif name not in BENIGN_HEADERS:
            return None
    return tuple(values.get(name, b"") for name in KEYED_HEADERS)


class FastPathProtocol(asyncio.Protocol):
    """One connection: answered here while every request qualifies, then aiohttp's for good."""

    def __init__(
        self, routes: FastRoutes, fallback: Callable[[], asyncio.Protocol], live: set[FastPathProtocol]
    ) -> None:
        self.routes = routes
        self.fallback = fallback
        self.live = live
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.timer: asyncio.TimerHandle | None = None
        self.paused = False  # the transport's write buffer is over its high-water mark
        self.building: asyncio.Task[None] | None = None  # a reusable read the dispatcher is building

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses
        self.live.add(self)
        self._arm(HEAD_TIMEOUT_SECONDS)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.live.discard(self)
        self.transport = None
        if self.building is not None:
            self.building.cancel()  # the client went away: stop its handler, as aiohttp does

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def eof_received(self) -> bool:
        return False  # the client is done: close

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.building is None:
            self._serve()
        elif len(self.buffer) > PIPELINE_LIMIT and self.transport is not None:
            self.transport.pause_reading()  # a client pipelining behind a blocked read waits its turn

    def _serve(self) -> None:
        """Answer the complete requests in the buffer, in order, until one must be built or handed off."""
        transport = self.transport
        if transport is None:
            return
        routes = self.routes
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if self.buffer:
                    self._hand_off()  # a head split across reads: aiohttp parses it, with its deadline
                else:
                    self._arm(KEEPALIVE_SECONDS)
                return
            started = time.perf_counter()
            answer = routes.answer(self.buffer[:end])
            if answer is None or self.paused or transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
                self._hand_off()
                return
            self.buffer = self.buffer[end + 4 :]
            if isinstance(answer, FastRequest):
                self._disarm()
                self.building = asyncio.get_running_loop().create_task(self._build(answer))
                return
            route, response = answer
            transport.write(response)
            routes.dispatcher.count(route, "GET", time.perf_counter() - started)

    async def _build(self, request: FastRequest) -> None:
        """Run the dispatcher for a reusable read (it keeps the answer, times and counts it), write the
        answer, then go on with any request pipelined behind it."""
        try:
            response = await self.routes.dispatcher(request)
        except Exception:  # the dispatcher answers handler failures itself: this is its own bug
            log.exception("GET %s failed on the fast path", request.path)
            response = render.internal_error()
        self.building = None
        transport = self.transport
        if transport is None:
            return
        data = self.routes.written(response)
        if data is None:  # not a response this path can write: never for the reusable routes
            log.error("GET %s: the fast path cannot write its answer; closing", request.path)
            transport.close()
            return
        transport.write(data)
        transport.resume_reading()
        self._serve()

    def _hand_off(self) -> None:
        self._disarm()
        self.live.discard(self)
        transport, self.transport = self.transport, None
        if transport is None or transport.is_closing():
            return
        protocol = self.fallback()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if self.paused:
            # The transport told us, not aiohttp, that its buffer is full; it tells the protocol it
            # holds when the buffer drains. Unsaid, aiohttp would write every pipelined answer into memory.
            cast(asyncio.BaseProtocol, protocol).pause_writing()
        buffered, self.buffer = self.buffer, b""
        if buffered:
            protocol.data_received(buffered)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self.timer = asyncio.get_running_loop().call_later(seconds, self._idle)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _idle(self) -> None:
        self.timer = None
        if self.transport is not None:
            self.transport.close()
