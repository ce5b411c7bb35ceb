"""End-to-end: service and node maintenance, and what survives kill -9 (spec §2.6, §2.15, §5, §7.3).

Maintenance checks' shape and default reasons, `enable` parsing (Go ParseBool) and its errors,
idempotence, persistence across a kill -9 restart; TTL status restored within its window.
"""

from __future__ import annotations

import time

import pytest

from tests.agentproc import AgentProcess, q
from tests.e2e.targets import (
    TEXT,
    agent_checks,
    check_of,
    error,
    put_ok,
    register_check,
    register_service,
    status_of,
    ttl,
)

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

SERVICE_DEFAULT = (
    "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
)
NODE_DEFAULT = (
    "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
)
SVC_MAINT = "/v1/agent/service/maintenance/"
NODE_MAINT = "/v1/agent/maintenance"


def in_maintenance(agent: AgentProcess, check_id: str) -> bool:
    return check_id in agent_checks(agent)


# -- service maintenance ---------------------------------------------------------------------------


def test_service_maintenance_adds_critical_maintenance_check_with_default_reason(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "ID": "web-1", "Tags": ["t"]})
    reply = agent.put(SVC_MAINT + "web-1?enable=true")
    assert (200, b"") == (reply.status, reply.body)
    assert {
        "Node": "test-node",
        "CheckID": "_service_maintenance:web-1",
        "Name": "Service Maintenance Mode",
        "Status": "critical",
        "Notes": SERVICE_DEFAULT,
        "Output": "",
        "ServiceID": "web-1",
        "ServiceName": "web",
        "ServiceTags": ["t"],
        "Type": "maintenance",
        "Interval": "",
        "Timeout": "",
        "ExposedPort": 0,
        "Definition": {},
        "CreateIndex": 0,
        "ModifyIndex": 0,
    } == check_of(agent, "_service_maintenance:web-1")
    assert ["web-1"] == list(agent.get("/v1/agent/services").json())


