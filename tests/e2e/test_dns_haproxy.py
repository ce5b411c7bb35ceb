"""End-to-end: HAProxy (Debian's) discovers its backends through Muster's DNS with `server-template` and
SRV records (`_web._tcp.service.consul`), and routes only to healthy instances: a failed check, and
then maintenance mode, take an instance out; passing again puts it back. HAProxy's own health checks
are off, so only DNS can be what moves traffic."""

from __future__ import annotations

import contextlib
import http.client
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import free_port, poll, register_service, ttl

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.skipif(not Path(HAPROXY).exists(), reason="haproxy is not installed"),
]
ROUTING_DEADLINE = 60.0  # HAProxy re-resolves every ~1 s here; a loaded 2-core machine needs slack


class _NameHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.server.backend_name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextlib.contextmanager
def backends(names: list[str]) -> Iterator[dict[str, int]]:
    """One tiny HTTP server per name on 127.0.0.1, each answering its own name; yields name -> port."""
    servers = []
    for name in names:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _NameHandler)
        server.backend_name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield {name: server.server_address[1] for name, server in zip(names, servers, strict=True)}
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


HAPROXY_CONFIG = """
global
    maxconn 200

defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s

resolvers muster
    nameserver muster 127.0.0.1:{dns_port}
    accepted_payload_size 8192
    resolve_retries 3
    timeout resolve 300ms
    timeout retry 300ms
    hold valid 1s
    hold obsolete 1s
    hold nx 1s
    hold other 1s
    hold refused 1s
    hold timeout 1s

frontend web_in
    bind 127.0.0.1:{front_port}
    default_backend web

backend web
    balance roundrobin
    server-template web 5 _web._tcp.service.consul resolvers muster resolve-prefer ipv4 init-addr none
"""


@contextlib.contextmanager
def haproxy(dns_port: int) -> Iterator[int]:
    """HAProxy in the foreground in a temp dir; yields its frontend port."""
    with tempfile.TemporaryDirectory(prefix="muster-haproxy-") as tmp:
        front = free_port()
        config = Path(tmp) / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(dns_port=dns_port, front_port=front))
        check = subprocess.run(
            [HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True, check=False
        )
        assert 0 == check.returncode, check.stdout + check.stderr
        proc = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp
        )
        try:
            yield front
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()


def seen_through(front: int, requests: int = 15) -> set[str]:
    """The backend names that answered `requests` requests through HAProxy (errors are skipped)."""
    names = set()
    for _ in range(requests):
        conn = http.client.HTTPConnection("127.0.0.1", front, timeout=5)
        try:
            conn.request("GET", "/")
            response = conn.getresponse()
            if response.status == 200:
                names.add(response.read().decode())
        except OSError:
            pass
        finally:
            conn.close()
    return names


def test_haproxy_routes_only_to_healthy_instances_found_by_srv(agent: AgentProcess) -> None:
    names = ["alpha", "bravo", "charlie"]
    with backends(names) as ports:
        for name, port in ports.items():
            register_service(
                agent,
                {
                    "Name": "web",
                    "ID": name,
                    "Address": "127.0.0.1",  # all three share the node's address: one SRV target
                    "Port": port,
                    "Check": {"CheckID": f"ttl-{name}", "TTL": "600s", "Status": "passing"},
                },
            )
        with haproxy(agent.dns_port) as front:
            everyone = set(names)
            assert everyone == poll(lambda: seen_through(front), lambda s: s == everyone, ROUTING_DEADLINE)

            assert 200 == ttl(agent, "fail", "ttl-bravo").status
            healthy = {"alpha", "charlie"}
            assert healthy == poll(lambda: seen_through(front), lambda s: s == healthy, ROUTING_DEADLINE)
            assert healthy == seen_through(front, 30)  # and it stays that way

            assert 200 == agent.put("/v1/agent/service/maintenance/alpha?enable=true").status
            assert {"charlie"} == poll(
                lambda: seen_through(front), lambda s: s == {"charlie"}, ROUTING_DEADLINE
            )

            assert 200 == ttl(agent, "pass", "ttl-bravo").status
            assert 200 == agent.put("/v1/agent/service/maintenance/alpha?enable=false").status
            assert everyone == poll(lambda: seen_through(front), lambda s: s == everyone, ROUTING_DEADLINE)
