"""End-to-end: local service health by ID and by name (spec §2.7, §2.13, §7.4; README decisions 1 and 6).

Status codes 200/429/503/404, bodies and X-Consul-Reason, text vs JSON selection, node-level checks
counted, maintenance dominating, HEAD for load balancers, and 400 for an empty id or name.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.agentproc import AgentProcess, Reply, q
from tests.e2e.targets import TEXT, error, put_ok, register_check, register_service, ttl

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

BY_ID = "/v1/agent/health/service/id/"
BY_NAME = "/v1/agent/health/service/name/"
ZERO_DEFINITION = {
    "Interval": "0s",
    "Timeout": "0s",
    "DeregisterCriticalServiceAfter": "0s",
    "HTTP": "",
    "Header": None,
    "Method": "",
    "Body": "",
    "TLSServerName": "",
    "TLSSkipVerify": False,
    "TCP": "",
    "TCPUseTLS": False,
    "UDP": "",
    "GRPC": "",
    "OSService": "",
    "GRPCUseTLS": False,
}


def text(agent: AgentProcess, path: str) -> tuple[int, str, str | None, str | None]:
    reply = agent.get(path + "?format=text")
    return reply.status, reply.text, reply.header("X-Consul-Reason"), reply.header("Content-Type")


def summary(reply: Reply) -> tuple[int, str | None, str]:
    return reply.status, reply.header("X-Consul-Reason"), reply.json()["AggregatedStatus"]


def ttl_service(agent: AgentProcess, name: str, service_id: str | None = None, **extra: Any) -> str:
    body: dict[str, Any] = {"Name": name, "Check": {"TTL": "60s"}, **extra}
    if service_id:
        body["ID"] = service_id
    register_service(agent, body)
    return f"service:{service_id or name}"


# -- by ID -----------------------------------------------------------------------------------------


def test_health_by_id_follows_ttl_check_through_200_429_503(agent: AgentProcess) -> None:
    check = ttl_service(agent, "web")
    seen = []
    for verb in ["pass", "warn", "fail", "pass"]:
        assert 200 == ttl(agent, verb, check).status
        seen.append(summary(agent.get(BY_ID + "web")))
    assert [
        (200, "passing", "passing"),
        (429, "warning", "warning"),
        (503, "critical", "critical"),
        (200, "passing", "passing"),
    ] == seen


def test_health_by_id_json_has_service_and_checks_in_consul_shape(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Port": 8080, "Check": {"TTL": "60s", "Notes": "n"}})
    assert 200 == ttl(agent, "pass", "service:web", "ok").status
    reply = agent.get(BY_ID + "web")
    body = reply.json()
    service = agent.get("/v1/agent/service/web").json()
    service.pop("ContentHash")
    assert (200, "application/json", ["AggregatedStatus", "Service", "Checks"]) == (
        reply.status,
        reply.header("Content-Type"),
        list(json.loads(reply.body)),
    )
    assert service == body["Service"]
    assert [
        {
            "Node": "test-node",
            "CheckID": "service:web",
            "Name": "Service 'web' check",
            "Status": "passing",
            "Notes": "n",
            "Output": "ok",
            "ServiceID": "web",
            "ServiceName": "web",
            "ServiceTags": None,
            "Type": "",
            "ExposedPort": 0,
            "Definition": ZERO_DEFINITION,
            "CreateIndex": 0,
            "ModifyIndex": 0,
        }
    ] == body["Checks"]
    assert list(ZERO_DEFINITION) == list(body["Checks"][0]["Definition"])


def test_health_checks_copy_service_tags_as_given(agent: AgentProcess) -> None:
    ttl_service(agent, "web", Tags=["a", "b"])
    assert ["a", "b"] == agent.get(BY_ID + "web").json()["Checks"][0]["ServiceTags"]


def test_service_without_checks_is_passing_with_empty_checks_list(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "bare"})
    reply = agent.get(BY_ID + "bare")
    assert ((200, "passing", "passing"), []) == (summary(reply), reply.json()["Checks"])
    assert (200, "passing", "passing", "text/plain") == text(agent, BY_ID + "bare")


def test_health_by_unknown_id_is_404_with_consul_stub(agent: AgentProcess) -> None:
    reply = agent.get(BY_ID + "ghost")
    assert (
        404,
        b'{"AggregatedStatus":"critical","Service":null,"Checks":null}',
        "ServiceId ghost not found",
    ) == (
        reply.status,
        reply.body,
        reply.header("X-Consul-Reason"),
    )
    assert (404, "ServiceId ghost not found", "ServiceId ghost not found", "text/plain") == text(
        agent, BY_ID + "ghost"
    )


def test_health_by_id_decodes_percent_encoded_ids(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "ID": "web/1 #a"})
    assert (200, "passing", "passing", "text/plain") == text(agent, BY_ID + q("web/1 #a"))


# -- by name ---------------------------------------------------------------------------------------


def test_health_by_name_reports_the_worst_instance(agent: AgentProcess) -> None:
    c1 = ttl_service(agent, "web", "web-1")
    c2 = ttl_service(agent, "web", "web-2")
    ttl_service(agent, "other", "other-1")  # critical, different name: ignored
    assert 200 == ttl(agent, "pass", c1).status
    assert 200 == ttl(agent, "warn", c2).status
    reply = agent.get(BY_NAME + "web")
    body = reply.json()
    assert (429, "warning") == (reply.status, reply.header("X-Consul-Reason"))
    assert {"web-1": "passing", "web-2": "warning"} == {
        i["Service"]["ID"]: i["AggregatedStatus"] for i in body
    }
    assert (429, "warning", "warning", "text/plain") == text(agent, BY_NAME + "web")

    assert 200 == ttl(agent, "fail", c1).status
    assert (503, "critical", "critical", "text/plain") == text(agent, BY_NAME + "web")

    assert 200 == ttl(agent, "pass", c1).status
    assert 200 == ttl(agent, "pass", c2).status
    assert (200, "passing", "passing", "text/plain") == text(agent, BY_NAME + "web")


def test_health_by_unknown_name_is_404_and_names_are_case_sensitive(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    reply = agent.get(BY_NAME + "WEB")
    assert (404, b"[]", "ServiceName WEB Not Found") == (
        reply.status,
        reply.body,
        reply.header("X-Consul-Reason"),
    )
    assert (404, "ServiceName WEB Not Found", "ServiceName WEB Not Found", "text/plain") == text(
        agent, BY_NAME + "WEB"
    )


# -- format selection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("", None, "json"),
        ("?format=json", None, "json"),
        ("?format=text", None, "text"),
        ("?format=xml", None, "json"),
        ("", "text/plain", "text"),
        ("", "text/plain; charset=utf-8", "text"),
        ("?format=json", "text/plain", "text"),
        ("?format=text", "application/json", "text"),
        ("?format=json", "application/json", "json"),
        ("", "application/json, text/plain", "json"),
        ("", "*/*", "json"),
    ],
)
@pytest.mark.parametrize("base", [BY_ID, BY_NAME])
def test_text_or_json_is_chosen_by_accept_prefix_then_format(
    agent: AgentProcess, base: str, query: str, accept: str | None, expected: str
) -> None:
    check = ttl_service(agent, "web")
    assert 200 == ttl(agent, "warn", check).status
    reply = agent.get(base + "web" + query, headers={"Accept": accept} if accept else None)
    if expected == "text":
        assert (429, "text/plain", "warning") == (reply.status, reply.header("Content-Type"), reply.text)
    else:
        body = reply.json()
        first = body if base == BY_ID else body[0]
        assert (429, "application/json", "warning") == (
            reply.status,
            reply.header("Content-Type"),
            first["AggregatedStatus"],
        )


# -- node-level checks and maintenance ------------------------------------------------------------


def test_node_level_check_counts_toward_every_service(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    register_service(agent, {"Name": "api", "Check": {"TTL": "60s", "Status": "passing"}})
    register_check(agent, {"Name": "disk", "TTL": "60s", "Status": "passing"})
    assert [(200, "passing"), (200, "passing")] == [text(agent, BY_ID + s)[:2] for s in ("web", "api")]

    assert 200 == ttl(agent, "warn", "disk", "80%").status
    assert [(429, "warning"), (429, "warning")] == [text(agent, BY_ID + s)[:2] for s in ("web", "api")]
    assert ["disk"] == [c["CheckID"] for c in agent.get(BY_ID + "web").json()["Checks"]]

    assert 200 == ttl(agent, "fail", "disk", "full").status
    assert [(503, "critical"), (503, "critical")] == [text(agent, BY_NAME + s)[:2] for s in ("web", "api")]


def test_node_maintenance_puts_every_service_in_maintenance(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    register_service(agent, {"Name": "api", "Check": {"TTL": "60s", "Status": "passing"}})
    put_ok(agent, "/v1/agent/maintenance?enable=true&reason=patching")
    for path in (BY_ID + "web", BY_ID + "api", BY_NAME + "web", BY_NAME + "api"):
        assert (503, "maintenance", "maintenance", "text/plain") == text(agent, path)
    assert (503, "maintenance", "maintenance") == summary(agent.get(BY_ID + "web"))
    put_ok(agent, "/v1/agent/maintenance?enable=false")
    assert (200, "passing", "passing", "text/plain") == text(agent, BY_ID + "web")


def test_service_maintenance_beats_critical_and_warning(agent: AgentProcess) -> None:
    check = ttl_service(agent, "web")
    put_ok(agent, "/v1/agent/service/maintenance/web?enable=true")
    assert (503, "maintenance", "maintenance", "text/plain") == text(agent, BY_ID + "web")
    assert 200 == ttl(agent, "warn", check).status
    assert (503, "maintenance", "maintenance") == summary(agent.get(BY_ID + "web"))
    put_ok(agent, "/v1/agent/service/maintenance/web?enable=false")
    assert (429, "warning", "warning", "text/plain") == text(agent, BY_ID + "web")


# -- HEAD, empty ids, no blocking ----------------------------------------------------------------


def test_head_returns_the_status_code_with_an_empty_body(agent: AgentProcess) -> None:
    ok = ttl_service(agent, "ok")
    warn = ttl_service(agent, "warn")
    ttl_service(agent, "crit")
    assert 200 == ttl(agent, "pass", ok).status
    assert 200 == ttl(agent, "warn", warn).status
    seen = []
    for path in [
        BY_ID + "ok",
        BY_ID + "warn",
        BY_ID + "crit",
        BY_ID + "ghost",
        BY_NAME + "warn",
        BY_NAME + "ghost",
    ]:
        for suffix in ["", "?format=text"]:
            reply = agent.request("HEAD", path + suffix)
            seen.append((reply.status, reply.body))
    assert [
        (200, b""),
        (200, b""),
        (429, b""),
        (429, b""),
        (503, b""),
        (503, b""),
        (404, b""),
        (404, b""),
        (429, b""),
        (429, b""),
        (404, b""),
        (404, b""),
    ] == seen


def test_head_carries_the_reason_header(agent: AgentProcess) -> None:
    ttl_service(agent, "web")
    reply = agent.request("HEAD", BY_NAME + "web")
    assert (503, "critical") == (reply.status, reply.header("X-Consul-Reason"))


@pytest.mark.parametrize(
    ("path", "expected"), [(BY_ID, "Missing serviceID"), (BY_NAME, "Missing service Name")]
)
def test_empty_id_or_name_is_400_not_500(agent: AgentProcess, path: str, expected: str) -> None:
    reply = agent.get(path)
    assert ((400, expected), TEXT) == (error(reply), reply.header("Content-Type"))


def test_health_endpoints_ignore_index_and_wait(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    for path in [BY_ID + "web", BY_NAME + "web"]:
        reply = agent.get(path + "?index=abc&wait=xyz&hash=1", timeout=5)
        assert (200, None) == (reply.status, reply.header("X-Consul-Index"))


def test_reason_header_is_present_on_200(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web"})
    assert "passing" == agent.get(BY_ID + "web").header("X-Consul-Reason")
