"""Reads answered from kept bytes below aiohttp (http/answers.py): for every route the table marks
`reuse=True`, in every mode (plain, ACLs on with a token, -dev, HTTPS), a repeat is the very bytes the
handler sent, and nothing stale or another token's is ever repeated."""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from muster.api.routes import ROUTES
from tests.agentproc import AgentProcess
from tests.e2e.test_tls import PKI, TLSAgent, tls_config, write_pki

pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

NODE = "test-node"
ROOT, UNKNOWN = "root", "not-a-token"  # the management token of the ACL agents, and no token at all
TARGETS = {
    "/v1/catalog/services": "/v1/catalog/services",
    "/v1/catalog/nodes": "/v1/catalog/nodes",
    "/v1/catalog/service/": "/v1/catalog/service/web?tag=a",
    "/v1/catalog/node/": f"/v1/catalog/node/{NODE}",
    "/v1/catalog/node-services/": f"/v1/catalog/node-services/{NODE}",
    "/v1/health/service/": "/v1/health/service/web?passing",
    "/v1/health/checks/": "/v1/health/checks/web",
    "/v1/health/node/": f"/v1/health/node/{NODE}",
    "/v1/health/state/": "/v1/health/state/any",
    "/status/v1/simple": "/status/v1/simple",
}
TAIL = b"GET /v1/agent/self HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@dataclass
class Target:
    """An agent and how to reach it: its port, TLS or not, the token header requests carry."""

    agent: AgentProcess
    port: int
    context: ssl.SSLContext | None = None
    token: str = ""

    def exchange(self, *requests: bytes) -> list[bytes]:
        """Send the requests on one new connection, then /v1/agent/self with `Connection: close`; the
        responses, Date blanked."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock = self.context.wrap_socket(raw, server_hostname="127.0.0.1") if self.context else raw
        with sock:
            sock.sendall(b"".join(requests) + TAIL.replace(b"\r\n\r\n", self.header() + b"\r\n\r\n"))
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        blanked = re.sub(rb"Date: [^\r]*", b"Date: -", data)
        return [b"HTTP/1.1 " + part for part in blanked.split(b"HTTP/1.1 ")[1:]]

    def header(self) -> bytes:
        return f"\r\nX-Consul-Token: {self.token}".encode() if self.token else b""

    def request(self, target: str, extra: bytes = b"") -> bytes:
        return b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x" + self.header() + extra + b"\r\n\r\n"

    def hits(self) -> int:
        headers = {"X-Consul-Token": self.token} if self.token else {}
        reply = self.agent.get("/v1/agent/metrics", headers=headers)
        assert 200 == reply.status, reply.text
        return next(
            int(c["Count"]) for c in reply.json()["Counters"] if c["Name"] == "muster.http.kept_answer_hits"
        )


def populate(agent: AgentProcess, token: str = "") -> None:
    headers = {"X-Consul-Token": token} if token else {}
    for sid, tags in (("web-1", ["a"]), ("web-2", ["b"])):
        body = {"Name": "web", "ID": sid, "Tags": tags, "Check": {"TTL": "300s", "Status": "passing"}}
        assert 200 == agent.put("/v1/agent/service/register", body, headers=headers).status


@pytest.fixture(scope="module")
def pki() -> Iterator[PKI]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="muster-pki-") as folder:
        yield write_pki(Path(folder))


@pytest.fixture(params=["plain", "acl", "dev", "tls"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    mode = request.param
    if mode == "tls":
        pki: PKI = request.getfixturevalue("pki")
        agent: AgentProcess = TLSAgent(tls_config(pki)).start()
        assert isinstance(agent, TLSAgent)
        context = ssl.create_default_context(cafile=str(pki.ca))
        found = Target(agent, agent.https_port, context)
    elif mode == "acl":
        config = tmp_path / "acl.json"
        config.write_text(
            '{"acl": {"enabled": true, "default_policy": "deny", "tokens": {"initial_management": "root"}}}'
        )
        agent = AgentProcess("-config-file", str(config)).start()
        found = Target(agent, agent.port, token=ROOT)
    else:
        agent = AgentProcess(dev=mode == "dev").start()
        found = Target(agent, agent.port)
    populate(agent, found.token)
    yield found
    agent.close()


def test_every_reused_route_is_covered_here() -> None:
    assert {route.path for route in ROUTES if route.reuse} == set(TARGETS)


@pytest.mark.parametrize("route", sorted(TARGETS))
def test_a_repeat_is_the_bytes_the_handler_sent(target: Target, route: str) -> None:
    path = TARGETS[route]
    before = target.hits()
    for _ in range(20):  # /status/v1/simple's rollup is kept for 50 ms at most: retry until a repeat lands
        (built, _) = target.exchange(target.request(path))
        (repeated, _) = target.exchange(target.request(path))
        assert built == repeated
        if target.hits() > before:
            break
    assert target.hits() > before, "no answer came from kept bytes"
    assert built.startswith(b"HTTP/1.1 200 OK\r\n"), built[:200]


def test_what_http_libraries_send_unasked_is_answered_from_kept_bytes(target: Target) -> None:
    extra = b"\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nUser-Agent: python-requests/2.32"
    request = target.request("/v1/catalog/services", extra)
    (built, _) = target.exchange(request)
    before = target.hits()
    (repeated, _) = target.exchange(request)
    assert built == repeated
    assert target.hits() == before + 1


def test_a_change_is_never_answered_with_kept_bytes(target: Target) -> None:
    request = target.request("/v1/health/service/web")
    (first, _) = target.exchange(request)
    (again, _) = target.exchange(request)
    assert first == again
    headers = {"X-Consul-Token": target.token} if target.token else {}
    body = {"Name": "web", "ID": "web-3", "Check": {"TTL": "300s", "Status": "passing"}}
    assert 200 == target.agent.put("/v1/agent/service/register", body, headers=headers).status
    (after, _) = target.exchange(request)
    assert b'"web-3"' in after
    assert b'"web-3"' not in first
    assert 200 == target.agent.put("/v1/agent/check/fail/service:web-3", headers=headers).status
    (failed, _) = target.exchange(request)
    assert b'"critical"' in failed
    assert b'"critical"' not in after
    external = {"Node": "ext-1", "Address": "10.9.9.9", "Service": {"Service": "web", "ID": "web-ext"}}
    assert 200 == target.agent.put("/v1/catalog/register", external, headers=headers).status
    (registered, _) = target.exchange(request)
    assert b'"web-ext"' in registered
    assert b'"web-ext"' not in failed


def test_a_blocking_request_at_the_current_index_still_waits(target: Target) -> None:
    path = "/v1/health/service/web"
    (first, _) = target.exchange(target.request(path))
    index = int(re.search(rb"X-Consul-Index: (\d+)", first).group(1))  # type: ignore[union-attr]
    started = time.monotonic()
    (waited, _) = target.exchange(target.request(f"{path}?index={index}&wait=1s"))
    assert time.monotonic() - started >= 1.0
    assert waited == first  # nothing changed: the same answer, after the wait
    (older, _) = target.exchange(target.request(f"{path}?index={index - 1}&wait=10s"))
    assert older == first


def test_another_token_or_a_deleted_one_never_gets_kept_bytes(tmp_path: Path) -> None:
    config = tmp_path / "acl.json"
    config.write_text(
        '{"acl": {"enabled": true, "default_policy": "deny", "tokens": {"initial_management": "root"}}}'
    )
    agent = AgentProcess("-config-file", str(config)).start()
    try:
        populate(agent, "root")
        root = {"X-Consul-Token": "root"}
        policy = {
            "Name": "read-web",
            "Rules": 'service "web" { policy = "read" } node_prefix "" { policy = "read" }',
        }
        assert 200 == agent.put("/v1/acl/policy", policy, headers=root).status
        made = agent.put("/v1/acl/token", {"Policies": [{"Name": "read-web"}]}, headers=root).json()
        reader = Target(agent, agent.port, token=made["SecretID"])
        nobody = Target(agent, agent.port)
        stranger = Target(agent, agent.port, token=UNKNOWN)
        path = "/v1/catalog/services"
        (seen, _) = reader.exchange(reader.request(path))
        (seen_again, _) = reader.exchange(reader.request(path))
        assert seen == seen_again
        assert b'"web"' in seen
        (anonymous, _) = nobody.exchange(nobody.request(path))
        assert b'"web"' not in anonymous
        (unknown, _) = stranger.exchange(stranger.request(path))
        assert unknown.startswith(b"HTTP/1.1 403 ")
        assert 200 == agent.request("DELETE", f"/v1/acl/token/{made['AccessorID']}", headers=root).status
        (deleted, _) = reader.exchange(reader.request(path))
        assert deleted.startswith(b"HTTP/1.1 403 "), deleted[:200]
    finally:
        agent.close()


def test_a_namespace_header_is_never_answered_with_the_default_namespaces_bytes(target: Target) -> None:
    path = "/v1/catalog/services"
    (default, _) = target.exchange(target.request(path))
    (default_again, _) = target.exchange(target.request(path))
    assert default == default_again
    assert b'"web"' in default
    (other, _) = target.exchange(target.request(path, b"\r\nX-Consul-Namespace: other"))
    assert b'"web"' not in other


def read_response(sock: socket.socket, pending: bytes = b"") -> tuple[bytes, bytes]:
    """One response (Date blanked) and whatever was read past it."""
    data = pending
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
    while len(rest) < length:
        rest += sock.recv(65536)
    response = head + b"\r\n\r\n" + rest[:length]
    return re.sub(rb"Date: [^\r]*", b"Date: -", response), rest[length:]


def test_a_keep_alive_connection_stays_fast_across_a_change(target: Target) -> None:
    request = target.request("/v1/health/service/web")
    raw = socket.create_connection(("127.0.0.1", target.port), timeout=10)
    sock = target.context.wrap_socket(raw, server_hostname="127.0.0.1") if target.context else raw
    with sock:
        sock.sendall(request)
        first, rest = read_response(sock)
        headers = {"X-Consul-Token": target.token} if target.token else {}
        body = {"Name": "web", "ID": "web-9", "Check": {"TTL": "300s", "Status": "passing"}}
        assert 200 == target.agent.put("/v1/agent/service/register", body, headers=headers).status
        sock.sendall(request)
        changed, rest = read_response(sock, rest)  # built again, on the same connection
        before = target.hits()
        sock.sendall(request)
        repeated, _ = read_response(sock, rest)
        assert target.hits() == before + 1, "the connection left the fast path after the change"
    assert b'"web-9"' not in first
    assert b'"web-9"' in changed
    assert changed == repeated


@pytest.mark.parametrize(
    "path",
    [
        "/v1/health/service/web?peer=x",
        "/v1/catalog/nodes?max_stale=abc",
        "/v1/catalog/service/web?index=abc",
        "/v1/catalog/services?filter=Nope%20%3D%3D%201",
        "/v1/health/state/bogus",
        "/v1/catalog/node/nope",
        "/v1/health/service/web?tag=a&tag=b&near=_agent",
        "/v1/health/service/web?passing=maybe",
    ],
)
def test_answers_built_on_the_fast_path_are_aiohttps_bytes(target: Target, path: str) -> None:
    (built, _) = target.exchange(target.request(path))
    # An unknown header sends the same request through aiohttp.
    (through_aiohttp, _) = target.exchange(target.request(path, b"\r\nX-Probe: 1"))
    assert built == through_aiohttp
