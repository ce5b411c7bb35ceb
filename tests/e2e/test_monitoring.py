"""End-to-end: what monitoring reads from an agent with the embedded store, which is its own catalog
server (consul-reads §8): status, raft configuration, autopilot health (200, 429 while the store fails),
coordinates, their ACLs; and Netdata's, Telegraf's and Fabio's/Traefik's request sequences replayed."""

from __future__ import annotations

import datetime
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess, Reply
from tests.e2e.collectors import CollectError, Netdata, go_time, telegraf_gather
from tests.reliability.disks import writes_fail

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

FRESH = b'{"Vec":[0,0,0,0,0,0,0,0],"Error":1.5,"Adjustment":0,"Height":0.00001}'
ROOT = "root"  # deny_acl_agent's management token
ANONYMOUS = ". The anonymous token is used implicitly when a request does not specify a token."
SERVER_KEYS = [
    "ID", "Name", "Address", "SerfStatus", "Version", "Leader", "LastContact", "LastTerm", "LastIndex",
    "Healthy", "Voter", "StableSince",
]  # fmt: skip


def get_json(agent: AgentProcess, path: str, status: int = 200, **kwargs: Any) -> Any:
    reply = agent.get(path, **kwargs)
    assert status == reply.status, f"{path}: {reply.status} {reply.text}"
    assert "application/json" == reply.header("Content-Type")
    return reply.json()


def self_config(agent: AgentProcess) -> dict[str, Any]:
    config: dict[str, Any] = get_json(agent, "/v1/agent/self")["Config"]
    return config


# -- the agent as its own server ---------------------------------------------------------------------


def test_the_agent_is_a_server_and_its_own_leader(agent: AgentProcess) -> None:
    document = get_json(agent, "/v1/agent/self")
    leader = get_json(agent, "/v1/status/leader")
    assert (True, "true") == (document["Config"]["Server"], document["Stats"]["consul"]["server"])
    assert document["Stats"]["consul"]["leader_addr"] == leader
    assert [leader] == get_json(agent, "/v1/status/peers")
    assert ("consul", "8300") == (document["Member"]["Tags"]["role"], document["Member"]["Tags"]["port"])


def test_raft_configuration_lists_this_agent_as_the_leading_voter(agent: AgentProcess) -> None:
    config = self_config(agent)
    answer = get_json(agent, "/v1/operator/raft/configuration")
    assert ["Servers", "Index"] == list(answer)
    [server] = answer["Servers"]
    expected = {
        "ID": config["NodeID"],
        "Node": "test-node",
        "Address": get_json(agent, "/v1/status/leader"),
        "Leader": True,
        "ProtocolVersion": "3",
        "Voter": True,
        "LastIndex": server["LastIndex"],
    }
    assert expected == server
    assert list(expected) == list(server)
    assert isinstance(answer["Index"], int)
    assert answer["Index"] >= 1


def test_autopilot_health_is_200_with_this_agent_healthy_since_it_started(agent: AgentProcess) -> None:
    started = datetime.datetime.now(datetime.UTC)
    agent.kill9()
    agent.start()
    reply = agent.get("/v1/operator/autopilot/health")
    assert (200, "application/json") == (reply.status, reply.header("Content-Type"))
    health = reply.json()
    assert ["Healthy", "FailureTolerance", "Servers"] == list(health)
    assert (True, 0) == (health["Healthy"], health["FailureTolerance"])
    [server] = health["Servers"]
    assert SERVER_KEYS == list(server)
    assert self_config(agent)["NodeID"] == server["ID"]
    assert get_json(agent, "/v1/status/leader") == server["Address"]
    expected = ("test-node", "alive", "1.21.0", True, "0s", 1, True, True)
    assert expected == (
        server["Name"], server["SerfStatus"], server["Version"], server["Leader"], server["LastContact"],
        server["LastTerm"], server["Healthy"], server["Voter"],
    )  # fmt: skip
    since = go_time(server["StableSince"])
    assert started - datetime.timedelta(seconds=1) <= since <= datetime.datetime.now(datetime.UTC)


