"""`/v1/catalog/register` and `/deregister` on the single-agent catalog (issue 15): external nodes,
services and checks kept in the embedded store, answered by every catalog, health and DNS read as the
etcd catalog answers them, moving only the indexes of what they touch, surviving kill -9, refused
without the ACL rights, and a damaged stored row quarantined at start-up."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import dns.rcode
import pytest

from tests.agentproc import AgentProcess, Reply
from tests.e2e.targets import BlockedGet
from tests.e2e.test_dns import addresses, query
from tests.e2e.test_fleet import BAD_REGISTRATIONS
from tests.e2e.test_stored_rows import damage, quarantined

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

REGISTER, DEREGISTER = "/v1/catalog/register", "/v1/catalog/deregister"
DB = {
    "Node": "db-appliance",
    "Address": "10.0.0.9",
    "NodeMeta": {"rack": "r1"},
    "Service": {"Service": "db", "ID": "db-1", "Port": 5432, "Tags": ["primary"]},
    "Checks": [
        {"CheckID": "db-alive", "ServiceID": "db-1", "Status": "passing", "Output": "accepting"},
        {"CheckID": "power", "Name": "Power supply", "Status": "passing"},
    ],
}


def ok(agent: AgentProcess, path: str, body: Any, headers: dict[str, str] | None = None) -> None:
    reply = agent.put(path, body, headers=headers)
    assert (200, "true") == (reply.status, reply.text)


def index_of(reply: Reply) -> int:
    raw = reply.header("X-Consul-Index")
    assert raw is not None, reply.text
    return int(raw)


def checks_of(agent: AgentProcess, path: str) -> list[tuple[str, str, str, str]]:
    reply = agent.get(path)
    assert 200 == reply.status, reply.text
    return [(c["Node"], c["CheckID"], c["ServiceName"], c["Status"]) for c in reply.json()]


def db_instances(agent: AgentProcess, query: str = "") -> list[tuple[str, str, list[str]]]:
    reply = agent.get(f"/v1/health/service/db{query}")
    assert 200 == reply.status, reply.text
    return [
        (e["Node"]["Node"], e["Service"]["ID"], [c["CheckID"] for c in e["Checks"]]) for e in reply.json()
    ]


def test_an_external_node_is_answered_by_every_catalog_and_health_read(agent: AgentProcess) -> None:
    ok(agent, REGISTER, DB)

    nodes = agent.get("/v1/catalog/nodes").json()
    assert ["db-appliance", "test-node"] == [n["Node"] for n in nodes]
    assert ("10.0.0.9", {"rack": "r1"}) == (nodes[0]["Address"], nodes[0]["Meta"])
    assert {"consul": [], "db": ["primary"]} == agent.get("/v1/catalog/services").json()
    (entry,) = agent.get("/v1/catalog/service/db").json()
    expected = ("db-appliance", "10.0.0.9", "db-1", 5432, ["primary"], {"rack": "r1"})
    found = tuple(
        entry[k] for k in ("Node", "Address", "ServiceID", "ServicePort", "ServiceTags", "NodeMeta")
    )
    assert expected == found
    node = agent.get("/v1/catalog/node/db-appliance").json()
    assert ("10.0.0.9", ["db-1"]) == (node["Node"]["Address"], list(node["Services"]))
    # no serfHealth: nothing runs there; the node check first, then the instance's own
    assert [("db-appliance", "db-1", ["power", "db-alive"])] == db_instances(agent)
    (health,) = agent.get("/v1/health/service/db").json()
    assert ["Power supply", "accepting"] == [health["Checks"][0]["Name"], health["Checks"][1]["Output"]]
    assert [("db-appliance", "db-alive", "db", "passing")] == checks_of(agent, "/v1/health/checks/db")
    on_node = [("db-appliance", "power", "", "passing"), ("db-appliance", "db-alive", "db", "passing")]
    assert on_node == checks_of(agent, "/v1/health/node/db-appliance")
    assert ("test-node", "serfHealth", "", "passing") in checks_of(agent, "/v1/health/state/passing")
    assert set(on_node) <= set(checks_of(agent, "/v1/health/state/any"))
    assert "null" == agent.get("/v1/catalog/node/nowhere").text


def test_updates_and_deregistrations_by_check_service_and_node(agent: AgentProcess) -> None:
    ok(agent, REGISTER, DB)
    failing = {"Node": "db-appliance", "Address": "10.9.9.9", "SkipNodeUpdate": True}
    ok(
        agent,
        REGISTER,
        failing | {"Check": {"CheckID": "db-alive", "ServiceID": "db-1", "Status": "critical"}},
    )
    assert [] == db_instances(agent, "?passing")
    assert "10.0.0.9" == agent.get("/v1/catalog/node/db-appliance").json()["Node"]["Address"]  # skipped
    moved = {"Node": "db-appliance", "Address": "10.0.0.10", "NodeMeta": {"rack": "r2"}}
    ok(agent, REGISTER, moved | {"Service": {"Service": "db", "ID": "db-2", "Port": 5433}})
    node = agent.get("/v1/catalog/node/db-appliance").json()
    assert ("10.0.0.10", {"rack": "r2"}, ["db-1", "db-2"]) == (
        node["Node"]["Address"],
        node["Node"]["Meta"],
        sorted(node["Services"]),
    )
    assert ["db-1"] == [
        e["ServiceID"] for e in agent.get("/v1/catalog/service/db").json() if e["ServiceTags"]
    ]

    ok(agent, DEREGISTER, {"Node": "db-appliance", "CheckID": "db-alive"})
    assert [("db-appliance", "db-1", ["power"]), ("db-appliance", "db-2", ["power"])] == db_instances(agent)
    ok(agent, DEREGISTER, {"Node": "db-appliance", "ServiceID": "db-1", "CheckID": "power"})
    assert [("db-appliance", "db-2", ["power"])] == db_instances(agent)  # a service ID wins, as Consul's
    ok(agent, DEREGISTER, {"Node": "db-appliance"})
    assert ([], "null") == (db_instances(agent), agent.get("/v1/catalog/node/db-appliance").text)
    assert ["test-node"] == [n["Node"] for n in agent.get("/v1/catalog/nodes").json()]
    ok(agent, DEREGISTER, {"Node": "db-appliance"})  # gone already: still true, as Consul's


def test_dns_answers_a_healthy_external_service_and_drops_it_when_critical(agent: AgentProcess) -> None:
    body = {"Node": "cache-box", "Address": "10.0.7.1", "Service": {"Service": "cache", "Port": 6379}}
    ok(agent, REGISTER, body | {"Check": {"CheckID": "cache-up", "ServiceID": "cache", "Status": "passing"}})

    reply = query(agent, "cache.service.consul")
    assert (dns.rcode.NOERROR, {"10.0.7.1"}) == (reply.rcode(), addresses(reply))
    assert {"10.0.7.1"} == addresses(query(agent, "cache-box.node.consul"))

    ok(agent, REGISTER, body | {"Check": {"CheckID": "cache-up", "ServiceID": "cache", "Status": "critical"}})
    assert dns.rcode.NXDOMAIN == query(agent, "cache.service.consul").rcode()


def without_indexes(reply: Reply) -> list[dict[str, Any]]:
    return [{key: value for key, value in e.items() if not key.endswith("Index")} for e in reply.json()]


def test_external_entries_survive_kill9_and_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = AgentProcess(data_dir=data).start()
    try:
        ok(first, REGISTER, DB)
        ok(first, REGISTER, {"Node": "bare", "Address": "10.0.0.2"})
        ok(first, DEREGISTER, {"Node": "db-appliance", "CheckID": "power"})
        before = (
            checks_of(first, "/v1/health/state/any"),
            without_indexes(first.get("/v1/catalog/service/db")),
        )
        first.kill9()
        second = AgentProcess(data_dir=data).start()
        try:
            after = (
                checks_of(second, "/v1/health/state/any"),
                without_indexes(second.get("/v1/catalog/service/db")),
            )
            assert before == after
            nodes = [n["Node"] for n in second.get("/v1/catalog/nodes").json()]
            assert ["bare", "db-appliance", "test-node"] == nodes
        finally:
            second.close()
    finally:
        first.close()


def test_dev_mode_keeps_external_entries_in_memory() -> None:
    agent = AgentProcess(dev=True).start()
    try:
        ok(agent, REGISTER, DB)
        assert [("db-appliance", "db-1", ["power", "db-alive"])] == db_instances(agent)
    finally:
        agent.close()


def blocked_db(agent: AgentProcess, index: int, seconds: int = 20) -> BlockedGet:
    watcher = BlockedGet(agent, f"/v1/health/service/db?index={index}&wait={seconds}s")
    time.sleep(0.3)
    return watcher


def woken(watcher: BlockedGet) -> Reply:
    reply = watcher.result(30)
    assert watcher.elapsed < 10, f"woke after {watcher.elapsed:.2f}s"
    return reply


def test_a_blocking_query_on_db_wakes_for_an_external_db_and_not_for_web(agent: AgentProcess) -> None:
    ok(agent, REGISTER, DB)
    first = agent.get("/v1/health/service/db")
    watcher = blocked_db(agent, index_of(first), seconds=3)
    ok(agent, REGISTER, {"Node": "web-box", "Address": "10.0.1.1", "Service": {"Service": "web"}})
    unwoken = watcher.result(15)
    assert watcher.elapsed >= 3.0, f"woke after {watcher.elapsed:.2f}s for an external web"
    assert (200, index_of(first), first.json()) == (unwoken.status, index_of(unwoken), unwoken.json())

    watcher = blocked_db(agent, index_of(first))
    warning = {"CheckID": "db-alive", "ServiceID": "db-1", "Status": "warning"}
    ok(agent, REGISTER, DB | {"Check": warning})  # `Check` goes after `Checks`, as Consul's: it wins
    changed = woken(watcher)
    assert index_of(changed) > index_of(agent.get("/v1/catalog/service/web"))
    (entry,) = changed.json()
    assert ["passing", "warning"] == [c["Status"] for c in entry["Checks"]]

    # a node check bears on every service of its node: db moves, the instance's own ModifyIndex does not
    watcher = blocked_db(agent, index_of(changed))
    node = {key: DB[key] for key in ("Node", "Address", "NodeMeta")}
    ok(agent, REGISTER, node | {"Check": {"CheckID": "power", "Status": "critical"}})
    again = woken(watcher)
    (entry,) = again.json()
    power = next(c for c in entry["Checks"] if c["CheckID"] == "power")
    assert entry["Service"]["ModifyIndex"] < index_of(again) == power["ModifyIndex"]

    # the last db leaving wakes it with an empty answer and a higher index
    watcher = blocked_db(agent, index_of(again))
    ok(agent, DEREGISTER, {"Node": "db-appliance", "ServiceID": "db-1"})
    gone = woken(watcher)
    assert ([], True) == (gone.json(), index_of(gone) > index_of(again))


def test_an_unchanged_external_registration_moves_no_index(agent: AgentProcess) -> None:
    ok(agent, REGISTER, DB)
    first = agent.get("/v1/health/service/db")
    ok(agent, REGISTER, DB)
    again = agent.get("/v1/health/service/db")
    assert (index_of(first), first.json()) == (index_of(again), again.json())


def test_bad_input_is_a_400_naming_the_field(agent: AgentProcess) -> None:
    cases = [
        *BAD_REGISTRATIONS,
        ({"Node": "x", "Address": "1", "Service": {"Service": "s", "Port": 70000}}, "Invalid Service.Port"),
        ({"Node": "x", "Address": "1", "Check": {"Status": "passing"}}, "Must provide a CheckID or Name"),
        ({"Node": "x", "Address": "1", "Check": {"CheckID": "c", "Status": "bad"}}, "Invalid check status"),
        ({"Node": "x", "Address": "1", "Check": {"CheckID": "c", "ServiceID": "nope"}}, "Unknown service ID"),
        ({"Node": "x", "Address": "1", "Checks": {"CheckID": "c"}}, "Checks must be a list"),
        ({"Node": "test-node", "Address": "10.0.0.1"}, "managed by its agent"),
        ({"Node": "TEST-NODE", "Address": "10.0.0.1"}, "managed by its agent"),
    ]
    for body, text in cases:
        reply = agent.put(REGISTER, body)
        assert (400, True) == (reply.status, text in reply.text), (body, reply.text)
    assert 400 == agent.put(REGISTER, b"{not json").status
    assert (400, "Must provide node") == (lambda r: (r.status, r.text))(agent.put(DEREGISTER, {}))
    assert 400 == agent.put(DEREGISTER, {"Node": "test-node"}).status
    assert ["test-node"] == [n["Node"] for n in agent.get("/v1/catalog/nodes").json()]  # nothing half-done


def test_acls_need_node_write_and_service_write(deny_acl_agent: AgentProcess) -> None:
    agent, root = deny_acl_agent, {"X-Consul-Token": "root"}

    def token(rules: str) -> dict[str, str]:
        policy = agent.put(
            "/v1/acl/policy", {"Name": f"p{time.monotonic_ns()}", "Rules": rules}, headers=root
        )
        assert 200 == policy.status, policy.text
        made = agent.put("/v1/acl/token", {"Policies": [{"ID": policy.json()["ID"]}]}, headers=root)
        return {"X-Consul-Token": made.json()["SecretID"]}

    node_only = token('node "db-appliance" { policy = "write" }')
    both = token('node "db-appliance" { policy = "write" }\nservice "db" { policy = "write" }')
    bare = {"Node": "db-appliance", "Address": "10.0.0.9"}

    assert 403 == agent.put(REGISTER, bare, headers=token('service "db" { policy = "write" }')).status
    assert 403 == agent.put(REGISTER, DB, headers=node_only).status
    assert 403 == agent.put(REGISTER, DB).status  # anonymous, default deny
    assert [] == agent.get("/v1/catalog/service/db", headers=root).json()
    ok(agent, REGISTER, DB, headers=both)
    # a check on db through a registration of another service needs write on db too
    web = bare | {
        "Service": {"Service": "web", "ID": "web-1"},
        "Check": {"CheckID": "db-alive", "ServiceID": "db-1"},
    }
    web_writer = token('node "db-appliance" { policy = "write" }\nservice "web" { policy = "write" }')
    assert 403 == agent.put(REGISTER, web, headers=web_writer).status
    assert (
        403
        == agent.put(
            DEREGISTER, {"Node": "db-appliance"}, headers=token('service "db" { policy = "write" }')
        ).status
    )
    assert 1 == len(agent.get("/v1/catalog/service/db", headers=root).json())
    assert [] == agent.get("/v1/catalog/service/db").json()  # read is filtered by ACLs as well
    ok(agent, DEREGISTER, {"Node": "db-appliance"}, headers=node_only)
    assert [] == agent.get("/v1/catalog/service/db", headers=root).json()


def test_a_damaged_stored_row_is_quarantined_and_the_agent_starts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    agent = AgentProcess(data_dir=data).start()
    try:
        ok(agent, REGISTER, DB)
        ok(
            agent,
            REGISTER,
            {"Node": "other", "Address": "10.0.0.3", "Service": {"Service": "db", "ID": "db-9"}},
        )
        agent.stop()
        damage(data, "catalog_services", "db-1", lambda body: body | {"port": "not a number"})

        agent.start()

        # the service is set aside, its check with it (its service is gone); the rest is restored
        assert [("other", "db-9", [])] == db_instances(agent)
        assert [("db-appliance", "power", "", "passing")] == checks_of(agent, "/v1/health/node/db-appliance")
        store = agent.get("/status/v1/services/store?level=info").json()
        (alert,) = [a["message"] for a in store["active_alerts"]]
        assert "catalog_services db-appliance/db-1" in alert
        assert "catalog_checks db-appliance/db-alive" in alert
        assert [] == [line for line in agent.stderr_lines if "Traceback" in line]
        agent.stop()
        expected = [("catalog_checks", "db-appliance/db-alive"), ("catalog_services", "db-appliance/db-1")]
        assert expected == quarantined(data)
    finally:
        agent.close()
