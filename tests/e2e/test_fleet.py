"""The fleet catalog on a real three-member etcd cluster with three real agents: propagation, a dead
agent, a dead etcd member, all of etcd gone and back, drift repair, reaping and blocking queries."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess, Reply
from tests.etcdcluster import EtcdCluster

LEASE_TTL = 3  # seconds: a dead agent turns critical within this (plus a sweep)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


class Fleet:
    def __init__(self, cluster: EtcdCluster, tmp: Path, **settings: Any) -> None:
        self.cluster = cluster
        self.config = tmp / "fleet.json"
        body = {"etcd": {"lease_ttl": f"{LEASE_TTL}s"}, "catalog": {"sync_interval": "2s"}}
        body.update(settings)
        self.config.write_text(json.dumps(body))
        self.prefix = f"/t{time.monotonic_ns()}/"
        self.agents: dict[str, AgentProcess] = {}

    def start(self, *names: str, extra: tuple[str, ...] = ()) -> None:
        for name in names:
            args = [*self.cluster.agent_args(self.prefix), "-config-file", str(self.config), "-node", name]
            args += extra
            args += ["-dns-port", "-1"]  # DNS over the fleet: tests/e2e/test_dns*.py
            self.agents[name] = AgentProcess(*args).start()

    def __getitem__(self, name: str) -> AgentProcess:
        return self.agents[name]

    def close(self) -> None:
        for agent in self.agents.values():
            agent.close()


def register(agent: AgentProcess, name: str, service_id: str, port: int, status: str = "passing") -> None:
    body = {"Name": name, "ID": service_id, "Port": port, "Check": {"TTL": "300s", "Status": status}}
    reply = agent.put("/v1/agent/service/register", body)
    assert reply.status == 200, reply.text


def healthy(agent: AgentProcess, name: str) -> list[tuple[str, str]]:
    reply = agent.get(f"/v1/health/service/{name}?passing")
    assert reply.status == 200, reply.text
    return sorted((entry["Node"]["Node"], entry["Service"]["ID"]) for entry in reply.json())


def instances(agent: AgentProcess, name: str) -> list[tuple[str, str]]:
    reply = agent.get(f"/v1/health/service/{name}")
    assert reply.status == 200, reply.text
    return sorted((entry["Node"]["Node"], entry["Service"]["ID"]) for entry in reply.json())


@pytest.fixture(scope="module")
def cluster() -> Iterator[EtcdCluster]:
    etcd = EtcdCluster(3).start()
    yield etcd
    etcd.close()


@pytest.fixture
def fleet(cluster: EtcdCluster, tmp_path: Path) -> Iterator[Fleet]:
    made = Fleet(cluster, tmp_path)
    made.start("a", "b", "c")
    yield made
    made.close()


def test_a_service_registered_on_one_agent_is_passing_on_another_within_two_seconds(fleet: Fleet) -> None:
    assert healthy(fleet["c"], "web") == []  # opens C's view of `web` before the change
    started = time.monotonic()
    register(fleet["a"], "web", "web-a", 8080)
    wait_for(lambda: healthy(fleet["c"], "web") == [("a", "web-a")], 2.0, "web-a on agent c")
    assert time.monotonic() - started < 2.0
    services = fleet["b"].get("/v1/catalog/services").json()
    assert "web" in services
    assert "consul" in services  # every agent answers as a server, as `consul agent -dev` does
    nodes = {node["Node"] for node in fleet["b"].get("/v1/catalog/nodes").json()}
    assert {"a", "b", "c"} <= nodes


def test_catalog_answers_carry_the_etcd_revision_and_leader_headers(fleet: Fleet) -> None:
    register(fleet["a"], "api", "api-a", 9000)
    wait_for(lambda: instances(fleet["b"], "api"), 5.0, "api on b")
    first = fleet["b"].get("/v1/health/service/api")
    assert first.header("X-Consul-KnownLeader") == "true"
    assert first.header("X-Consul-LastContact") == "0"
    index = int(first.header("X-Consul-Index") or 0)
    register(fleet["c"], "api", "api-c", 9001)
    wait_for(lambda: len(instances(fleet["b"], "api")) == 2, 5.0, "api-c on b")
    assert int(fleet["b"].get("/v1/health/service/api").header("X-Consul-Index") or 0) > index


def test_a_blocking_query_on_one_agent_wakes_on_a_change_made_on_another(fleet: Fleet) -> None:
    register(fleet["a"], "queue", "queue-a", 7000)
    wait_for(lambda: instances(fleet["c"], "queue"), 5.0, "queue on c")
    index = fleet["c"].get("/v1/health/service/queue").header("X-Consul-Index")
    started = time.monotonic()

    def change_soon() -> None:
        time.sleep(0.5)
        register(fleet["b"], "queue", "queue-b", 7001)

    import threading

    threading.Thread(target=change_soon).start()
    reply = fleet["c"].get(f"/v1/health/service/queue?index={index}&wait=30s", timeout=40)
    elapsed = time.monotonic() - started
    assert reply.status == 200
    assert sorted(entry["Service"]["ID"] for entry in reply.json()) == ["queue-a", "queue-b"]
    assert 0.4 < elapsed < 10.0
    assert int(reply.header("X-Consul-Index") or 0) > int(index or 0)


def test_a_killed_agent_turns_critical_everywhere_within_the_lease_ttl(fleet: Fleet) -> None:
    register(fleet["b"], "cache", "cache-b", 6379)
    register(fleet["a"], "cache", "cache-a", 6380)
    wait_for(lambda: len(healthy(fleet["c"], "cache")) == 2, 5.0, "both caches healthy on c")
    fleet["b"].kill9()
    killed = time.monotonic()
    wait_for(lambda: healthy(fleet["c"], "cache") == [("a", "cache-a")], LEASE_TTL + 5.0, "cache-b critical")
    assert time.monotonic() - killed < LEASE_TTL + 5.0
    wait_for(lambda: healthy(fleet["a"], "cache") == [("a", "cache-a")], 5.0, "cache-b critical on a")
    # Still in the catalog, only unhealthy: serfHealth says why.
    entries = fleet["c"].get("/v1/health/service/cache").json()
    dead = next(e for e in entries if e["Node"]["Node"] == "b")
    serf = next(c for c in dead["Checks"] if c["CheckID"] == "serfHealth")
    assert serf["Status"] == "critical"
    # It comes back on restart with what it had acknowledged; a restored check starts critical (§5).
    fleet["b"].start()
    assert fleet["b"].put("/v1/agent/check/pass/service:cache-b").status == 200
    wait_for(lambda: len(healthy(fleet["c"], "cache")) == 2, 10.0, "cache-b healthy again")


def test_maintenance_on_one_agent_removes_the_instance_from_passing_everywhere(fleet: Fleet) -> None:
    register(fleet["a"], "db", "db-a", 5432)
    wait_for(lambda: healthy(fleet["b"], "db") == [("a", "db-a")], 5.0, "db-a on b")
    assert fleet["a"].put("/v1/agent/service/maintenance/db-a?enable=true&reason=upgrade").status == 200
    wait_for(lambda: healthy(fleet["b"], "db") == [], 5.0, "db-a out of passing")
    assert instances(fleet["b"], "db") == [("a", "db-a")]
    assert fleet["a"].put("/v1/agent/service/maintenance/db-a?enable=false").status == 200
    wait_for(lambda: healthy(fleet["b"], "db") == [("a", "db-a")], 5.0, "db-a back")


def test_deregistering_removes_the_instance_everywhere(fleet: Fleet) -> None:
    register(fleet["a"], "tmp", "tmp-a", 1234)
    wait_for(lambda: instances(fleet["c"], "tmp"), 5.0, "tmp on c")
    assert fleet["a"].put("/v1/agent/service/deregister/tmp-a").status == 200
    wait_for(lambda: instances(fleet["c"], "tmp") == [], 5.0, "tmp gone from c")
    wait_for(lambda: "tmp" not in fleet["c"].get("/v1/catalog/services").json(), 5.0, "tmp out of the list")


def test_an_entry_deleted_behind_the_agents_back_comes_back(fleet: Fleet) -> None:
    register(fleet["a"], "repair", "repair-a", 4000)
    wait_for(lambda: instances(fleet["b"], "repair"), 5.0, "repair on b")
    etcdctl(fleet.cluster, "del", "--prefix", f"{fleet.prefix}dc/dc1/svc/default/repair/")
    wait_for(lambda: instances(fleet["b"], "repair") == [], 5.0, "the deletion seen on b")
    # The next full sync (catalog.sync_interval = 2s, jittered) restores it.
    wait_for(lambda: healthy(fleet["b"], "repair") == [("a", "repair-a")], 10.0, "repair-a restored")


def etcdctl(cluster: EtcdCluster, *args: str) -> str:
    import subprocess

    env = {"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"}
    endpoints = ",".join(cluster.endpoints)
    out = subprocess.run(
        ["etcdctl", "--endpoints", endpoints, *args], env=env, capture_output=True, check=True, timeout=30
    )
    return out.stdout.decode()


def test_a_node_dead_past_reconnect_timeout_is_reaped(cluster: EtcdCluster, tmp_path: Path) -> None:
    fleet = Fleet(cluster, tmp_path, reconnect_timeout="4s")
    try:
        fleet.start("a", "b")
        register(fleet["b"], "gone", "gone-b", 1)
        wait_for(lambda: instances(fleet["a"], "gone"), 5.0, "gone-b on a")
        fleet["b"].kill9()
        wait_for(lambda: instances(fleet["a"], "gone") == [], 30.0, "gone-b reaped")
        nodes = {node["Node"] for node in fleet["a"].get("/v1/catalog/nodes").json()}
        assert nodes == {"a"}
    finally:
        fleet.close()


def test_killing_one_etcd_member_changes_nothing_visible(tmp_path: Path) -> None:
    cluster = EtcdCluster(3).start()
    fleet = Fleet(cluster, tmp_path)
    try:
        fleet.start("a", "b", "c")
        register(fleet["b"], "web", "web-b", 80)
        wait_for(lambda: healthy(fleet["c"], "web") == [("b", "web-b")], 5.0, "web-b on c")
        cluster.kill(cluster.members[0])  # every agent's first endpoint
        register(fleet["a"], "web", "web-a", 81)
        wait_for(lambda: len(healthy(fleet["c"], "web")) == 2, 10.0, "web-a on c with a member down")
        # Longer than the lease TTL: nobody's lease lapses while they fail over.
        deadline = time.monotonic() + LEASE_TTL * 2
        while time.monotonic() < deadline:
            assert healthy(fleet["c"], "web") == [("a", "web-a"), ("b", "web-b")]
            assert healthy(fleet["a"], "web") == [("a", "web-a"), ("b", "web-b")]
            time.sleep(0.2)
        assert fleet["c"].get("/v1/health/service/web").header("X-Consul-KnownLeader") == "true"
    finally:
        fleet.close()
        cluster.close()


def test_without_etcd_agents_keep_working_and_converge_when_it_returns(tmp_path: Path) -> None:
    cluster = EtcdCluster(3).start()
    fleet = Fleet(cluster, tmp_path)
    try:
        fleet.start("a", "c")
        register(fleet["a"], "web", "web-a", 80)
        wait_for(lambda: healthy(fleet["c"], "web") == [("a", "web-a")], 5.0, "web-a on c")
        cluster.stop_all()
        # The local API is untouched.
        register(fleet["a"], "late", "late-a", 90)
        assert fleet["a"].get("/v1/agent/service/late-a").status == 200
        assert fleet["a"].get("/v1/agent/health/service/name/web").status == 200

        # Catalog reads serve the last view and say it may be stale.
        def stale_view() -> Reply | None:
            reply = fleet["c"].get("/v1/health/service/web")
            return reply if reply.header("X-Consul-KnownLeader") == "false" else None

        reply = wait_for(stale_view, 20.0, "KnownLeader false")
        assert [e["Service"]["ID"] for e in reply.json()] == ["web-a"]
        first_contact = int(reply.header("X-Consul-LastContact") or 0)
        time.sleep(0.5)
        later = int(fleet["c"].get("/v1/health/service/web").header("X-Consul-LastContact") or 0)
        assert later > first_contact > 0
        consistent = fleet["c"].get("/v1/health/service/web?consistent", timeout=30)
        assert (consistent.status, consistent.text.strip()) == (500, "No cluster leader")
        status = fleet["a"].get("/status/v1/services/catalog-sync?level=debug")
        assert status.json()["state"] == "error"
        # etcd returns: the change made meanwhile reaches the other agent, nothing is lost.
        for member in cluster.members:
            cluster.start_member(member, wait=False)
        for member in cluster.members:
            cluster.wait_healthy(member)
        wait_for(lambda: healthy(fleet["c"], "late") == [("a", "late-a")], 30.0, "late-a after etcd returns")
        assert healthy(fleet["c"], "web") == [("a", "web-a")]
        wait_for(
            lambda: fleet["c"].get("/v1/health/service/web").header("X-Consul-KnownLeader") == "true",
            10.0,
            "KnownLeader true again",
        )
        wait_for(
            lambda: fleet["a"].get("/status/v1/services/catalog-sync").json()["state"] == "running",
            10.0,
            "catalog-sync running again",
        )
    finally:
        fleet.close()
        cluster.close()


def test_external_services_register_and_deregister_through_the_catalog_api(fleet: Fleet) -> None:
    body = {
        "Node": "db-appliance",
        "Address": "10.0.0.9",
        "NodeMeta": {"rack": "r1"},
        "Service": {"Service": "extdb", "ID": "extdb1", "Port": 5432, "Tags": ["primary"]},
        "Check": {"CheckID": "extdb-alive", "ServiceID": "extdb1", "Status": "passing"},
    }
    reply = fleet["a"].put("/v1/catalog/register", body)
    assert (reply.status, reply.text) == (200, "true")
    wait_for(lambda: healthy(fleet["c"], "extdb") == [("db-appliance", "extdb1")], 5.0, "extdb on c")
    entry = fleet["c"].get("/v1/health/service/extdb").json()[0]
    assert entry["Service"]["Address"] == ""
    assert entry["Node"]["Address"] == "10.0.0.9"
    assert [c["CheckID"] for c in entry["Checks"]] == ["extdb-alive"]  # no serfHealth: no agent
    critical = {"Node": "db-appliance", "Address": "10.0.0.9", "SkipNodeUpdate": True}
    critical["Check"] = {"CheckID": "extdb-alive", "ServiceID": "extdb1", "Status": "critical"}
    assert fleet["b"].put("/v1/catalog/register", critical).status == 200
    wait_for(lambda: healthy(fleet["c"], "extdb") == [], 5.0, "extdb critical on c")
    assert fleet["b"].get("/v1/catalog/node/db-appliance").json()["Node"]["Meta"] == {"rack": "r1"}
    gone = fleet["b"].put("/v1/catalog/deregister", {"Node": "db-appliance"})
    assert (gone.status, gone.text) == (200, "true")
    wait_for(lambda: instances(fleet["c"], "extdb") == [], 5.0, "extdb gone")


# Bodies /v1/catalog/register refuses with a 400 naming the field, on either catalog.
BAD_REGISTRATIONS: list[tuple[dict[str, Any], str]] = [
    ({"Address": "10.0.0.1"}, "Must provide node"),
    ({"Node": "x"}, "Must provide address"),
    ({"Node": "x", "Address": "10.0.0.1", "Service": {"Port": 1}}, "Must provide service name"),
    ({"Node": "x", "Address": "1", "Service": {"Service": "s", "Port": "80"}}, "Service.Port"),
]


def test_catalog_register_refuses_bad_input_and_agent_nodes_with_400(fleet: Fleet) -> None:
    cases = [*BAD_REGISTRATIONS, ({"Node": "a", "Address": "10.0.0.1"}, "managed by its agent")]
    for body, text in cases:
        reply = fleet["b"].put("/v1/catalog/register", body)
        assert reply.status == 400, (body, reply.text)
        assert text in reply.text
    assert fleet["b"].put("/v1/catalog/register", b"{not json").status == 400


def test_catalog_register_on_the_local_catalog_keeps_the_node_there(agent: AgentProcess) -> None:
    reply = agent.put("/v1/catalog/register", {"Node": "x", "Address": "10.0.0.1"})
    assert (200, "true") == (reply.status, reply.text)
    assert "10.0.0.1" == agent.get("/v1/catalog/node/x").json()["Node"]["Address"]
    assert ["test-node", "x"] == [node["Node"] for node in agent.get("/v1/catalog/nodes").json()]
    # tests/e2e/test_catalog_register_local.py: the local catalog's external entries in full


def test_members_lists_the_fleet_and_marks_a_dead_agent_failed(fleet: Fleet) -> None:
    def statuses() -> dict[str, int]:
        return {m["Name"]: m["Status"] for m in fleet["a"].get("/v1/agent/members").json()}

    wait_for(lambda: statuses() == {"a": 1, "b": 1, "c": 1}, 10.0, "three live members")
    fleet["c"].kill9()
    wait_for(lambda: statuses() == {"a": 1, "b": 1, "c": 4}, LEASE_TTL + 5.0, "c failed")


def test_a_draining_agent_leaves_the_fleets_healthy_answers_at_once(
    cluster: EtcdCluster, tmp_path: Path
) -> None:
    fleet = Fleet(cluster, tmp_path, etcd={"lease_ttl": "30s"})
    try:
        fleet.start("a")
        fleet.start("b", extra=("-drain-grace-seconds", "60"))
        register(fleet["b"], "web", "web-b", 80)
        wait_for(lambda: healthy(fleet["a"], "web") == [("b", "web-b")], 5.0, "web-b healthy on a")
        assert fleet["b"].proc is not None
        fleet["b"].proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        wait_for(lambda: healthy(fleet["a"], "web") == [], 10.0, "web-b out of passing")
        assert time.monotonic() - signalled < 15.0  # the lease TTL is 30 s: this was the leave, not expiry
        assert fleet["b"].get("/status/v1/simple").status == 503  # still serving while it drains
    finally:
        fleet.close()


def test_dc_reads_another_datacenter_sharing_the_etcd_cluster(cluster: EtcdCluster, tmp_path: Path) -> None:
    fleet = Fleet(cluster, tmp_path)
    try:
        fleet.start("east-1")
        fleet.start("west-1", extra=("-datacenter", "west"))
        register(fleet["west-1"], "web", "web-w", 80)
        register(fleet["east-1"], "web", "web-e", 81)
        wait_for(lambda: healthy(fleet["east-1"], "web") == [("east-1", "web-e")], 5.0, "web-e in dc1")
        datacenters = fleet["east-1"].get("/v1/catalog/datacenters").json()
        wait_for(
            lambda: "west" in fleet["east-1"].get("/v1/catalog/datacenters").json(), 5.0, f"{datacenters}"
        )

        def west() -> list[str]:
            entries = fleet["east-1"].get("/v1/health/service/web?dc=west").json()
            return [entry["Service"]["ID"] for entry in entries]

        wait_for(lambda: west() == ["web-w"], 5.0, "web-w through ?dc=west")
        unknown = fleet["east-1"].get("/v1/health/service/web?dc=mars")
        assert (unknown.status, unknown.text) == (400, "No path to datacenter")
    finally:
        fleet.close()