def test_autopilot_health_is_429_with_the_same_body_while_the_store_fails(agent: AgentProcess) -> None:
    before = get_json(agent, "/v1/operator/autopilot/health")["Servers"][0]["StableSince"]
    with writes_fail(agent):
        assert 500 == agent.put("/v1/agent/service/register", {"Name": "web"}).status
        reply = agent.get("/v1/operator/autopilot/health")
        assert 429 == reply.status, reply.text
        health = reply.json()
        assert (False, 0) == (health["Healthy"], health["FailureTolerance"])
        [server] = health["Servers"]
        assert SERVER_KEYS == list(server)
        assert (False, "alive", True) == (server["Healthy"], server["SerfStatus"], server["Leader"])
        assert go_time(server["StableSince"]) > go_time(before)  # its health changed
    assert 200 == agent.put("/v1/agent/service/register", {"Name": "web"}).status
    health = get_json(agent, "/v1/operator/autopilot/health")
    assert (True, True) == (health["Healthy"], health["Servers"][0]["Healthy"])


@pytest.mark.parametrize("path", ["/v1/operator/raft/configuration", "/v1/operator/autopilot/health"])
@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("?stale&consistent", "Cannot specify ?stale with ?consistent, conflicting semantics."),
        ("?dc=elsewhere", "No path to datacenter"),
        ("?wait=forever", "Invalid wait time"),
    ],
)
def test_operator_endpoints_refuse_bad_options(agent: AgentProcess, path: str, query: str, text: str) -> None:
    reply = agent.get(path + query)
    assert (400, text) == (reply.status, reply.text)


# -- coordinates -------------------------------------------------------------------------------------


def test_coordinates_are_this_node_with_the_self_coordinate(agent: AgentProcess) -> None:
    reply = agent.get("/v1/coordinate/nodes")
    assert 200 == reply.status
    assert b'[{"Node":"test-node","Segment":"","Coord":' + FRESH + b"}]" == reply.body
    assert FRESH.decode() in agent.get("/v1/agent/self").text  # the same coordinate, the same bytes
    headers = ("1", "true", "0", "leader")
    assert headers == (
        reply.header("X-Consul-Index"),
        reply.header("X-Consul-KnownLeader"),
        reply.header("X-Consul-LastContact"),
        reply.header("X-Consul-Effective-Consistency"),
    )


def test_a_blocking_coordinate_query_waits_its_wait_then_answers_the_same(agent: AgentProcess) -> None:
    first = agent.get("/v1/coordinate/nodes")
    started = time.monotonic()
    again = agent.get("/v1/coordinate/nodes?index=1&wait=400ms")
    elapsed = time.monotonic() - started
    assert (200, first.body, "1") == (again.status, again.body, again.header("X-Consul-Index"))
    assert 0.4 <= elapsed < 5.0


@pytest.mark.parametrize(
    ("query", "expected"),
    [("?segment=alpha", (200, "[]")), ("?dc=elsewhere", (400, "No path to datacenter"))],
)
def test_coordinates_of_another_segment_or_datacenter(
    agent: AgentProcess, query: str, expected: tuple[int, str]
) -> None:
    reply = agent.get("/v1/coordinate/nodes" + query)
    assert expected == (reply.status, reply.text)


# -- ACLs --------------------------------------------------------------------------------------------


def make_token(agent: AgentProcess, rules: str) -> tuple[str, str]:
    root = {"X-Consul-Token": "root"}
    name = f"p{time.monotonic_ns()}"
    assert 200 == agent.put("/v1/acl/policy", {"Name": name, "Rules": rules}, headers=root).status
    token = agent.put("/v1/acl/token", {"Policies": [{"Name": name}]}, headers=root).json()
    return token["SecretID"], token["AccessorID"]


@pytest.mark.parametrize("path", ["/v1/operator/raft/configuration", "/v1/operator/autopilot/health"])
def test_operator_endpoints_need_operator_read(deny_acl_agent: AgentProcess, path: str) -> None:
    agent = deny_acl_agent
    anonymous = agent.get(path)
    text = "Permission denied: anonymous token lacks permission 'operator:read'" + ANONYMOUS
    assert (403, text) == (anonymous.status, anonymous.text)
    unknown = agent.get(path, headers={"X-Consul-Token": "nobody"})
    assert (403, "ACL not found") == (unknown.status, unknown.text)
    secret, accessor = make_token(agent, 'node_prefix "" { policy = "write" }')
    other = agent.get(path, headers={"X-Consul-Token": secret})
    text = f"Permission denied: token with AccessorID '{accessor}' lacks permission 'operator:read'"
    assert (403, text) == (other.status, other.text)
    reader, _ = make_token(agent, 'operator = "read"')
    assert 200 == agent.get(path, headers={"X-Consul-Token": reader}).status
    assert 200 == agent.get(path, headers={"X-Consul-Token": "root"}).status


