"""End-to-end: the single-node catalog and health views, with index-based blocking (spec §2.6, §4.2).

The agent is its own catalog (node `test-node`, a `consul` service, node-level `serfHealth`);
`?passing` drops critical, warning and maintenance instances; X-Consul-Index is never 0; a blocking
query returns promptly after a change and after its wait when nothing changes.
"""

from __future__ import annotations

import time

import pytest

from tests.agentproc import AgentProcess, Reply
from tests.e2e.targets import (
    TEXT,
    BlockedGet,
    agent_checks,
    error,
    put_ok,
    register_check,
    register_service,
    ttl,
)

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

INDEXED = [
    "/v1/catalog/services",
    "/v1/catalog/service/web",
    "/v1/catalog/nodes",
    "/v1/catalog/node/test-node",
    "/v1/health/service/web",
    "/v1/health/checks/web",
    "/v1/health/node/test-node",
    "/v1/health/state/any",
]


def index_of(reply: Reply) -> int:
    raw = reply.header("X-Consul-Index")
    assert raw is not None, f"no X-Consul-Index ({reply.status} {reply.text[:200]})"
    return int(raw)


def instances(agent: AgentProcess, query: str = "", name: str = "web") -> dict[str, list[str]]:
    """Service ID -> sorted check IDs of each instance in /v1/health/service/<name><query>."""
    reply = agent.get(f"/v1/health/service/{name}{query}")
    assert 200 == reply.status, reply.text
    return {e["Service"]["ID"]: sorted(c["CheckID"] for c in e["Checks"]) for e in reply.json()}


def four_web_instances(agent: AgentProcess) -> None:
    for i in (1, 2, 3, 4):
        register_service(
            agent, {"Name": "web", "ID": f"web-{i}", "Tags": [f"v{i}", "all"], "Check": {"TTL": "60s"}}
        )
    assert 200 == ttl(agent, "pass", "service:web-1").status  # passing
    # web-2 stays critical
    assert 200 == ttl(agent, "pass", "service:web-3").status
    put_ok(agent, "/v1/agent/service/maintenance/web-3?enable=true")  # passing check, in maintenance
    assert 200 == ttl(agent, "warn", "service:web-4").status  # warning


# -- catalog -----------------------------------------------------------------------------------


def test_fresh_catalog_has_own_node_consul_service_and_serf_health(agent: AgentProcess) -> None:
    assert {"consul": []} == agent.get("/v1/catalog/services").json()
    assert ["test-node"] == [n["Node"] for n in agent.get("/v1/catalog/nodes").json()]
    assert ["dc1"] == agent.get("/v1/catalog/datacenters").json()
    node_checks = agent.get("/v1/health/node/test-node").json()
    assert [("serfHealth", "Serf Health Status", "passing", "", "")] == [
        (c["CheckID"], c["Name"], c["Status"], c["ServiceID"], c["Node"] and "") for c in node_checks
    ]
    assert {} == agent_checks(agent)


def test_catalog_lists_registered_services_with_tags_and_forgets_deregistered(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "ID": "web-1", "Tags": ["b", "a"], "Port": 80})
    register_service(agent, {"Name": "web", "ID": "web-2", "Tags": ["c"], "Port": 81})
    register_service(agent, {"Name": "db", "Port": 5432})
    services = agent.get("/v1/catalog/services").json()
    assert {"consul": [], "db": [], "web": ["a", "b", "c"]} == {k: sorted(v) for k, v in services.items()}
    entries = agent.get("/v1/catalog/service/web").json()
    assert {("web-1", 80, "test-node"), ("web-2", 81, "test-node")} == {
        (e["ServiceID"], e["ServicePort"], e["Node"]) for e in entries
    }
    assert ["web-2"] == [e["ServiceID"] for e in agent.get("/v1/catalog/service/web?tag=c").json()]
    node = agent.get("/v1/catalog/node/test-node").json()
    assert ["consul", "db", "web-1", "web-2"] == sorted(node["Services"])

    put_ok(agent, "/v1/agent/service/deregister/web-1")
    assert ["web-2"] == [e["ServiceID"] for e in agent.get("/v1/catalog/service/web").json()]
    assert [] == agent.get("/v1/catalog/service/ghost").json()


@pytest.mark.parametrize("path", INDEXED)
def test_catalog_and_health_answers_carry_index_headers_never_zero(agent: AgentProcess, path: str) -> None:
    reply = agent.get(path)
    assert 200 == reply.status, reply.text
    assert index_of(reply) >= 1
    assert "true" == reply.header("X-Consul-KnownLeader")
    assert reply.header("X-Consul-LastContact") is not None
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s"}})
    assert index_of(agent.get(path)) >= index_of(reply)


