"""Every parameter of the catalog and health reads honoured, or refused with a 400 naming it (spec
consul-reads §2, §5): filter and node-meta on /v1/catalog/services, node-meta and near elsewhere,
repeated case-insensitive tags, ?cached with X-Cache and Age, Cache-Control, max_stale, the
effective-consistency header, and /v1/catalog/node-services/:node."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess, Reply, q
from tests.e2e.test_fleet import Fleet, wait_for
from tests.etcdcluster import EtcdCluster

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

READS = [
    "/v1/catalog/nodes",
    "/v1/catalog/services",
    "/v1/catalog/service/web",
    "/v1/catalog/node/rack-node",
    "/v1/catalog/node-services/rack-node",
    "/v1/health/service/web",
    "/v1/health/checks/web",
    "/v1/health/node/rack-node",
    "/v1/health/state/any",
]


@pytest.fixture(scope="module")
def agent() -> Iterator[AgentProcess]:
    proc = AgentProcess("-node", "rack-node", "-node-meta", "rack:r1", "-node-meta", "env:prod").start()
    for sid, tags in (("web-1", ["a", "Blue"]), ("web-2", ["b"]), ("db-1", ["c"])):
        body = {"Name": sid.split("-")[0], "ID": sid, "Port": 80, "Tags": tags, "Check": {"TTL": "300s"}}
        assert 200 == proc.put("/v1/agent/service/register", body).status
    assert 200 == proc.put("/v1/agent/check/pass/service:web-1").status
    yield proc
    proc.close()


def ok(reply: Reply) -> Reply:
    assert 200 == reply.status, reply.text
    return reply


def test_a_filter_on_catalog_services_keeps_matching_instances_and_their_tags(agent: AgentProcess) -> None:
    reply = ok(agent.get("/v1/catalog/services?filter=" + q('ServiceTags contains "a"')))
    assert {"web": ["Blue", "a"]} == reply.json()
    reply = ok(agent.get("/v1/catalog/services?filter=" + q('ServiceName == "db"')))
    assert {"db": ["c"]} == reply.json()
    unfiltered = ok(agent.get("/v1/catalog/services")).json()
    assert {"consul": [], "db": ["c"], "web": ["Blue", "a", "b"]} == unfiltered


def test_a_bad_filter_on_catalog_services_is_a_400(agent: AgentProcess) -> None:
    reply = agent.get("/v1/catalog/services?filter=" + q("Nope == 1"))
    assert 400 == reply.status
    assert "Nope" in reply.text


@pytest.mark.parametrize("path", ["/v1/catalog/services", "/v1/catalog/nodes", "/v1/catalog/service/web"])
def test_node_meta_keeps_only_nodes_with_every_pair(agent: AgentProcess, path: str) -> None:
    everything = ok(agent.get(path)).json()
    assert everything
    assert everything == ok(agent.get(f"{path}?node-meta=rack:r1&node-meta=env:prod")).json()
    empty = ok(agent.get(f"{path}?node-meta=rack:r1&node-meta=env:dev")).json()
    assert empty in ({}, [])
    assert empty == ok(agent.get(f"{path}?node-meta=")).json()  # an empty key with an empty value


@pytest.mark.parametrize("path", ["/v1/health/service/web", "/v1/health/checks/web", "/v1/health/state/any"])
def test_node_meta_on_the_health_reads(agent: AgentProcess, path: str) -> None:
    assert ok(agent.get(f"{path}?node-meta=rack:r1")).json()
    assert [] == ok(agent.get(f"{path}?node-meta=rack:r2")).json()


def test_repeated_tags_must_all_match_in_any_case(agent: AgentProcess) -> None:
    def ids(query: str) -> list[str]:
        return sorted(e["ServiceID"] for e in ok(agent.get(f"/v1/catalog/service/web{query}")).json())

    assert ["web-1"] == ids("?tag=blue")
    assert ["web-1"] == ids("?tag=A&tag=BLUE")
    assert [] == ids("?tag=a&tag=b")
    health = ok(agent.get("/v1/health/service/web?tag=BLUE&tag=a")).json()
    assert ["web-1"] == [e["Service"]["ID"] for e in health]


@pytest.mark.parametrize("name", ["peer", "sameness-group", "merge-central-config"])
@pytest.mark.parametrize(
    "path", ["/v1/catalog/service/web", "/v1/health/service/web", "/v1/catalog/services"]
)
def test_parameters_muster_cannot_honour_are_refused_by_name(
    agent: AgentProcess, path: str, name: str
) -> None:
    reply = agent.get(f"{path}?{name}=x")
    assert (400, True) == (reply.status, f'Invalid query parameter: "{name}"' in reply.text), reply.text


@pytest.mark.parametrize(
    "path", ["/v1/catalog/services", "/v1/catalog/service/web", "/v1/health/service/web"]
)
def test_cached_reads_report_x_cache_and_age(agent: AgentProcess, path: str) -> None:
    first = ok(agent.get(f"{path}?cached&unknown={len(path)}"))
    assert "MISS" == first.header("X-Cache")
    assert first.header("Age") is None
    second = ok(agent.get(f"{path}?cached&unknown={len(path)}"))
    assert ("HIT", "0") == (second.header("X-Cache"), second.header("Age"))
    assert first.body == second.body
    assert ok(agent.get(path)).header("X-Cache") is None  # only when asked for


def test_cached_is_not_reported_where_consul_does_not_cache(agent: AgentProcess) -> None:
    assert ok(agent.get("/v1/catalog/nodes?cached")).header("X-Cache") is None
    assert ok(agent.get("/v1/health/state/any?cached")).header("X-Cache") is None
    reply = ok(agent.get("/v1/catalog/datacenters?cached"))
    assert ("HIT", "0") == (reply.header("X-Cache"), reply.header("Age"))


@pytest.mark.parametrize("path", [*READS, "/v1/catalog/datacenters"])
def test_a_cache_control_value_that_is_not_a_number_is_a_400(agent: AgentProcess, path: str) -> None:
    reply = agent.get(path, headers={"Cache-Control": "max-age=abc"})
    assert (400, "Invalid Cache-Control header.") == (reply.status, reply.text)
    assert 200 == agent.get(path, headers={"Cache-Control": "no-cache, max-age=10"}).status


@pytest.mark.parametrize("path", READS)
def test_consistency_options_and_their_header(agent: AgentProcess, path: str) -> None:
    assert "leader" == ok(agent.get(path)).header("X-Consul-Effective-Consistency")
    assert "stale" == ok(agent.get(f"{path}?stale")).header("X-Consul-Effective-Consistency")
    assert "stale" == ok(agent.get(f"{path}?max_stale=5s")).header("X-Consul-Effective-Consistency")
    assert "consistent" == ok(agent.get(f"{path}?consistent")).header("X-Consul-Effective-Consistency")
    bad = agent.get(f"{path}?max_stale=abc")
    assert (400, 'Invalid max_stale value "abc"') == (bad.status, bad.text)
    both = agent.get(f"{path}?max_stale=5s&consistent")
    assert (400, "Cannot specify ?stale with ?consistent, conflicting semantics.") == (both.status, both.text)


def test_node_services_lists_the_nodes_services_and_null_for_an_unknown_node(agent: AgentProcess) -> None:
    reply = ok(agent.get("/v1/catalog/node-services/rack-node"))
    body = reply.json()
    assert "rack-node" == body["Node"]["Node"]
    assert {"consul", "web-1", "web-2", "db-1"} == {s["ID"] for s in body["Services"]}
    filtered = ok(agent.get("/v1/catalog/node-services/rack-node?filter=" + q('Service == "web"'))).json()
    assert {"web-1", "web-2"} == {s["ID"] for s in filtered["Services"]}
    assert {"Node": None, "Services": None} == ok(agent.get("/v1/catalog/node-services/nope")).json()
    missing = agent.get("/v1/catalog/node-services/")
    assert (400, "Missing node name") == (missing.status, missing.text)


def test_a_filter_on_catalog_node_applies_to_its_services(agent: AgentProcess) -> None:
    body = ok(agent.get("/v1/catalog/node/rack-node?filter=" + q('Service == "db"'))).json()
    assert ["db-1"] == list(body["Services"])


def test_near_is_accepted_on_one_node(agent: AgentProcess) -> None:
    plain = ok(agent.get("/v1/health/service/web")).json()
    assert plain == ok(agent.get("/v1/health/service/web?near=_agent")).json()
    assert plain == ok(agent.get("/v1/health/service/web?near=unknown-node")).json()


@pytest.fixture(scope="module")
def cluster() -> Iterator[EtcdCluster]:
    etcd = EtcdCluster(1).start()
    yield etcd
    etcd.close()


def test_near_puts_the_named_nodes_entries_first_on_the_fleet(cluster: EtcdCluster, tmp_path: Path) -> None:
    fleet = Fleet(cluster, tmp_path)
    fleet.start("a", "b", "c")
    try:
        for name in ("a", "b", "c"):
            body = {"Name": "web", "ID": f"web-{name}", "Port": 80}
            assert 200 == fleet[name].put("/v1/agent/service/register", body).status

        def nodes(agent: AgentProcess, query: str) -> list[str]:
            return [e["Node"] for e in ok(agent.get(f"/v1/catalog/service/web{query}")).json()]

        wait_for(lambda: len(nodes(fleet["b"], "")) == 3, 10, "three instances")
        assert ["a", "b", "c"] == nodes(fleet["b"], "")
        assert ["b", "a", "c"] == nodes(fleet["b"], "?near=_agent")
        assert ["c", "a", "b"] == nodes(fleet["b"], "?near=c")
        assert ["c", "a", "b"] == [n["Node"] for n in ok(fleet["a"].get("/v1/catalog/nodes?near=c")).json()]
        health = ok(fleet["a"].get("/v1/health/service/web?near=_agent")).json()
        assert ["a", "b", "c"] == [e["Node"]["Node"] for e in health]
        filtered = ok(fleet["a"].get("/v1/catalog/services?filter=" + q('Node == "b"'))).json()
        assert {"consul": [], "web": []} == filtered  # every agent's node carries a `consul` instance
    finally:
        fleet.close()