def test_coordinates_show_the_nodes_the_token_may_read(deny_acl_agent: AgentProcess) -> None:
    agent = deny_acl_agent
    assert [] == get_json(agent, "/v1/coordinate/nodes")
    assert agent.get("/v1/coordinate/nodes").header("X-Consul-Results-Filtered-By-ACLs") is None
    secret, _ = make_token(agent, 'service_prefix "" { policy = "read" }')
    reply = agent.get("/v1/coordinate/nodes", headers={"X-Consul-Token": secret})
    assert (200, "[]", "true") == (
        reply.status,
        reply.text,
        reply.header("X-Consul-Results-Filtered-By-ACLs"),
    )
    reader, _ = make_token(agent, 'node "test-node" { policy = "read" }')
    nodes = get_json(agent, "/v1/coordinate/nodes", headers={"X-Consul-Token": reader})
    assert ["test-node"] == [node["Node"] for node in nodes]
    assert 200 == agent.get("/v1/status/leader").status  # status needs no token


# -- the collectors' request sequences ---------------------------------------------------------------


def register_checked(agent: AgentProcess, headers: dict[str, str] | None = None) -> None:
    body = {"Name": "web", "ID": "web-1", "Tags": ["env=prod", "primary"], "Check": {"TTL": "300s"}}
    assert 200 == agent.put("/v1/agent/service/register", body, headers=headers).status
    check = {"Name": "disk", "TTL": "300s", "Status": "warning"}
    assert 200 == agent.put("/v1/agent/check/register", check, headers=headers).status
    assert 200 == agent.put("/v1/agent/check/pass/service:web-1", headers=headers).status


NETDATA_CYCLE = ["/v1/agent/checks", "/v1/operator/autopilot/health", "/v1/coordinate/nodes"]
PROMETHEUS = "/v1/agent/metrics?format=prometheus"  # Muster's self has no Telemetry: Expiration is ""


def test_netdata_collects_checks_and_its_autopilot_values_every_cycle(agent: AgentProcess) -> None:
    register_checked(agent)
    netdata = Netdata(agent)
    cycles = [netdata.collect() for _ in range(3)]
    expected = ["/v1/agent/self"] + [*NETDATA_CYCLE, PROMETHEUS] * 3
    assert expected == [path for path, _ in netdata.requests]
    assert {200} == {status for _, status in netdata.requests}
    mx = cycles[-1]
    assert 1 == mx["health_check_service:web-1_passing_status"]
    assert 1 == mx["health_check_disk_warning_status"]
    expected_autopilot = {"sefStatus_alive": 1, "sefStatus_failed": 0, "healthy_yes": 1, "voter_yes": 1}
    assert expected_autopilot == {key: mx[f"autopilot_server_{key}"] for key in expected_autopilot}
    assert 0 <= mx["autopilot_server_stable_time"] < 600
    assert "autopilot_server_lastContact_leader" not in mx  # the leader has none
    assert "network_lan_rtt_count" not in mx  # no other node: no RTT, and no error


def test_netdata_keeps_collecting_while_the_store_fails(agent: AgentProcess) -> None:
    register_checked(agent)
    netdata = Netdata(agent)
    netdata.collect()
    with writes_fail(agent):
        assert 500 == agent.put("/v1/agent/service/register", {"Name": "other"}).status
        mx = netdata.collect()
    assert ("/v1/operator/autopilot/health", 429) in netdata.requests
    assert (0, 1) == (mx["autopilot_server_healthy_yes"], mx["autopilot_server_healthy_no"])
    assert 1 == mx["health_check_service:web-1_passing_status"]  # the cycle's other metrics survive


