"""End-to-end: what monitoring reads from agents on a real three-member etcd cluster, whose members are
the catalog's servers (consul-reads §8): status, raft configuration, autopilot health with a member
stopped and with all of etcd gone, coordinates; Netdata's, Telegraf's and Fabio's sequences replayed."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from muster.golang import parse_duration
from tests.agentproc import AgentProcess, Reply
from tests.e2e.collectors import Netdata, go_time, telegraf_gather
from tests.e2e.targets import free_port, poll
from tests.e2e.test_fleet import Fleet, register, wait_for
from tests.etcdcluster import EtcdCluster, Member

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

ANSWER_WITHIN = 5.0  # seconds: every answer about the servers, whatever etcd does


@pytest.fixture
def fleet(etcd_cluster: EtcdCluster, tmp_path: Path) -> Iterator[Fleet]:
    made = Fleet(etcd_cluster, tmp_path)
    made.start("a", "b")
    yield made
    made.close()


@pytest.fixture
def alone(tmp_path: Path) -> Iterator[tuple[EtcdCluster, AgentProcess]]:
    """A cluster of its own, which the test may stop, and one agent "a" on it."""
    etcd = EtcdCluster(3).start()
    made = Fleet(etcd, tmp_path)
    try:
        made.start("a")
        yield etcd, made["a"]
    finally:
        made.close()
        etcd.close()


def timed_get(agent: AgentProcess, path: str) -> Reply:
    started = time.monotonic()
    reply = agent.get(path, timeout=ANSWER_WITHIN * 2)
    assert time.monotonic() - started < ANSWER_WITHIN, path
    assert reply.status < 500, f"{path}: {reply.status} {reply.text}"
    return reply


def get_json(agent: AgentProcess, path: str, status: int = 200) -> Any:
    reply = timed_get(agent, path)
    assert status == reply.status, f"{path}: {reply.status} {reply.text}"
    return reply.json()


def etcd_members(member: Member) -> dict[str, str]:
    """Member ID in hex -> name, from etcd's own JSON gateway."""
    request = urllib.request.Request(f"{member.client_url}/v3/cluster/member/list", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=5) as reply:
        members = json.loads(reply.read())["members"]
    return {f"{int(m['ID']):x}": m["name"] for m in members}


def peer_addresses(etcd_cluster: EtcdCluster) -> list[str]:
    return sorted(member.peer_url.removeprefix("http://") for member in etcd_cluster.members)


def health(agent: AgentProcess) -> tuple[int, dict[str, Any]]:
    reply = timed_get(agent, "/v1/operator/autopilot/health")
    assert reply.status in (200, 429), reply.text
    return reply.status, reply.json()


