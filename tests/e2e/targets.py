"""Real check targets for the end-to-end check tests, and the small helpers those tests share.

Every target listens on 127.0.0.1 on a free port, runs in daemon threads, can be flipped between
healthy and unhealthy by the test, and is closed by the test (use them as context managers).
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from tests.agentproc import AgentProcess, Reply, q

T = TypeVar("T")

DEADLINE = 15.0  # seconds: generous, since an interval check's first run is staggered in [0, Interval)
TEXT = "text/plain; charset=utf-8"


# -- polling and small agent helpers -------------------------------------------------------------


def poll(
    fetch: Callable[[], T], until: Callable[[T], bool], timeout: float = DEADLINE, every: float = 0.05
) -> T:
    """Call `fetch` until `until(value)` holds or `timeout` passes; return the last value either way,
    so that the test's own `expected == actual` assertion reports what was seen."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(every)
        value = fetch()
    return value


def agent_checks(agent: AgentProcess) -> dict[str, Any]:
    reply = agent.get("/v1/agent/checks")
    assert 200 == reply.status, reply.text
    return reply.json()


def check_of(agent: AgentProcess, check_id: str) -> dict[str, Any] | None:
    return agent_checks(agent).get(check_id)


def status_of(agent: AgentProcess, check_id: str) -> tuple[str, str] | None:
    """(Status, Output) of a check, or None when it is not registered."""
    check = check_of(agent, check_id)
    return None if check is None else (check["Status"], check["Output"])


def wait_status(
    agent: AgentProcess, check_id: str, status: str, timeout: float = DEADLINE
) -> tuple[str, str] | None:
    return poll(lambda: status_of(agent, check_id), lambda s: s is not None and s[0] == status, timeout)


def wait_check(
    agent: AgentProcess,
    check_id: str,
    until: Callable[[tuple[str, str] | None], bool],
    timeout: float = DEADLINE,
) -> tuple[str, str] | None:
    return poll(lambda: status_of(agent, check_id), until, timeout)


def put_ok(agent: AgentProcess, path: str, body: Any = None) -> None:
    reply = agent.put(path, body)
    assert (200, b"") == (reply.status, reply.body), f"PUT {path}: {reply.status} {reply.text}"


def register_service(agent: AgentProcess, body: Any, query: str = "") -> None:
    put_ok(agent, "/v1/agent/service/register" + query, body)


def register_check(agent: AgentProcess, body: Any) -> None:
    put_ok(agent, "/v1/agent/check/register", body)


def ttl(agent: AgentProcess, verb: str, check_id: str, note: str | None = None) -> Reply:
    path = f"/v1/agent/check/{verb}/{q(check_id)}"
    if note is not None:
        path += "?note=" + q(note)
    return agent.put(path)


def error(reply: Reply) -> tuple[int, str]:
    return reply.status, reply.text


def write_config(directory: Path, name: str = "agent.json", **settings: Any) -> str:
    path = directory / name
    path.write_text(json.dumps(settings))
    return str(path)


def write_script(directory: Path, name: str, body: str) -> str:
    """An executable /bin/sh script; the agent runs it without a shell (argv[0] = its path)."""
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on (bound, read, closed)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- HTTP ------------------------------------------------------------------------------------------


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a probe that gave up (timeout) closes its end; that is expected here


class FlipHTTP:
    """An HTTP/1.x server whose answer the test flips: `status`, `body`, and a queue of one-shot
    statuses served first (`serve_next`). Every request is recorded."""

    def __init__(self, status: int = 200, body: str = "ok") -> None:
        self.status = status
        self.body = body
        self.headers: dict[str, str] = {}  # extra response headers, e.g. Location
        self.delay = 0.0  # seconds to wait before answering
        self.in_flight = 0
        self.max_in_flight = 0
        self.pending: collections.deque[int] = collections.deque()
        self.requests: list[dict[str, Any]] = []
        self.served: list[int] = []
        self.lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with target.lock:
                    target.in_flight += 1
                    target.max_in_flight = max(target.max_in_flight, target.in_flight)
                    delay = target.delay
                try:
                    if delay:
                        time.sleep(delay)
                    self._reply(body)
                finally:
                    with target.lock:
                        target.in_flight -= 1

            def _reply(self, body: bytes) -> None:
                with target.lock:
                    status = target.pending.popleft() if target.pending else target.status
                    payload = target.body.encode()
                    extra = dict(target.headers)
                    target.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": {k.lower(): self.headers.get_all(k) for k in self.headers},
                            "body": body.decode(errors="replace"),
                        }
                    )
                    target.served.append(status)
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = _answer  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _QuietHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, path: str = "/health") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def set(self, status: int, body: str | None = None) -> None:
        with self.lock:
            self.status = status
            if body is not None:
                self.body = body

    def serve_next(self, *statuses: int) -> None:
        with self.lock:
            self.pending.extend(statuses)

    def count(self) -> int:
        with self.lock:
            return len(self.served)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FlipHTTP:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- TCP and UDP -------------------------------------------------------------------------------