def test_netdata_with_an_acl_token_needs_operator_read(deny_acl_agent: AgentProcess) -> None:
    agent = deny_acl_agent
    register_checked(agent, {"X-Consul-Token": "root"})
    rules = 'agent_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }\n'
    rules += 'service_prefix "" { policy = "read" }\n'
    without, _ = make_token(agent, rules)
    with pytest.raises(CollectError, match="autopilot/health' returned HTTP status code: 403"):
        Netdata(agent, without).collect()
    with_operator, _ = make_token(agent, rules + 'operator = "read"')
    netdata = Netdata(agent, with_operator)
    mx = netdata.collect()
    assert (1, 1) == (mx["autopilot_server_healthy_yes"], mx["health_check_service:web-1_passing_status"])
    assert {200} == {status for _, status in netdata.requests}


def test_telegraf_reads_every_check_with_its_service_tags(agent: AgentProcess) -> None:
    register_checked(agent)
    points = telegraf_gather(agent, tag_delimiter="=")
    by_check = {point.tags["check_id"]: point for point in points}
    assert {"service:web-1", "disk", "serfHealth"} == set(by_check)  # the node's serfHealth too
    web = by_check["service:web-1"]
    expected_tags = {
        "check_name": "Service 'web' check",
        "service_id": "web-1",
        "status": "passing",
        "node": "test-node",
        "service_name": "web",
        "check_id": "service:web-1",
        "env": "prod",
        "primary": "primary",
    }
    assert expected_tags == web.tags
    assert {"passing": 1, "critical": 0, "warning": 0} == web.fields
    disk = by_check["disk"]
    assert ("", "", {"passing": 0, "critical": 0, "warning": 1}) == (
        disk.tags["service_id"], disk.tags["service_name"], disk.fields,
    )  # fmt: skip


def test_telegraf_with_a_datacenter_and_a_token(deny_acl_agent: AgentProcess) -> None:
    agent = deny_acl_agent
    register_checked(agent, {"X-Consul-Token": "root"})
    assert [] == telegraf_gather(agent, datacenter="dc1")  # anonymous reads nothing, and no error
    points = telegraf_gather(agent, token=ROOT, datacenter="dc1")
    assert {"service:web-1", "disk", "serfHealth"} == {point.tags["check_id"] for point in points}
    with pytest.raises(CollectError, match="400"):
        telegraf_gather(agent, token=ROOT, datacenter="nowhere")


def blocking_state(agent: AgentProcess, query: str, change: Any) -> tuple[Reply, float, float]:
    """A blocking /v1/health/state/any with `query`; `change` runs 0.5 s after the request went out.
    Returns the reply, when the change was made and when the reply came (monotonic)."""
    changed: list[float] = []

    def later() -> None:
        time.sleep(0.5)
        changed.append(time.monotonic())
        change()

    thread = threading.Thread(target=later)
    thread.start()
    reply = agent.get(f"/v1/health/state/any?{query}", timeout=40)
    answered = time.monotonic()
    thread.join()
    return reply, changed[0], answered


def statuses(reply: Reply) -> dict[str, str]:
    return {check["CheckID"]: check["Status"] for check in reply.json()}


@pytest.mark.parametrize(
    "style", ["consistent&index={index}", "stale&index={index}&wait=30s"], ids=["fabio", "traefik"]
)
def test_a_blocking_health_state_query_wakes_on_a_check_change(agent: AgentProcess, style: str) -> None:
    register_checked(agent)
    first = agent.get("/v1/health/state/any")
    index = int(first.header("X-Consul-Index") or 0)
    assert "passing" == statuses(first)["service:web-1"]

    def fail() -> None:
        assert 200 == agent.put("/v1/agent/check/fail/service:web-1").status

    reply, changed, answered = blocking_state(agent, style.format(index=index), fail)
    assert 200 == reply.status
    assert "critical" == statuses(reply)["service:web-1"]
    assert int(reply.header("X-Consul-Index") or 0) > index
    assert changed <= answered < changed + 5.0  # woken by the change, not by the wait


def test_the_documented_monitoring_policy_is_enough_for_both_collectors(deny_acl_agent: AgentProcess) -> None:
    agent = deny_acl_agent
    register_checked(agent, {"X-Consul-Token": "root"})
    document = Path(__file__).parents[2].joinpath("docs", "monitoring.md").read_text()
    policy = document.split("```hcl\n", 1)[1].split("```", 1)[0]
    secret, _ = make_token(agent, policy)
    mx = Netdata(agent, secret).collect()
    assert (1, 1) == (mx["autopilot_server_healthy_yes"], mx["health_check_disk_warning_status"])
    assert 3 == len(telegraf_gather(agent, token=secret))