def test_service_maintenance_reason_becomes_notes_and_enable_is_idempotent(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    put_ok(agent, SVC_MAINT + "web?enable=true&reason=" + q("deploying v2"))
    put_ok(agent, SVC_MAINT + "web?enable=true&reason=other")
    put_ok(agent, SVC_MAINT + "web?enable=true")
    checks = agent_checks(agent)
    assert (["_service_maintenance:web"], "deploying v2") == (
        list(checks),
        checks["_service_maintenance:web"]["Notes"],
    )


def test_service_maintenance_disable_removes_the_check_and_is_a_noop_when_off(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s", "Status": "passing"}})
    put_ok(agent, SVC_MAINT + "web?enable=false")
    put_ok(agent, SVC_MAINT + "web?enable=true")
    put_ok(agent, SVC_MAINT + "web?enable=false")
    put_ok(agent, SVC_MAINT + "web?enable=false")
    assert ["service:web"] == list(agent_checks(agent))
    assert 200 == agent.get("/v1/agent/health/service/id/web").status


@pytest.mark.parametrize(
    ("value", "enabled"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("t", True),
        ("T", True),
        ("1", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        ("f", False),
        ("F", False),
        ("0", False),
    ],
)
def test_enable_is_parsed_like_go_parsebool(agent: AgentProcess, value: str, enabled: bool) -> None:
    register_service(agent, {"Name": "web"})
    if not enabled:
        put_ok(agent, SVC_MAINT + "web?enable=true")
        put_ok(agent, NODE_MAINT + "?enable=true")
    put_ok(agent, SVC_MAINT + "web?enable=" + value)
    put_ok(agent, NODE_MAINT + "?enable=" + value)
    assert (enabled, enabled) == (
        in_maintenance(agent, "_service_maintenance:web"),
        in_maintenance(agent, "_node_maintenance"),
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", "Missing value for enable"),
        ("?reason=x", "Missing value for enable"),
        ("?enable", 'Invalid value for enable: ""'),
        ("?enable=", 'Invalid value for enable: ""'),
        ("?enable=yes", 'Invalid value for enable: "yes"'),
        ("?enable=on", 'Invalid value for enable: "on"'),
        ("?enable=" + q('a"b'), 'Invalid value for enable: "a\\"b"'),
    ],
)
@pytest.mark.parametrize("path", [SVC_MAINT + "web", SVC_MAINT + "ghost", NODE_MAINT])
def test_bad_or_missing_enable_is_400_with_consul_text(
    agent: AgentProcess, path: str, query: str, expected: str
) -> None:
    register_service(agent, {"Name": "web"})
    reply = agent.put(path + query)
    assert ((400, expected), TEXT) == (error(reply), reply.header("Content-Type"))
    assert {} == agent_checks(agent)


def test_service_maintenance_on_unknown_service_is_404(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "ID": "web-1"})
    assert (
        404,
        'Unknown service ID "web". Ensure that the service ID is passed, not the service name.',
    ) == error(agent.put(SVC_MAINT + "web?enable=true"))
    assert {} == agent_checks(agent)


def test_service_maintenance_with_empty_id_is_400(agent: AgentProcess) -> None:
    assert (400, "Missing service ID") == error(agent.put(SVC_MAINT + "?enable=true"))


@pytest.mark.parametrize("path", [SVC_MAINT + "web?enable=true", NODE_MAINT + "?enable=true"])
def test_maintenance_endpoints_are_put_only(agent: AgentProcess, path: str) -> None:
    register_service(agent, {"Name": "web"})
    reply = agent.get(path)
    assert (405, "OPTIONS,PUT") == (reply.status, reply.header("Allow"))
    assert {} == agent_checks(agent)


def test_maintenance_check_is_not_a_ttl_check(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    put_ok(agent, SVC_MAINT + "web?enable=true")
    assert (400, 'CheckID "_service_maintenance:web" does not have associated TTL') == error(
        ttl(agent, "pass", "_service_maintenance:web")
    )


# -- node maintenance ------------------------------------------------------------------------------


def test_node_maintenance_adds_node_check_with_default_reason(agent: AgentProcess) -> None:
    reply = agent.put(NODE_MAINT + "?enable=true")
    assert (200, b"") == (reply.status, reply.body)
    assert {
        "_node_maintenance": {
            "Node": "test-node",
            "CheckID": "_node_maintenance",
            "Name": "Node Maintenance Mode",
            "Status": "critical",
            "Notes": NODE_DEFAULT,
            "Output": "",
            "ServiceID": "",
            "ServiceName": "",
            "ServiceTags": [],
            "Type": "maintenance",
            "Interval": "",
            "Timeout": "",
            "ExposedPort": 0,
            "Definition": {},
            "CreateIndex": 0,
            "ModifyIndex": 0,
        }
    } == agent_checks(agent)


def test_node_maintenance_is_idempotent_and_disable_removes_it(agent: AgentProcess) -> None:
    put_ok(agent, NODE_MAINT + "?enable=true&reason=" + q("kernel upgrade"))
    put_ok(agent, NODE_MAINT + "?enable=true&reason=later")
    assert "kernel upgrade" == check_of(agent, "_node_maintenance")["Notes"]  # type: ignore[index]
    put_ok(agent, NODE_MAINT + "?enable=false")
    put_ok(agent, NODE_MAINT + "?enable=false")
    assert {} == agent_checks(agent)


def test_node_maintenance_leaves_services_listed(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    before = agent.get("/v1/agent/services").body
    put_ok(agent, NODE_MAINT + "?enable=true")
    assert before == agent.get("/v1/agent/services").body


# -- restart (kill -9) -----------------------------------------------------------------------------


def test_service_and_node_maintenance_survive_kill_9(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s"}})
    register_service(agent, {"Name": "api"})
    put_ok(agent, SVC_MAINT + "web?enable=true&reason=" + q("db migration"))
    put_ok(agent, NODE_MAINT + "?enable=true")
    before = agent_checks(agent)

    agent.kill9()
    agent.start()

    after = agent_checks(agent)
    assert before["_service_maintenance:web"] == after["_service_maintenance:web"]
    assert before["_node_maintenance"] == after["_node_maintenance"]
    assert ("db migration", NODE_DEFAULT) == (
        after["_service_maintenance:web"]["Notes"],
        after["_node_maintenance"]["Notes"],
    )
    reply = agent.get("/v1/agent/health/service/id/api?format=text")
    assert (503, "maintenance") == (reply.status, reply.text)


def test_ended_maintenance_stays_ended_after_kill_9(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    put_ok(agent, SVC_MAINT + "web?enable=true")
    put_ok(agent, NODE_MAINT + "?enable=true")
    put_ok(agent, SVC_MAINT + "web?enable=false")
    put_ok(agent, NODE_MAINT + "?enable=false")
    agent.kill9()
    agent.start()
    assert {} == agent_checks(agent)
    assert 200 == agent.get("/v1/agent/health/service/id/web").status


def test_ttl_status_and_output_survive_kill_9_within_the_ttl(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Check": {"TTL": "120s"}})
    register_check(agent, {"Name": "node-ttl", "TTL": "120s"})
    assert 200 == ttl(agent, "warn", "service:web", "disk 91%").status
    assert 200 == ttl(agent, "pass", "node-ttl", "fine").status

    agent.kill9()
    agent.start()

    assert (("warning", "disk 91%"), ("passing", "fine")) == (
        status_of(agent, "service:web"),
        status_of(agent, "node-ttl"),
    )
    assert 429 == agent.get("/v1/agent/health/service/id/web").status


def test_ttl_status_past_its_window_is_not_restored(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "short", "TTL": "1s"})
    assert 200 == ttl(agent, "pass", "short", "old news").status
    agent.kill9()
    time.sleep(1.5)
    agent.start()
    seen = status_of(agent, "short")
    assert seen is not None
    assert "critical" == seen[0]
    assert seen[1] in ("", "TTL expired"), seen[1]


def test_non_ttl_checks_restart_critical_and_definitions_survive(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "ttl-node", "TTL": "60s", "Notes": "keep me"})
    register_service(agent, {"Name": "web", "Check": {"TTL": "60s", "Status": "passing"}})
    before = {k: {**v, "Status": None, "Output": None} for k, v in agent_checks(agent).items()}
    agent.kill9()
    agent.start()
    after = agent_checks(agent)
    assert before == {k: {**v, "Status": None, "Output": None} for k, v in after.items()}
    # the service check was registered passing but never updated through the TTL API: no state file
    assert "critical" == after["service:web"]["Status"]
