"""A fast path below aiohttp for the hottest GETs of load balancers and sidecars, the routes marked
`fast=` in api/routes.py (`/v1/agent/services`, `/v1/agent/service/:id`,
`/v1/agent/health/service/name/:name?format=text`), answered from the agent's cached bytes by a plain
asyncio Protocol (aiohttp's per-request cost caps those at ~0.35 of nginx; this path serves them well
above it). Anything else, or anything unusual about a request (a body, a token, a namespace, a header
it does not know, a head split across reads, HTTP/1.0, another query), hands the connection to aiohttp
with the bytes read so far, for good; the answers are the same bytes aiohttp's handlers send. Only the
plain-HTTP listener, and only while ACLs are off."""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from aiohttp.http import SERVER_SOFTWARE

from muster.api.agent_health import STATUS_CODES, instance_status, worst_status
from muster.api.render import ROUTE_HEADERS
from muster.api.routes import ROUTES, Route
from muster.http.headdeadline import HEAD_TIMEOUT_SECONDS, KEEPALIVE_SECONDS
from muster.models import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    from muster.acl.manager import ACLManager
    from muster.agent.state import LocalState
    from muster.api.app import Dispatcher

# aiohttp internals this module leans on (tested with aiohttp 3.14.5; tests/unit/test_aiohttp_pins.py
# fails naming the one that changed): web.Server() builds a RequestHandler that takes a transport
# mid-stream (connection_made, then data_received with the bytes read here); SERVER_SOFTWARE and
# aiohttp's header layout are the bytes its responses carry (tests/e2e/test_fastpath.py compares them);
# its parser refuses the header values _BAD_VALUE matches and nothing else this path accepts.
WRITE_BUFFER_LIMIT = 1 << 20  # a client not reading its answers goes to aiohttp's flow control
# Headers that cannot change these answers; any other header sends the request to aiohttp.
BENIGN_HEADERS = frozenset(
    {
        b"host", b"user-agent", b"accept-encoding", b"accept-language", b"cache-control", b"pragma",
        b"referer", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-real-ip",
        b"x-request-id", b"connection",
    }
)  # fmt: skip
_ID = re.compile(r"[A-Za-z0-9_:-][A-Za-z0-9_.:-]*")
# A raw path aiohttp decodes to itself (no %, no ;, no #): only those are matched here.
_PLAIN_PATH = re.compile(rb"/[A-Za-z0-9_.:/-]*")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # aiohttp's parser refuses these: let it
_REASONS = {200: b"OK", 429: b"Too Many Requests", 503: b"Service Unavailable"}
_COMMON = "".join(f"{k}: {v}\r\n" for k, v in ROUTE_HEADERS.items()).encode()
_JSON = b"Content-Type: application/json\r\n" + _COMMON
_MATCH_CACHE_SIZE = 4096  # raw targets remembered with their route; cleared when full


class FastRoutes:
    """The answers of the routes the table marks `fast=` (api/routes.py), chosen by the dispatcher's
    own matching (Dispatcher.direct_route), so a route added or changed there cannot drift from here."""

    def __init__(self, state: LocalState, acl: ACLManager, dev: bool, dispatcher: Dispatcher) -> None:
        self.state = state
        self.acl = acl
        self.dev = dev  # -dev indents every answer: the handlers', not these bytes
        self.dispatcher = dispatcher
        self.answers = fast_answers(ROUTES)
        self._matches: dict[bytes, tuple[Route, str, FastAnswer] | None] = {}
        self._date_second = 0
        self._date = b""

    def _tail(self) -> bytes:
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = email.utils.formatdate(now, usegmt=True).encode()
        return b"Date: " + self._date + b"\r\nServer: " + SERVER_SOFTWARE.encode() + b"\r\n\r\n"

    def response(self, code: int, headers: bytes, body: bytes) -> bytes:
        return b"".join(
            (
                b"HTTP/1.1 %d %s\r\n" % (code, _REASONS[code]),
                headers,
                b"Content-Length: %d\r\n" % len(body),
                self._tail(),
                body,
            )
        )

    def answer(self, head: bytes) -> tuple[str, bytes] | None:
        """(route path, the whole response) for a request head this path answers, else None."""
        acl = self.acl
        if acl.enabled or acl.default_policy != "allow" or self.dev or not _plain_get(head):
            return None
        target = head[4 : head.index(b" ", 4)]
        try:
            matched = self._matches[target]
        except KeyError:
            matched = self._match(target)
        if matched is None:
            return None
        route, path_id, answer = matched
        response = answer(self, path_id)
        return None if response is None else (route.path, response)

    def _match(self, target: bytes) -> tuple[Route, str, FastAnswer] | None:
        """The fast route a raw request target reaches; remembered, as routes and the UI prefix are fixed."""
        raw_path = target.partition(b"?")[0]
        matched = None
        direct = self.dispatcher.direct_route(raw_path.decode()) if _PLAIN_PATH.fullmatch(raw_path) else None
        fast = None if direct is None else direct[0].fast
        if direct is not None and fast is not None:
            query = b"?" + fast.query.encode() if fast.query else b""
            if target[len(raw_path) :] == query:
                matched = (direct[0], direct[1], self.answers[fast.answer])
        if len(self._matches) >= _MATCH_CACHE_SIZE:
            self._matches.clear()
        self._matches[target] = matched
        return matched


