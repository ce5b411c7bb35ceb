"""End-to-end: every record kind as `dig` (BIND's, Debian dnsutils) sees it, including dig's own retry
over TCP when the UDP answer comes back truncated."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import register_service
from tests.e2e.test_dns import web

DIG = shutil.which("dig") or "/usr/bin/dig"
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.skipif(shutil.which("dig") is None, reason="dig (dnsutils) is not installed"),
]


def dig(agent: AgentProcess, *args: str) -> str:
    done = subprocess.run(
        [DIG, "@127.0.0.1", "-p", str(agent.dns_port), "+time=5", "+tries=2", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == done.returncode, done.stdout + done.stderr
    return done.stdout


def short(agent: AgentProcess, *args: str) -> list[str]:
    return sorted(line for line in dig(agent, "+short", *args).splitlines() if not line.startswith(";"))


def test_dig_service_tag_node_and_addr_lookups(agent: AgentProcess) -> None:
    web(agent, 1, tags=["v1"])
    web(agent, 2)
    register_service(agent, {"Name": "v6", "Address": "2001:db8::5", "Port": 1})
    assert ["10.0.0.1", "10.0.0.2"] == short(agent, "web.service.consul", "A")
    assert ["10.0.0.1"] == short(agent, "v1.web.service.consul")
    assert ["2001:db8::5"] == short(agent, "v6.service.dc1.consul", "AAAA")
    assert ["127.0.0.1"] == short(agent, "test-node.node.consul")
    assert '"consul-version=1.21.0"' in short(agent, "test-node.node.dc1.consul", "TXT")
    assert ["10.0.0.2"] == short(agent, "0a000002.addr.dc1.consul")


def test_dig_srv_with_additional_section(agent: AgentProcess) -> None:
    web(agent, 1)
    register_service(agent, {"Name": "web", "ID": "web-node", "Port": 8100})
    out = dig(agent, "_web._tcp.service.consul", "SRV", "+noall", "+answer", "+additional")
    lines = sorted(" ".join(line.split()) for line in out.splitlines() if line.strip())
    assert [
        "0a000001.addr.dc1.consul. 0 IN A 10.0.0.1",
        "_web._tcp.service.consul. 0 IN SRV 1 1 8001 0a000001.addr.dc1.consul.",
        "_web._tcp.service.consul. 0 IN SRV 1 1 8100 test-node.node.dc1.consul.",
        "test-node.node.dc1.consul. 0 IN A 127.0.0.1",
    ] == lines


def test_dig_reverse_lookups(agent: AgentProcess) -> None:
    web(agent, 7)
    assert ["test-node.node.dc1.consul."] == short(agent, "-x", "127.0.0.1")
    assert ["web.service.consul."] == short(agent, "-x", "10.0.0.7")


def test_dig_nxdomain_has_the_soa_in_authority(agent: AgentProcess) -> None:
    out = dig(agent, "missing.service.consul")
    assert "status: NXDOMAIN" in out
    authority = out.split(";; AUTHORITY SECTION:\n", 1)[1].splitlines()[0].split()
    assert ["consul.", "0", "IN", "SOA", "ns.consul.", "hostmaster.consul."] == authority[:6]
    assert "status: REFUSED" in dig(agent, "example.com")


def test_dig_sees_tc_over_udp_and_retries_over_tcp_for_everything(agent: AgentProcess) -> None:
    for n in range(1, 41):
        web(agent, n)
    truncated = dig(agent, "+ignore", "+bufsize=1232", "_web._tcp.service.consul", "SRV")
    assert "flags: qr aa tc" in truncated
    assert 40 == len(short(agent, "+bufsize=1232", "_web._tcp.service.consul", "SRV"))  # dig retried on TCP
    assert 40 == len(short(agent, "+tcp", "web.service.consul"))
