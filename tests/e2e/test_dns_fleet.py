"""End-to-end: DNS over the fleet catalog (etcd): an instance registered on agent A is answered by agent
B's DNS; a failed check, and A's death (its lease lapses, serfHealth turns critical), take it out of
B's answers. The agents share 127.0.0.1, so their SRV targets share an address too."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import dns.rcode
import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import poll, register_service, ttl
from tests.e2e.test_dns import addresses, query, rdatas
from tests.etcdcluster import EtcdCluster

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")
LEASE_TTL = 3


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[dict[str, AgentProcess]]:
    cluster = EtcdCluster(1).start()
    config = tmp_path / "fleet.json"
    config.write_text(
        json.dumps({"etcd": {"lease_ttl": f"{LEASE_TTL}s"}, "catalog": {"sync_interval": "2s"}})
    )
    prefix = f"/dns{time.monotonic_ns()}/"
    agents: dict[str, AgentProcess] = {}
    try:
        for name in ("a", "b"):
            args = [*cluster.agent_args(prefix), "-config-file", str(config), "-node", name]
            agents[name] = AgentProcess(*args).start()
        yield agents
    finally:
        for agent in agents.values():
            agent.close()
        cluster.close()


def srv_of(agent: AgentProcess) -> list[tuple[int, str]]:
    reply = query(agent, "_web._tcp.service.consul", "SRV", tcp=True)
    return sorted((srv.port, srv.target.to_text()) for srv in rdatas(reply, "SRV"))


def test_dns_answers_the_fleet_and_only_its_healthy_instances(fleet: dict[str, AgentProcess]) -> None:
    a, b = fleet["a"], fleet["b"]
    for agent, port in ((a, 8001), (b, 8002)):
        check = {"CheckID": f"ttl-{port}", "TTL": "600s", "Status": "passing"}
        register_service(agent, {"Name": "web", "ID": f"web-{port}", "Port": port, "Check": check})
    both = [(8001, "a.node.dc1.consul."), (8002, "b.node.dc1.consul.")]
    assert both == poll(lambda: srv_of(b), lambda s: s == both, 20)
    reply = query(b, "_web._tcp.service.consul", "SRV", tcp=True)
    assert {"a.node.dc1.consul.", "b.node.dc1.consul."} == {r.name.to_text() for r in reply.additional}
    assert {"127.0.0.1"} == addresses(query(b, "a.node.consul"))

    assert 200 == ttl(a, "fail", "ttl-8001").status
    only_b = [(8002, "b.node.dc1.consul.")]
    assert only_b == poll(lambda: srv_of(b), lambda s: s == only_b, 20)
    assert 200 == ttl(a, "pass", "ttl-8001").status
    assert both == poll(lambda: srv_of(b), lambda s: s == both, 20)

    a.kill9()  # its lease lapses within LEASE_TTL: serfHealth critical, its instances out of DNS
    assert only_b == poll(lambda: srv_of(b), lambda s: s == only_b, LEASE_TTL + 20)
    assert 200 == ttl(b, "fail", "ttl-8002").status
    gone = poll(lambda: query(b, "web.service.consul"), lambda r: r.rcode() == dns.rcode.NXDOMAIN, 20)
    assert dns.rcode.NXDOMAIN == gone.rcode()
