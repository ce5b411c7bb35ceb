"""End-to-end: /v1/agent/self, /members, /version and /v1/status/* (spec §2.14, README decisions 6, 9)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from tests.agentproc import AgentProcess

# As in the other e2e modules: a stray pipe ResourceWarning at garbage collection must not fail a test.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")


def get_json(agent: AgentProcess, path: str) -> Any:
    reply = agent.get(path)
    assert 200 == reply.status, f"{path}: {reply.status} {reply.text}"
    assert "application/json" == reply.header("Content-Type")
    return reply.json()


def test_self_top_level_keys_in_order(agent: AgentProcess) -> None:
    assert ["Config", "DebugConfig", "Coord", "Member", "Stats", "Meta", "xDS"] == list(
        get_json(agent, "/v1/agent/self")
    )


def test_self_config_reports_api_version_and_muster_version(agent: AgentProcess) -> None:
    config = get_json(agent, "/v1/agent/self")["Config"]
    assert "1.21.0" == config["Version"]
    assert isinstance(config["MusterVersion"], str)
    assert config["MusterVersion"]
    expected_order = [
        "Datacenter",
        "PrimaryDatacenter",
        "NodeName",
        "NodeID",
        "Revision",
        "Server",
        "Version",
        "BuildDate",
    ]
    assert expected_order == [key for key in config if key in expected_order]
    assert ("dc1", "test-node") == (config["Datacenter"], config["NodeName"])
    assert isinstance(config["Server"], bool)
    assert "Partition" not in config
    datetime.fromisoformat(config["BuildDate"].replace("Z", "+00:00"))


def test_self_config_follows_flags(make_agent: type[AgentProcess]) -> None:
    agent = make_agent("-node", "other-node", "-datacenter", "west").start()
    document = get_json(agent, "/v1/agent/self")
    assert ("west", "other-node") == (document["Config"]["Datacenter"], document["Config"]["NodeName"])
    assert "other-node" == document["Member"]["Name"]


def test_node_id_is_stable_across_restarts(agent: AgentProcess) -> None:
    first = get_json(agent, "/v1/agent/self")["Config"]["NodeID"]
    agent.kill9()
    agent.start()
    assert first == get_json(agent, "/v1/agent/self")["Config"]["NodeID"]


def test_self_coord_is_a_fresh_coordinate(agent: AgentProcess) -> None:
    body = agent.get("/v1/agent/self").body
    assert b'"Coord":{"Vec":[0,0,0,0,0,0,0,0],"Error":1.5,"Adjustment":0,"Height":0.00001}' in body


def test_self_member_deep_equals_the_members_entry(agent: AgentProcess) -> None:
    member = get_json(agent, "/v1/agent/self")["Member"]
    members = get_json(agent, "/v1/agent/members")
    assert member in members
    same = [m for m in members if m["Name"] == member["Name"]]
    assert [member] == same
    assert list(member) == list(same[0])  # same key order too
    expected_keys = [
        "Name", "Addr", "Port", "Tags", "Status", "ProtocolMin", "ProtocolMax", "ProtocolCur",
        "DelegateMin", "DelegateMax", "DelegateCur",
    ]  # fmt: skip
    assert expected_keys == list(member)
    assert ("test-node", 1) == (member["Name"], member["Status"])


def test_self_member_bytes_equal_members_bytes(agent: AgentProcess) -> None:
    self_body = agent.get("/v1/agent/self").body
    members_body = agent.get("/v1/agent/members").body
    member = json.dumps(json.loads(self_body)["Member"], separators=(",", ":")).encode()
    assert members_body.startswith(b"[")
    assert member in members_body


def test_stats_leader_matches_status_endpoints(agent: AgentProcess) -> None:
    stats = get_json(agent, "/v1/agent/self")["Stats"]
    leader = get_json(agent, "/v1/status/leader")
    peers = get_json(agent, "/v1/status/peers")
    assert stats["consul"]["leader_addr"] == leader
    assert leader in peers
    assert isinstance(leader, str)
    assert leader


def test_status_leader_is_a_bare_json_string(agent: AgentProcess) -> None:
    body = agent.get("/v1/status/leader").body
    assert body.startswith(b'"')
    assert body.endswith(b'"')


def test_stats_maps_hold_strings_and_count_services(agent: AgentProcess) -> None:
    for name in ("a", "b", "c"):
        assert 200 == agent.put("/v1/agent/service/register", {"Name": name}).status
    stats = get_json(agent, "/v1/agent/self")["Stats"]
    assert {"agent", "build", "runtime", "consul"} <= set(stats)
    assert all(isinstance(v, str) for section in stats.values() for v in section.values())
    assert "3" == stats["agent"]["services"]
    assert stats["consul"]["server"] in ("true", "false")


def test_self_meta_has_segment_and_version(agent: AgentProcess) -> None:
    meta = get_json(agent, "/v1/agent/self")["Meta"]
    assert "" == meta["consul-network-segment"]
    assert "1.21.0" == meta["consul-version"]


def test_self_xds_shape(agent: AgentProcess) -> None:
    xds = get_json(agent, "/v1/agent/self")["xDS"]
    assert ["SupportedProxies", "Port", "Ports"] == list(xds)
    assert ["Plaintext", "TLS"] == list(xds["Ports"])


def test_dev_agent_self_has_same_key_set(make_agent: type[AgentProcess]) -> None:
    agent = make_agent(dev=True).start()
    document = get_json(agent, "/v1/agent/self")
    assert {"Member", "xDS", "Stats", "Config", "Coord", "DebugConfig", "Meta"} == set(document)


def test_version_shape(agent: AgentProcess) -> None:
    version = get_json(agent, "/v1/agent/version")
    assert ["SHA", "BuildDate", "HumanVersion", "FIPS"] == list(version)
    assert all(isinstance(value, str) for value in version.values())
    assert version["HumanVersion"].startswith("1.21.0")


@pytest.mark.parametrize("path", ["/v1/status/leader", "/v1/status/peers"])
def test_stale_with_consistent_is_400(agent: AgentProcess, path: str) -> None:
    reply = agent.get(path + "?stale&consistent")
    expected = (400, "Cannot specify ?stale with ?consistent, conflicting semantics.")
    assert expected == (reply.status, reply.text)
    assert "text/plain; charset=utf-8" == reply.header("Content-Type")


@pytest.mark.parametrize(
    ("query", "text"),
    [("?wait=forever", "Invalid wait time"), ("?index=-3", "Invalid index"), ("?index=x", "Invalid index")],
)
def test_status_rejects_bad_wait_and_index(agent: AgentProcess, query: str, text: str) -> None:
    reply = agent.get("/v1/status/leader" + query)
    assert (400, text) == (reply.status, reply.text)


@pytest.mark.parametrize("query", ["?stale", "?consistent", "?dc=dc1", "?wait=1s&index=1"])
def test_status_accepts_single_consistency_flags(agent: AgentProcess, query: str) -> None:
    assert get_json(agent, "/v1/status/leader") == get_json(agent, "/v1/status/leader" + query)


@pytest.mark.parametrize("path", ["/v1/status/leader", "/v1/status/peers"])
def test_head_on_status_endpoints_has_no_body(agent: AgentProcess, path: str) -> None:
    reply = agent.request("HEAD", path)
    assert (200, b"") == (reply.status, reply.body)


def test_members_segment_with_wan_is_400(agent: AgentProcess) -> None:
    reply = agent.get("/v1/agent/members?wan=1&segment=x")
    assert (400, "Cannot provide a segment with wan=true") == (reply.status, reply.text)


def test_reload_is_an_empty_200(agent: AgentProcess) -> None:
    reply = agent.put("/v1/agent/reload")
    assert (200, b"") == (reply.status, reply.body)
