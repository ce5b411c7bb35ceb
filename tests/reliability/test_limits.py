"""Limits: a body over Consul's 4 MiB is a 413, a header past aiohttp's limits (8190-byte lines, 128
header fields) a 400, and slow clients cannot pin the agent: a request head must be complete within
HEAD_TIMEOUT_SECONDS (src/muster/http/headdeadline.py) or the connection is closed."""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import threading
import time
from pathlib import Path

from muster.api.call import MAX_BODY_BYTES
from muster.api.routes import ROUTES
from muster.http.headdeadline import HEAD_TIMEOUT_SECONDS
from tests.agentproc import AgentProcess

SLOW_CLIENTS = 200


def raw(agent: AgentProcess, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes as they are; return what the agent answers until it closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", agent.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
    return b"".join(chunks)


def status_code(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode().split()[1]  # aiohttp answers these as HTTP/1.0


def test_a_body_over_4_mib_is_a_413_with_or_without_a_length(agent: AgentProcess) -> None:
    over = b"[" + b" " * MAX_BODY_BYTES + b"]"
    sized = agent.put("/v1/agent/service/register", over)
    assert (413, f"Request body too large: the limit is {MAX_BODY_BYTES} bytes") == (sized.status, sized.text)
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=30)
    try:  # chunked: no Content-Length to refuse up front, the reader counts
        conn.request("PUT", "/v1/agent/service/register", body=iter([over[:65536]] * 80), encode_chunked=True)
        chunked = conn.getresponse()
        assert 413 == chunked.status
    finally:
        conn.close()
    assert 200 == agent.put("/v1/agent/service/register", {"Name": "web", "Meta": {"m": "x" * 512}}).status


def test_oversized_headers_and_request_lines_are_a_400_and_the_agent_serves_on(agent: AgentProcess) -> None:
    long_value = b"GET /v1/agent/services HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
    assert "400" == status_code(raw(agent, long_value))
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(200))
    assert "400" == status_code(
        raw(agent, b"GET /v1/agent/services HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    )
    long_line = b"GET /v1/agent/services?filter=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert status_code(raw(agent, long_line)) in ("400", "414")
    fits = agent.get("/v1/agent/services", headers={"X-Fits": "a" * 8000})
    assert 200 == fits.status
    assert 200 == agent.get("/status/v1/simple").status


def open_fds(agent: AgentProcess) -> int:
    assert agent.proc is not None
    return len(os.listdir(f"/proc/{agent.proc.pid}/fd"))


class Trickler(threading.Thread):
    """SLOW_CLIENTS connections each sending a request head one byte at a time, forever."""

    def __init__(self, agent: AgentProcess) -> None:
        super().__init__(daemon=True)
        self.socks = [socket.create_connection(("127.0.0.1", agent.port)) for _ in range(SLOW_CLIENTS)]
        self.head = b"GET /v1/agent/services HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"z" * 100_000
        self.closed_at: dict[int, float] = {}
        self.started = time.monotonic()
        self.stop = threading.Event()

    def run(self) -> None:
        for offset in range(len(self.head)):
            if self.stop.is_set() or len(self.closed_at) == len(self.socks):
                return
            for n, sock in enumerate(self.socks):
                if n in self.closed_at:
                    continue
                readable, _, _ = select.select([sock], [], [], 0)
                try:
                    if readable and not sock.recv(1024):
                        raise ConnectionResetError
                    sock.send(self.head[offset : offset + 1])
                except OSError:
                    self.closed_at[n] = time.monotonic() - self.started
            self.stop.wait(0.2)

    def close(self) -> None:
        self.stop.set()
        self.join(timeout=10)
        for sock in self.socks:
            sock.close()


def test_slowloris_cannot_pin_the_agent(agent: AgentProcess) -> None:
    before = open_fds(agent)
    trickler = Trickler(agent)
    trickler.start()
    try:
        slowest = 0.0
        while time.monotonic() - trickler.started < HEAD_TIMEOUT_SECONDS * 0.8:  # while they all hang on
            started = time.monotonic()
            assert 200 == agent.get("/v1/agent/services", timeout=10).status
            slowest = max(slowest, time.monotonic() - started)
        assert slowest < 1.0
        assert open_fds(agent) >= before + SLOW_CLIENTS  # they really were all connected
        deadline = trickler.started + HEAD_TIMEOUT_SECONDS + 30
        while len(trickler.closed_at) < SLOW_CLIENTS and time.monotonic() < deadline:
            time.sleep(0.2)
        assert SLOW_CLIENTS == len(trickler.closed_at)  # every slow head was cut off by the agent
        assert min(trickler.closed_at.values()) >= HEAD_TIMEOUT_SECONDS * 0.8
        print(f"slowloris: {SLOW_CLIENTS} closed after {max(trickler.closed_at.values()):.1f} s at most")
    finally:
        trickler.close()
    fds = open_fds(agent)
    assert fds <= before + 5, f"{fds} fds open after the slow clients were cut off (was {before})"
    assert 200 == agent.get("/status/v1/simple").status


HOSTILE_NUMBER = "1" + "0" * 320
HOSTILE_BODIES = [
    b"[" * 100_000,
    b'{"a":' * 100_000,
    b'{"Name":"x","Meta":' + b"[" * 5000 + b"]" * 5000 + b"}",
    b'{"Name":"x","Proxy":{"Config":' + b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"}}",
    b'{"Name":"x","Rules":"' + b'key_prefix \\"\\" { ' * 2000 + b'"}',
    b'{"Name":"x","Port":N,"Weights":{"Passing":N},"Check":{"TTL":N,"Interval":N,"Timeout":N}}'.replace(
        b"N", HOSTILE_NUMBER.encode()
    ),
    b'{"Name":"x","TTL":1e400,"DeregisterCriticalServiceAfter":-1e400,"Proxy":{"Config":{"a":1e400}}}',
    b'{"Name":"x","Check":{"TTL":' + b"9" * 5000 + b"}}",
    b'{"\\ud800":"\\udfff","Name":"\\udc00","Meta":{"\\ud800":"x"},"Description":"\\ud800"}',
    b'{"Name":NaN,"Port":Infinity}',
]
HOSTILE_HEADERS = [
    b"X-Consul-Token: \xff\xfe",
    b"Authorization: Bearer \xed\xa0\x80",
    b"X-Consul-Namespace: \xc3",
    b"X-Consul-Partition: \xff",
]


def exchange(agent: AgentProcess, data: bytes) -> bytes:
    """One request on its own connection; the whole answer (the agent closes after each)."""
    with socket.create_connection(("127.0.0.1", agent.port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_hostile_bodies_and_headers_on_every_route_are_answered_below_500(tmp_path: Path) -> None:
    """Deep nesting, numbers no Go type holds, lone surrogates and non-UTF-8 headers, on every route
    with ACLs on: never a 5xx nor a dropped connection, no traceback logged, and the agent serves on."""
    root = "hostile-root"
    config = tmp_path / "acl.json"
    config.write_text(json.dumps({"acl": {"enabled": True, "tokens": {"initial_management": root}}}))
    agent = AgentProcess("-config-file", str(config)).start()
    try:
        statuses: dict[str, set[int]] = {}
        for route in ROUTES:
            path = route.path + ("x" if route.subtree else "")
            for method in route.methods:
                requests = [
                    f"{method} {path} HTTP/1.1\r\nHost: x\r\nX-Consul-Token: {root}\r\n".encode()
                    + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
                    + body
                    for body in (HOSTILE_BODIES if method == "PUT" else [])
                ] + [
                    f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
                    + header
                    + b"\r\n\r\n"
                    for header in HOSTILE_HEADERS
                ]
                for request in requests:
                    answer = exchange(agent, request)
                    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
                    statuses.setdefault(f"{method} {route.path}", set()).add(status)
        failed = {where: codes for where, codes in statuses.items() if not codes <= set(range(200, 500))}
        log = "".join(agent.stderr_lines)
        assert {} == failed, log[-3000:]
        assert ("Traceback" not in log, "[ERROR]" not in log) == (True, True), log[-3000:]
        assert 200 == agent.get("/status/v1/simple").status
    finally:
        agent.close()