class TCPListener:
    """A TCP listener that accepts and closes connections until `close()`; the port is then refused."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        if not self.stop.is_set():
            self.stop.set()
            self.thread.join(5)
            self.sock.close()

    def __enter__(self) -> TCPListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class UDPEcho:
    """A UDP socket that echoes each datagram back until `close()`."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.received = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            self.received += 1
            with contextlib.suppress(OSError):
                self.sock.sendto(data or b"\n", peer)

    def close(self) -> None:
        if not self.stop.is_set():
            self.stop.set()
            self.thread.join(5)
            self.sock.close()

    def __enter__(self) -> UDPEcho:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- gRPC -----------------------------------------------------------------------------------------


class GrpcHealth:
    """A real gRPC server with the standard health service (grpc.health.v1); flip per service name."""

    def __init__(self) -> None:
        import grpc
        from grpc_health.v1 import health, health_pb2, health_pb2_grpc

        self._pb2 = health_pb2
        self.server = grpc.server(ThreadPoolExecutor(max_workers=4))
        self.servicer = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.servicer, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def set(self, service: str, serving: bool) -> None:
        status = (
            self._pb2.HealthCheckResponse.SERVING if serving else self._pb2.HealthCheckResponse.NOT_SERVING
        )
        self.servicer.set(service, status)

    def close(self) -> None:
        self.server.stop(0).wait(5)

    def __enter__(self) -> GrpcHealth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- HTTP/2 (h2c, prior knowledge) ---------------------------------------------------------------


class H2Server:
    """A cleartext HTTP/2 server (prior knowledge, as Consul's H2PING with H2PingUseTLS=false dials),
    built on the `h2` state machine: it answers SETTINGS and PING frames. `close()` stops listening
    and drops every open connection."""

    def __init__(self) -> None:
        import h2.config
        import h2.connection
        import h2.events
        import h2.exceptions

        self._h2 = h2
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.pings = 0
        self.conns: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        h2 = self._h2
        machine = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
        conn.settimeout(0.1)
        try:
            machine.initiate_connection()
            conn.sendall(machine.data_to_send())
            while not self.stop.is_set():
                try:
                    data = conn.recv(65535)
                except TimeoutError:
                    continue
                if not data:
                    break
                for event in machine.receive_data(data):
                    if isinstance(event, h2.events.PingReceived):
                        self.pings += 1  # h2 queues the PING ACK itself
                    elif isinstance(event, h2.events.RequestReceived):
                        machine.send_headers(event.stream_id, [(":status", "200")], end_stream=True)
                conn.sendall(machine.data_to_send())
        except (OSError, h2.exceptions.ProtocolError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        if not self.stop.is_set():
            self.stop.set()
            self.thread.join(5)
            self.sock.close()
            for conn in self.conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()

    def __enter__(self) -> H2Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- agents with a config file --------------------------------------------------------------------


@contextlib.contextmanager
def background(fn: Callable[[], None], every: float) -> Iterator[threading.Event]:
    """Run `fn` every `every` seconds in a thread until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(Exception):
                fn()
            stop.wait(every)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield stop
    finally:
        stop.set()
        thread.join(10)


def environ_without_consul() -> dict[str, str]:
    """The environment for client subprocesses, minus any CONSUL_* variables that would redirect them."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CONSUL_")}


class BlockedGet(threading.Thread):
    """A GET run in the background (a blocking query), timed from the moment it is sent."""

    def __init__(self, agent: AgentProcess, path: str, timeout: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.agent, self.path, self.timeout = agent, path, timeout
        self.reply: Reply | None = None
        self.error: BaseException | None = None
        self.sent_at = 0.0
        self.done_at = 0.0
        self.start()

    def run(self) -> None:
        self.sent_at = time.monotonic()
        try:
            self.reply = self.agent.get(self.path, timeout=self.timeout)
        except Exception as exc:  # noqa: BLE001 - reported by result()
            self.error = exc
        self.done_at = time.monotonic()

    def finished(self) -> bool:
        return not self.is_alive()

    def result(self, timeout: float = 60.0) -> Reply:
        self.join(timeout)
        assert not self.is_alive(), f"blocking GET {self.path} never returned"
        assert self.error is None, repr(self.error)
        assert self.reply is not None
        return self.reply

    @property
    def elapsed(self) -> float:
        return self.done_at - self.sent_at