def test_registering_raises_the_index(agent: AgentProcess) -> None:
    first = index_of(agent.get("/v1/health/service/web"))
    register_service(agent, {"Name": "web"})
    second = index_of(agent.get("/v1/health/service/web"))
    assert second > first


# -- health views --------------------------------------------------------------------------------


def test_health_service_passing_keeps_only_instances_whose_checks_all_pass(agent: AgentProcess) -> None:
    four_web_instances(agent)
    assert {
        "web-1": ["serfHealth", "service:web-1"],
        "web-2": ["serfHealth", "service:web-2"],
        "web-3": ["_service_maintenance:web-3", "serfHealth", "service:web-3"],
        "web-4": ["serfHealth", "service:web-4"],
    } == instances(agent)
    assert {"web-1": ["serfHealth", "service:web-1"]} == instances(agent, "?passing")
    assert {"web-1": ["serfHealth", "service:web-1"]} == instances(agent, "?passing=true")
    assert ["web-1", "web-2", "web-3", "web-4"] == sorted(instances(agent, "?passing=false"))


def test_node_maintenance_removes_every_instance_from_passing(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s", "Status": "passing"}})
    assert ["web"] == list(instances(agent, "?passing"))
    put_ok(agent, "/v1/agent/maintenance?enable=true")
    assert {} == instances(agent, "?passing")
    assert {"web": ["_node_maintenance", "serfHealth", "service:web"]} == instances(agent)
    put_ok(agent, "/v1/agent/maintenance?enable=false")
    assert ["web"] == list(instances(agent, "?passing"))


def test_health_service_tag_filter(agent: AgentProcess) -> None:
    four_web_instances(agent)
    assert ["web-2"] == sorted(instances(agent, "?tag=v2"))
    assert ["web-1", "web-2", "web-3", "web-4"] == sorted(instances(agent, "?tag=all"))
    assert ["web-1"] == sorted(instances(agent, "?tag=all&tag=v1"))
    assert ["web-1"] == sorted(instances(agent, "?tag=all&passing"))
    assert {} == instances(agent, "?tag=nope")


def test_health_service_includes_the_consul_service(agent: AgentProcess) -> None:
    assert ["consul"] == list(instances(agent, "", "consul"))
    assert {} == instances(agent, "", "ghost")


def test_health_checks_and_state_views(agent: AgentProcess) -> None:
    four_web_instances(agent)
    register_check(agent, {"Name": "node-ttl", "TTL": "60s", "Status": "warning"})

    def ids(path: str) -> list[str]:
        reply = agent.get(path)
        assert 200 == reply.status, reply.text
        return sorted(c["CheckID"] for c in reply.json())

    assert [
        "_service_maintenance:web-3",
        "service:web-1",
        "service:web-2",
        "service:web-3",
        "service:web-4",
    ] == ids("/v1/health/checks/web")
    assert ["_service_maintenance:web-3", "service:web-2"] == ids("/v1/health/state/critical")
    assert ["node-ttl", "service:web-4"] == ids("/v1/health/state/warning")
    assert ["serfHealth", "service:web-1", "service:web-3"] == ids("/v1/health/state/passing")
    everything = [
        "_service_maintenance:web-3",
        "node-ttl",
        "serfHealth",
        "service:web-1",
        "service:web-2",
        "service:web-3",
        "service:web-4",
    ]
    assert everything == ids("/v1/health/state/any")
    assert everything == ids("/v1/health/node/test-node")
    assert [] == ids("/v1/health/checks/ghost")


def test_serf_health_is_in_catalog_views_but_not_in_agent_checks(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    entry = agent.get("/v1/health/service/web").json()[0]
    serf = [c for c in entry["Checks"] if c["CheckID"] == "serfHealth"]
    assert [("Serf Health Status", "passing", "", "")] == [
        (c["Name"], c["Status"], c["ServiceID"], c["ServiceName"]) for c in serf
    ]
    assert {} == agent_checks(agent)


# -- blocking --------------------------------------------------------------------------------------


def test_blocking_health_query_returns_promptly_after_a_ttl_pass(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s"}})
    index = index_of(agent.get("/v1/health/service/web"))
    watcher = BlockedGet(agent, f"/v1/health/service/web?index={index}&wait=10s")
    time.sleep(0.5)
    assert watcher.is_alive(), "the query did not block"
    assert 200 == ttl(agent, "pass", "service:web", "up").status
    reply = watcher.result(15)
    assert 200 == reply.status
    assert watcher.elapsed < 5.0, f"returned {watcher.elapsed:.2f}s after the query was sent"
    assert index_of(reply) > index
    statuses = {c["CheckID"]: c["Status"] for c in reply.json()[0]["Checks"]}
    assert {"serfHealth": "passing", "service:web": "passing"} == statuses


def test_blocking_passing_query_wakes_when_an_instance_recovers(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s"}})
    first = agent.get("/v1/health/service/web?passing")
    assert [] == first.json()
    watcher = BlockedGet(agent, f"/v1/health/service/web?passing&index={index_of(first)}&wait=10s")
    time.sleep(0.5)
    assert 200 == ttl(agent, "pass", "service:web").status
    reply = watcher.result(15)
    assert (200, ["web"]) == (reply.status, [e["Service"]["ID"] for e in reply.json()])
    assert watcher.elapsed < 5.0


def test_blocking_catalog_query_wakes_on_a_new_service(agent: AgentProcess) -> None:
    index = index_of(agent.get("/v1/catalog/services"))
    watcher = BlockedGet(agent, f"/v1/catalog/services?index={index}&wait=10s")
    time.sleep(0.5)
    register_service(agent, {"Name": "late", "Tags": ["x"]})
    reply = watcher.result(15)
    assert (200, {"consul": [], "late": ["x"]}) == (reply.status, reply.json())
    assert watcher.elapsed < 5.0
    assert index_of(reply) > index


def test_blocking_query_returns_after_the_wait_when_nothing_changes(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s"}})
    first = agent.get("/v1/health/service/web")
    index = index_of(first)
    watcher = BlockedGet(agent, f"/v1/health/service/web?index={index}&wait=1s")
    reply = watcher.result(15)
    assert (200, index, first.json()) == (reply.status, index_of(reply), reply.json())
    assert 1.0 <= watcher.elapsed < 1.0 + 1.0 / 16 + 1.5, f"{watcher.elapsed:.2f}s"


def test_index_zero_or_older_index_returns_at_once(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    index = index_of(agent.get("/v1/health/service/web"))
    for query in ["?index=0&wait=10s", f"?index={index - 1}&wait=10s", "?wait=10s"]:
        started = time.monotonic()
        reply = agent.get("/v1/health/service/web" + query, timeout=15)
        assert (200, True) == (reply.status, time.monotonic() - started < 2.0), query


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?index=abc", "Invalid index"),
        ("?index=-1", "Invalid index"),
        ("?index=1&wait=abc", "Invalid wait time"),
        ("?index=1&wait=10", "Invalid wait time"),
        ("?wait=1d", "Invalid wait time"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/health/service/web", "/v1/catalog/services", "/v1/health/state/any"])
def test_invalid_index_or_wait_is_400(agent: AgentProcess, path: str, query: str, expected: str) -> None:
    reply = agent.get(path + query, timeout=5)
    assert ((400, expected), TEXT) == (error(reply), reply.header("Content-Type"))


def test_agent_endpoints_do_not_block_or_carry_an_index(agent: AgentProcess) -> None:
    for path in ["/v1/agent/checks", "/v1/agent/services"]:
        started = time.monotonic()
        reply = agent.get(path + "?index=1&wait=5s", timeout=10)
        assert (200, None, True) == (
            reply.status,
            reply.header("X-Consul-Index"),
            time.monotonic() - started < 2.0,
        )


def test_cached_health_answers_follow_output_only_changes_and_each_query(agent: AgentProcess) -> None:
    body = {"Name": "out", "ID": "out1", "Tags": ["a"], "Check": {"TTL": "300s", "Status": "passing"}}
    assert agent.put("/v1/agent/service/register", body).status == 200
    assert agent.put("/v1/agent/check/pass/service:out1?note=first").status == 200
    first = agent.get("/v1/health/service/out")
    assert first.json()[0]["Checks"][-1]["Output"] == "first"
    assert agent.get("/v1/health/service/out").body == first.body  # served again from cache
    assert agent.put("/v1/agent/check/pass/service:out1?note=second").status == 200
    second = agent.get("/v1/health/service/out")
    assert second.json()[0]["Checks"][-1]["Output"] == "second"
    assert second.header("X-Consul-Index") == first.header("X-Consul-Index")  # output-only: no wake-up
    assert agent.get("/v1/health/service/out?tag=a").json() != []
    assert agent.get("/v1/health/service/out?tag=b").json() == []
    assert agent.get("/v1/health/service/out?tag=a&tag=b").json() == []
    assert agent.get("/v1/health/service/out?ns=other").json() == []


def test_a_repeated_parameter_in_another_order_is_another_answer(agent: AgentProcess) -> None:
    for port in (1, 2):
        body = {"Name": "web", "ID": f"w{port}", "Port": port}
        assert 200 == agent.put("/v1/agent/service/register", body).status
    one, two = "filter=Service.Port==1", "filter=Service.Port==2"

    first = agent.get(f"/v1/health/service/web?{one}&{two}").json()
    swapped = agent.get(f"/v1/health/service/web?{two}&{one}").json()  # the first value is the one read

    assert (["w1"], ["w2"]) == ([e["Service"]["ID"] for e in first], [e["Service"]["ID"] for e in swapped])
