"""End-to-end: names outside the domain go to the `recursors` (a small dnspython upstream started here
on free ports, UDP and TCP), tried in order; SERVFAIL when none answers; PTR for unknown addresses
recursed too."""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rrset
import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import write_config
from tests.e2e.test_dns import addresses, query, rdatas, web

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")
UPSTREAM_ADDRESS = "192.0.2.53"


def upstream_reply(data: bytes) -> bytes:
    """A for every name (192.0.2.53), and a PTR for reverse names; `big.example.` gets 80 A records."""
    request = dns.message.from_wire(data)
    reply = dns.message.make_response(request)
    reply.flags |= dns.flags.RA
    question = request.question[0]
    name = question.name.to_text()
    if name.endswith(".arpa."):
        reply.answer.append(dns.rrset.from_text(question.name, 60, "IN", "PTR", "upstream.example."))
    elif name == "big.example.":
        texts = [f"192.0.2.{n}" for n in range(1, 81)]
        reply.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", "A", texts))
    else:
        reply.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", UPSTREAM_ADDRESS))
    return reply.to_wire()


class _UDP(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(upstream_reply(data), self.client_address)


class _TCP(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        (length,) = struct.unpack("!H", self.rfile.read(2))
        reply = upstream_reply(self.rfile.read(length))
        self.wfile.write(struct.pack("!H", len(reply)) + reply)


@pytest.fixture
def upstream() -> Iterator[int]:
    """A UDP and TCP DNS server on one free port; yields the port."""
    for _ in range(20):
        udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), _UDP)
        port = udp.server_address[1]
        try:
            tcp = socketserver.ThreadingTCPServer(("127.0.0.1", port), _TCP)
        except OSError:
            udp.server_close()
            continue
        break
    else:
        pytest.fail("no free port for the upstream DNS server")
    servers = (udp, tcp)
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port
    for server in servers:
        server.shutdown()
        server.server_close()


def dead_port() -> int:
    """A UDP port nothing answers on."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_names_outside_the_domain_are_forwarded_over_udp_and_tcp(
    make_agent: type[AgentProcess], upstream: int
) -> None:
    agent = make_agent("-recursor", f"127.0.0.1:{upstream}").start()
    udp = query(agent, "www.example.org")
    assert (dns.rcode.NOERROR, {UPSTREAM_ADDRESS}) == (udp.rcode(), addresses(udp))
    assert udp.flags & dns.flags.RA
    assert {UPSTREAM_ADDRESS} == addresses(query(agent, "www.example.org", tcp=True))
    big = query(agent, "big.example", tcp=True)
    assert 80 == len(rdatas(big, "A"))
    # The domain is still answered locally, with RA set now that recursion is available.
    web(agent, 1)
    local = query(agent, "web.service.consul")
    assert ({"10.0.0.1"}, True) == (addresses(local), bool(local.flags & dns.flags.RA))


def test_recursors_are_tried_in_order_and_a_dead_one_is_skipped(
    make_agent: type[AgentProcess], tmp_path: Path, upstream: int
) -> None:
    config = write_config(
        tmp_path,
        recursors=[f"127.0.0.1:{dead_port()}", f"127.0.0.1:{upstream}"],
        dns_config={"recursor_timeout": "500ms"},
    )
    agent = make_agent("-config-file", config).start()
    assert {UPSTREAM_ADDRESS} == addresses(query(agent, "www.example.org"))


def test_servfail_when_no_recursor_answers(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = write_config(
        tmp_path, recursors=[f"127.0.0.1:{dead_port()}"], dns_config={"recursor_timeout": "300ms"}
    )
    agent = make_agent("-config-file", config).start()
    reply = query(agent, "www.example.org")
    assert (dns.rcode.SERVFAIL, []) == (reply.rcode(), reply.answer)
    metrics = agent.get("/v1/agent/metrics?format=prometheus").text
    assert "muster_dns_recursor_failures_total 1.0" in metrics


def test_unknown_reverse_names_are_recursed_and_known_ones_answered_locally(
    make_agent: type[AgentProcess], upstream: int
) -> None:
    agent = make_agent("-recursor", f"127.0.0.1:{upstream}").start()
    unknown = rdatas(query(agent, "9.9.51.198.in-addr.arpa", "PTR"), "PTR")
    assert ["upstream.example."] == [rd.target.to_text() for rd in unknown]
    known = rdatas(query(agent, "1.0.0.127.in-addr.arpa", "PTR"), "PTR")
    assert ["test-node.node.dc1.consul."] == [rd.target.to_text() for rd in known]
