"""A token scoped to one service cannot reach another's checks through a service registration: an
embedded check whose ID another service (or the node) owns needs write on that owner, exactly as
/v1/agent/check/register does (issue 13, item 4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess

ROOT = "root-secret"
ROOT_HEADERS = {"X-Consul-Token": ROOT}
NODE = "test-node"


def _token(agent: AgentProcess, name: str, rules: str) -> tuple[str, str]:
    policy = agent.put("/v1/acl/policy", {"Name": name, "Rules": rules}, headers=ROOT_HEADERS)
    assert 200 == policy.status, policy.text
    token = agent.put("/v1/acl/token", {"Policies": [{"Name": name}]}, headers=ROOT_HEADERS)
    assert 200 == token.status, token.text
    return token.json()["SecretID"], token.json()["AccessorID"]


@pytest.fixture
def acl_agent(tmp_path: Path) -> Iterator[AgentProcess]:
    config = tmp_path / "acl.json"
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": ROOT}}
    config.write_text(json.dumps({"acl": acl}))
    agent = AgentProcess("-config-file", str(config)).start()
    try:
        db = {"ID": "db-1", "Name": "db", "Check": {"CheckID": "db-1-ttl", "TTL": "10m"}}
        assert 200 == agent.put("/v1/agent/service/register", db, headers=ROOT_HEADERS).status
        node_check = {"ID": "node-ttl", "Name": "node-ttl", "TTL": "10m"}
        assert 200 == agent.put("/v1/agent/check/register", node_check, headers=ROOT_HEADERS).status
        yield agent
    finally:
        agent.close()


def _denied(accessor: str, perm: str, name: str) -> str:
    return f"Permission denied: token with AccessorID '{accessor}' lacks permission '{perm}' on \"{name}\""


def _owner(agent: AgentProcess, check_id: str) -> Any:
    checks = agent.get("/v1/agent/checks", headers=ROOT_HEADERS).json()
    return checks[check_id]["ServiceID"]


@pytest.mark.parametrize(
    "checks",
    [
        {"Check": {"CheckID": "db-1-ttl", "TTL": "10m"}},
        {"Checks": [{"CheckID": "web-own", "TTL": "10m"}, {"CheckID": "db-1-ttl", "TTL": "10m"}]},
    ],
    ids=["Check", "Checks"],
)
def test_embedded_check_cannot_take_over_another_services_check(
    acl_agent: AgentProcess, checks: dict[str, Any]
) -> None:
    secret, accessor = _token(acl_agent, "web-only", 'service "web" { policy = "write" }')
    acl_agent.put("/v1/agent/check/fail/db-1-ttl?note=down", headers=ROOT_HEADERS)
    body = {"ID": "web-1", "Name": "web", **checks}

    reply = acl_agent.put("/v1/agent/service/register", body, headers={"X-Consul-Token": secret})

    assert (403, _denied(accessor, "service:write", "db")) == (reply.status, reply.text)
    assert "db-1" == _owner(acl_agent, "db-1-ttl")
    assert 404 == acl_agent.get("/v1/agent/service/web-1", headers=ROOT_HEADERS).status  # nothing added
    passing = acl_agent.get("/v1/health/service/db?passing", headers=ROOT_HEADERS).json()
    assert [] == passing


def test_embedded_check_cannot_take_over_a_node_check(acl_agent: AgentProcess) -> None:
    secret, accessor = _token(acl_agent, "web-only", 'service "web" { policy = "write" }')
    body = {"ID": "web-1", "Name": "web", "Check": {"CheckID": "node-ttl", "TTL": "10m"}}

    reply = acl_agent.put("/v1/agent/service/register", body, headers={"X-Consul-Token": secret})

    assert (403, _denied(accessor, "node:write", NODE)) == (reply.status, reply.text)
    assert "" == _owner(acl_agent, "node-ttl")


def test_sidecar_check_cannot_take_over_another_services_check(acl_agent: AgentProcess) -> None:
    rules = 'service_prefix "web" { policy = "write" }'
    secret, accessor = _token(acl_agent, "web-prefix", rules)
    sidecar = {"Port": 21000, "Check": {"CheckID": "db-1-ttl", "TTL": "10m"}}
    body = {"ID": "web-1", "Name": "web", "Port": 80, "Connect": {"SidecarService": sidecar}}

    reply = acl_agent.put("/v1/agent/service/register", body, headers={"X-Consul-Token": secret})

    assert (403, _denied(accessor, "service:write", "db")) == (reply.status, reply.text)
    assert "db-1" == _owner(acl_agent, "db-1-ttl")


def test_token_with_write_on_both_services_may_move_a_check(acl_agent: AgentProcess) -> None:
    rules = 'service "web" { policy = "write" }\nservice "db" { policy = "write" }'
    secret, _ = _token(acl_agent, "web-and-db", rules)
    body = {"ID": "web-1", "Name": "web", "Check": {"CheckID": "db-1-ttl", "TTL": "10m"}}

    reply = acl_agent.put("/v1/agent/service/register", body, headers={"X-Consul-Token": secret})

    assert 200 == reply.status, reply.text
    assert "web-1" == _owner(acl_agent, "db-1-ttl")


def test_reregistering_own_checks_needs_no_other_permission(acl_agent: AgentProcess) -> None:
    secret, _ = _token(acl_agent, "web-only", 'service "web" { policy = "write" }')
    body = {"ID": "web-1", "Name": "web", "Check": {"CheckID": "web-1-ttl", "TTL": "10m"}}
    headers = {"X-Consul-Token": secret}

    assert 200 == acl_agent.put("/v1/agent/service/register", body, headers=headers).status
    assert 200 == acl_agent.put("/v1/agent/service/register", body, headers=headers).status
    assert "web-1" == _owner(acl_agent, "web-1-ttl")
