"""The fast path below aiohttp (http/fastpath.py): the same bytes as aiohttp's handlers for the routes it
answers, and a clean hand-over to aiohttp for everything else on the same connection."""

from __future__ import annotations

import re
import socket
import time

import psutil
import pytest

from muster.api.routes import ROUTES, Route
from tests.agentproc import AgentProcess

TAIL = b"GET /v1/agent/self HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def exchange(agent: AgentProcess, *parts: bytes, pause: float = 0.0) -> bytes:
    """Send parts (pausing between them), read until the agent closes the connection."""
    with socket.create_connection(("127.0.0.1", agent.port), timeout=10) as sock:
        for part in parts:
            sock.sendall(part)
            time.sleep(pause)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def responses(data: bytes) -> list[bytes]:
    """Each response, Date header blanked (it is the only part that may differ between two answers)."""
    blanked = re.sub(rb"Date: [^\r]*", b"Date: -", data)
    return [b"HTTP/1.1 " + part for part in blanked.split(b"HTTP/1.1 ")[1:]]


@pytest.fixture
def web(agent: AgentProcess) -> AgentProcess:
    body = {"Name": "web", "ID": "web-1", "Tags": ["a"], "Check": {"TTL": "300s", "Status": "warning"}}
    assert agent.put("/v1/agent/service/register", body).status == 200
    return agent