FastAnswer = Callable[[FastRoutes, str], "bytes | None"]


def agent_services(routes: FastRoutes, path_id: str) -> bytes | None:
    """GET /v1/agent/services, as agent_services.list_services answers it."""
    return routes.response(200, _JSON, routes.state.list_body(DEFAULT_NAMESPACE))


def agent_service(routes: FastRoutes, service_id: str) -> bytes | None:
    """GET /v1/agent/service/:id, as agent_services.get_service answers a service that exists."""
    if not _ID.fullmatch(service_id):
        return None
    entry = routes.state.service(DEFAULT_NAMESPACE, service_id)
    if entry is None:
        return None  # the 404 and its text are the handler's
    headers = _JSON + b"X-Consul-ContentHash: " + entry.content_hash.encode() + b"\r\n"
    return routes.response(200, headers, entry.hashed_body)


def agent_health_text(routes: FastRoutes, name: str) -> bytes | None:
    """GET /v1/agent/health/service/name/:name?format=text, as agent_health.health_by_name answers it."""
    if not _ID.fullmatch(name):
        return None
    state = routes.state
    entries = state.services_named(DEFAULT_NAMESPACE, name)
    if not entries:
        return None
    worst = worst_status(instance_status(state, entry) for entry in entries)
    word = worst.encode()
    headers = _COMMON + b"Content-Type: text/plain\r\nX-Consul-Reason: " + word + b"\r\n"
    return routes.response(STATUS_CODES[worst], headers, word)


ANSWERS: dict[str, FastAnswer] = {
    "agent_services": agent_services,
    "agent_service": agent_service,
    "agent_health_text": agent_health_text,
}


def fast_answers(routes: tuple[Route, ...]) -> dict[str, FastAnswer]:
    """The answer of each `fast=` route; a name without an answer, an answer no route names, or a
    fast route without GET is a programming error, raised when the agent starts."""
    named = {route.fast.answer: route for route in routes if route.fast is not None}
    unknown = sorted(set(named) - set(ANSWERS))
    unused = sorted(set(ANSWERS) - set(named))
    no_get = sorted(name for name, route in named.items() if "GET" not in route.methods)
    if unknown or unused or no_get:
        raise RuntimeError(
            f"fast routes out of step: unknown {unknown}, unused {unused}, without GET {no_get}"
        )
    return {name: ANSWERS[name] for name in named}


def _plain_get(head: bytes) -> bool:
    """GET, HTTP/1.1, and only headers that cannot change the answer (no body, no token)."""
    if not head.startswith(b"GET /"):
        return False
    first, _, rest = head.partition(b"\r\n")
    if not first.endswith(b" HTTP/1.1") or first.count(b" ") != 2:
        return False
    hosts = 0  # aiohttp answers a request without exactly one Host with 400: so must this path
    for line in rest.split(b"\r\n") if rest else ():
        name, colon, value = line.partition(b":")
        if not colon or name != name.strip() or not name or _BAD_VALUE.search(value):
            return False
        lowered = name.lower()
        if lowered not in BENIGN_HEADERS:
            return False
        if lowered == b"connection" and value.strip().lower() != b"keep-alive":
            return False
        hosts += lowered == b"host"
    return hosts == 1


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

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def eof_received(self) -> bool:
        return False  # the client is done: close

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        self.buffer += data
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
            route, response = answer
            transport.write(response)
            routes.dispatcher.count(route, "GET", time.perf_counter() - started)

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