def by_name(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {server["Name"]: server for server in answer["Servers"]}


def no_traceback(*agents: AgentProcess) -> None:
    for agent in agents:
        log = "".join(agent.stderr_lines)
        assert "Traceback" not in log, log[-3000:]


# -- a client of the etcd servers --------------------------------------------------------------------


def test_an_agent_on_etcd_is_a_client_of_the_etcd_servers(fleet: Fleet) -> None:
    document = get_json(fleet["a"], "/v1/agent/self")
    assert False is document["Config"]["Server"]
    assert {"server": "false", "known_servers": "3", "acl": "disabled"} == document["Stats"]["consul"]
    tags = document["Member"]["Tags"]
    assert ("node", set()) == (tags["role"], {"port", "raft_vsn", "wan_join_port"} & set(tags))
    members = get_json(fleet["a"], "/v1/agent/members")
    assert document["Member"] in members
    assert {"node"} == {member["Tags"]["role"] for member in members}


def test_peers_leader_and_raft_configuration_are_the_etcd_members(
    fleet: Fleet, etcd_cluster: EtcdCluster
) -> None:
    peers = get_json(fleet["a"], "/v1/status/peers")
    assert peer_addresses(etcd_cluster) == sorted(peers)
    leader = get_json(fleet["a"], "/v1/status/leader")
    assert leader in peers
    assert leader == get_json(fleet["b"], "/v1/status/leader")  # every agent names the same leader
    configuration = get_json(fleet["a"], "/v1/operator/raft/configuration")
    servers = configuration["Servers"]
    assert etcd_members(etcd_cluster.members[0]) == {server["ID"]: server["Node"] for server in servers}
    assert [leader] == [server["Address"] for server in servers if server["Leader"]]
    assert {("3", True)} == {(server["ProtocolVersion"], server["Voter"]) for server in servers}
    [leading] = [server for server in servers if server["Leader"]]
    assert configuration["Index"] == leading["LastIndex"] > 0  # the leader's raft index


def test_autopilot_health_is_200_with_every_member_healthy(fleet: Fleet, etcd_cluster: EtcdCluster) -> None:
    status, answer = health(fleet["a"])
    assert (200, True, 1) == (status, answer["Healthy"], answer["FailureTolerance"])
    servers = by_name(answer)
    assert {"m0", "m1", "m2"} == set(servers)
    for server in servers.values():
        assert ("alive", True, True) == (server["SerfStatus"], server["Healthy"], server["Voter"])
        assert server["Version"].startswith("3.")
        assert server["LastTerm"] >= 1
        parse_duration(server["LastContact"])
        go_time(server["StableSince"])
    [leader] = [server for server in servers.values() if server["Leader"]]
    assert ("0s", get_json(fleet["a"], "/v1/status/leader")) == (leader["LastContact"], leader["Address"])


def test_coordinates_list_this_agent_alone(fleet: Fleet) -> None:
    reply = timed_get(fleet["a"], "/v1/coordinate/nodes")
    assert ["a"] == [node["Node"] for node in reply.json()]
    assert ("1", "true") == (reply.header("X-Consul-Index"), reply.header("X-Consul-KnownLeader"))


# -- the collectors ---------------------------------------------------------------------------------------


def test_netdata_reads_checks_and_metrics_from_a_client(fleet: Fleet) -> None:
    register(fleet["a"], "web", "web-a", 80)
    netdata = Netdata(fleet["a"])
    mx = [netdata.collect() for _ in range(2)][-1]
    expected = ["/v1/agent/self", *["/v1/agent/checks", "/v1/agent/metrics?format=prometheus"] * 2]
    assert expected == [path for path, _ in netdata.requests]  # no server-only call on a client
    assert 1 == mx["health_check_service:web-a_passing_status"]


def test_telegraf_sees_every_agents_checks(fleet: Fleet) -> None:
    register(fleet["a"], "web", "web-a", 80)
    register(fleet["b"], "web", "web-b", 81, status="critical")

    def gathered() -> dict[tuple[str, str], dict[str, int]]:
        return {(p.tags["node"], p.tags["check_id"]): p.fields for p in telegraf_gather(fleet["a"])}

    wanted = {(node, check) for node in "ab" for check in ("serfHealth", f"service:web-{node}")}
    points = poll(gathered, lambda found: set(found) >= wanted, timeout=10.0)
    assert wanted <= set(points), sorted(points)
    assert {"passing": 0, "critical": 1, "warning": 0} == points[("b", "service:web-b")]
    assert {"passing": 1, "critical": 0, "warning": 0} == points[("a", "service:web-a")]


def test_a_blocking_health_state_query_wakes_on_another_agents_check_change(fleet: Fleet) -> None:
    register(fleet["b"], "web", "web-b", 81)
    wait_for(lambda: "service:web-b" in timed_get(fleet["a"], "/v1/health/state/passing").text, 10.0, "web-b")
    index = int(timed_get(fleet["a"], "/v1/health/state/any").header("X-Consul-Index") or 0)
    changed: list[float] = []

    def fail_on_b() -> None:
        time.sleep(0.5)
        changed.append(time.monotonic())
        assert 200 == fleet["b"].put("/v1/agent/check/fail/service:web-b").status

    thread = threading.Thread(target=fail_on_b)
    thread.start()
    reply = fleet["a"].get(f"/v1/health/state/any?consistent&index={index}", timeout=40)  # as Fabio
    answered = time.monotonic()
    thread.join()
    assert 200 == reply.status
    assert "critical" == {c["CheckID"]: c["Status"] for c in reply.json()}["service:web-b"]
    assert int(reply.header("X-Consul-Index") or 0) > index
    assert changed[0] <= answered < changed[0] + 5.0


# -- etcd in trouble ---------------------------------------------------------------------------------


def test_a_stopped_member_is_unhealthy_until_it_returns(alone: tuple[EtcdCluster, AgentProcess]) -> None:
    own_cluster, agent = alone
    leader = get_json(agent, "/v1/status/leader")
    stopped = next(m for m in own_cluster.members if m.peer_url.endswith(leader))  # the leader itself
    own_cluster.kill(stopped)

    def unhealthy() -> dict[str, Any] | None:
        status, answer = health(agent)
        servers = by_name(answer)
        down = servers[stopped.name]
        led = any(server["Leader"] for name, server in servers.items() if name != stopped.name)
        return answer if status == 429 and not down["Healthy"] and led else None

    answer = wait_for(unhealthy, 15.0, f"{stopped.name} unhealthy and a new leader")
    servers = by_name(answer)
    assert (False, 0) == (answer["Healthy"], answer["FailureTolerance"])
    assert "failed" == servers[stopped.name]["SerfStatus"]
    assert parse_duration(servers[stopped.name]["LastContact"]) > 0
    others = [server for name, server in servers.items() if name != stopped.name]
    assert [(True, "alive")] * 2 == [(s["Healthy"], s["SerfStatus"]) for s in others]
    assert 1 == sum(1 for server in others if server["Leader"])
    new_leader = wait_for(lambda: get_json(agent, "/v1/status/leader"), 10.0, "a leader")
    assert new_leader != leader
    assert peer_addresses(own_cluster) == sorted(get_json(agent, "/v1/status/peers"))
    configuration = get_json(agent, "/v1/operator/raft/configuration")
    assert 3 == len(configuration["Servers"])
    own_cluster.start_member(stopped)
    wait_for(lambda: health(agent)[0] == 200, 15.0, "every member healthy again")
    assert all(server["Healthy"] for server in health(agent)[1]["Servers"])
    no_traceback(agent)


def test_without_etcd_the_servers_are_what_was_last_heard(alone: tuple[EtcdCluster, AgentProcess]) -> None:
    own_cluster, agent = alone
    assert 200 == health(agent)[0]
    own_cluster.stop_all()
    wait_for(lambda: get_json(agent, "/v1/status/leader") == "", 10.0, "no leader")
    assert peer_addresses(own_cluster) == sorted(get_json(agent, "/v1/status/peers"))
    status, answer = health(agent)
    assert (429, False) == (status, answer["Healthy"])
    assert {("failed", False, False)} == {
        (s["SerfStatus"], s["Healthy"], s["Leader"]) for s in answer["Servers"]
    }
    assert 3 == len(get_json(agent, "/v1/operator/raft/configuration")["Servers"])

    def stale_coordinates() -> Reply | None:
        reply = timed_get(agent, "/v1/coordinate/nodes")
        return reply if reply.header("X-Consul-KnownLeader") == "false" else None

    coordinates = wait_for(stale_coordinates, 20.0, "KnownLeader false")
    assert ["a"] == [node["Node"] for node in coordinates.json()]
    assert False is get_json(agent, "/v1/agent/self")["Config"]["Server"]
    no_traceback(agent)


def test_an_agent_that_never_reached_etcd_knows_no_server(make_agent: type[AgentProcess]) -> None:
    agent = make_agent("-catalog", "etcd", "-etcd-endpoint", f"http://127.0.0.1:{free_port()}").start()
    assert "" == get_json(agent, "/v1/status/leader")
    assert [] == get_json(agent, "/v1/status/peers")
    assert {"Healthy": False, "FailureTolerance": 0, "Servers": []} == health(agent)[1]
    assert {"Servers": [], "Index": 0} == get_json(agent, "/v1/operator/raft/configuration")
    assert "1" == get_json(agent, "/v1/agent/self")["Stats"]["consul"]["known_servers"]
    no_traceback(agent)