@pytest.mark.parametrize(
    "target",
    [
        b"/v1/agent/services",
        b"/v1/agent/service/web-1",
        b"/v1/agent/health/service/name/web?format=text",
        b"/v1/agent/service/missing",
        b"/v1/agent/health/service/name/missing?format=text",
    ],
)
def test_fast_answers_are_the_bytes_aiohttps_handlers_send(web: AgentProcess, target: bytes) -> None:
    fast = exchange(web, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nUser-Agent: lb\r\n\r\n" + TAIL)
    # An unknown header sends the same request through aiohttp and the route table.
    slow = exchange(web, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nX-Probe: 1\r\n\r\n" + TAIL)
    assert responses(fast)[0] == responses(slow)[0]
    assert len(responses(fast)) == 2  # the connection went on to aiohttp for /v1/agent/self


@pytest.fixture
def named(web: AgentProcess) -> AgentProcess:
    """Services whose IDs are also paths of other routes, and one ("api") any subtree route can take."""
    for service_id in ("api", "register", "deregister", "maintenance"):
        assert web.put("/v1/agent/service/register", {"Name": service_id, "ID": service_id}).status == 200
    return web


FAST_ROUTES = [route for route in ROUTES if route.fast is not None]


def fast_target(route: Route) -> bytes:
    assert route.fast is not None
    query = f"?{route.fast.query}" if route.fast.query else ""
    return (route.path + ("api" if route.subtree else "") + query).encode()


@pytest.mark.parametrize(
    "target",
    [
        *(fast_target(route) for route in FAST_ROUTES),  # every route the table marks fast
        b"/v1/agent/service/register",  # the exact PUT route's 405, not the service "register"
        b"/v1/agent/service/deregister",  # ServeMux's 301 to the subtree
        b"/v1/agent/service/maintenance/api",
        b"/v1/agent//services",  # the clean-path 301
        b"/v1/agent/service/a%70i",
    ],
)
def test_each_fast_route_of_the_table_sends_the_handlers_bytes(named: AgentProcess, target: bytes) -> None:
    fast = exchange(named, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n" + TAIL)
    slow = exchange(named, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nX-Probe: 1\r\n\r\n" + TAIL)
    assert responses(slow)[0] == responses(fast)[0]
    assert 2 == len(responses(fast))


def test_the_health_text_answer_follows_the_checks(web: AgentProcess) -> None:
    request = b"GET /v1/agent/health/service/name/web?format=text HTTP/1.1\r\nHost: x\r\n\r\n"
    assert responses(exchange(web, request + TAIL))[0].startswith(b"HTTP/1.1 429 Too Many Requests")
    assert web.put("/v1/agent/check/pass/service:web-1").status == 200
    first = responses(exchange(web, request + TAIL))[0]
    assert first.startswith(b"HTTP/1.1 200 OK")
    assert first.endswith(b"\r\n\r\npassing")


def test_pipelined_requests_are_answered_in_order_across_the_hand_over(web: AgentProcess) -> None:
    fast = b"GET /v1/agent/service/web-1 HTTP/1.1\r\nHost: x\r\n\r\n"
    other = b"GET /v1/agent/checks HTTP/1.1\r\nHost: x\r\n\r\n"
    answers = responses(exchange(web, fast + fast + other + fast + TAIL))
    assert [a.split(b"\r\n", 1)[0] for a in answers] == [b"HTTP/1.1 200 OK"] * 5
    assert b'"ID":"web-1"' in answers[0]
    assert b'"service:web-1"' in answers[2]
    assert b'"Config"' in answers[4]


def test_a_head_split_across_reads_is_handed_to_aiohttp(web: AgentProcess) -> None:
    data = exchange(web, b"GET /v1/agent/service/web-1 HTTP/1.1\r\nHo", b"st: x\r\n\r\n" + TAIL, pause=0.2)
    answers = responses(data)
    assert len(answers) == 2
    assert b'"ID":"web-1"' in answers[0]


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET /v1/agent/services HTTP/1.1\r\n\r\n", b"400"),  # no Host: aiohttp's 400, not a fast 200
        (b"GET /v1/agent/services HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", b"400"),
        (b"GET /v1/agent/services HTTP/1.1\r\nHost: x\r\nX-Consul-Token: t\r\n\r\n", b"200"),
        (b"HEAD /v1/agent/services HTTP/1.1\r\nHost: x\r\n\r\n", b"405"),
        (b"GET /v1/agent/services?filter=Service%3D%3D%22web%22 HTTP/1.1\r\nHost: x\r\n\r\n", b"200"),
    ],
)
def test_unusual_requests_get_aiohttps_answer(web: AgentProcess, request_head: bytes, status: bytes) -> None:
    answer = exchange(web, request_head + TAIL)
    assert answer.split(b" ", 2)[1] == status


def test_fast_answers_are_counted_like_the_others(web: AgentProcess) -> None:
    def count() -> int:
        status = web.get("/status/v1/services/http-api?level=debug").json()["status"]
        return int(status["requests-by-route"].get("/v1/agent/service/", 0))

    before = count()
    exchange(web, b"GET /v1/agent/service/web-1 HTTP/1.1\r\nHost: x\r\n\r\n" * 3 + TAIL)
    assert count() == before + 3


def test_a_silent_connection_is_closed_after_the_head_deadline(web: AgentProcess) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", web.port), timeout=30) as sock:
        assert sock.recv(1) == b""  # closed by the agent, nothing sent
    assert 5.0 < time.monotonic() - started < 25.0


def test_the_agent_stops_promptly_with_idle_fast_path_connections_open(web: AgentProcess) -> None:
    socks = []
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", web.port), timeout=10)
        sock.sendall(b"GET /v1/agent/services HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        socks.append(sock)
    started = time.monotonic()
    assert web.stop() == 0
    assert time.monotonic() - started < 8.0
    for sock in socks:
        assert sock.recv(1) == b""
        sock.close()


def test_pipelining_clients_that_never_read_cannot_balloon_memory(agent: AgentProcess) -> None:
    meta = {f"k{i}": "v" * 500 for i in range(60)}  # a ~60 KiB /v1/agent/services answer
    for i in range(2):
        body = {"Name": "web", "ID": f"web-{i}", "Port": 1000 + i, "Meta": meta}
        assert 200 == agent.put("/v1/agent/service/register", body).status
    assert agent.proc is not None
    process = psutil.Process(agent.proc.pid)
    before = process.memory_info().rss
    sockets = []
    try:
        for _ in range(8):
            client = socket.create_connection(("127.0.0.1", agent.port))
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            client.sendall(b"GET /v1/agent/services HTTP/1.1\r\nHost: x\r\n\r\n" * 1000)
            sockets.append(client)
        time.sleep(3)
        grown = process.memory_info().rss - before
    finally:
        for client in sockets:
            client.close()

    # Flow control holds across the hand-over to aiohttp: was ~450 MiB (answers x size) here.
    assert grown < 64 << 20, grown >> 20
    assert 200 == agent.get("/v1/agent/services").status
