"""A token scoped to one service cannot reach another's checks through a service registration: an
embedded check whose ID another service (or the node) owns needs write on that owner, exactly as
/v1/agent/check/register does (issue 13, item 4)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.agentproc import AgentProcess

ROOT = "root"  # the deny_acl_agent fixture's management token
ROOT_HEADERS = {"X-Consul-Token": ROOT}
NODE = "test-node"


def _token(agent: AgentProcess, name: str, rules: str) -> tuple[str, str]:
    policy = agent.put("/v1/acl/policy", {"Name": name, "Rules": rules}, headers=ROOT_HEADERS)
    assert 200 == policy.status, policy.text
    token = agent.put("/v1/acl/token", {"Policies": [{"Name": name}]}, headers=ROOT_HEADERS)
    assert 200 == token.status, token.text
    return token.json()["SecretID"], token.json()["AccessorID"]


@pytest.fixture
def acl_agent(deny_acl_agent: AgentProcess) -> AgentProcess:
    """db-1 with its TTL check, and a node check, registered by the management token."""
    db = {"ID": "db-1", "Name": "db", "Check": {"CheckID": "db-1-ttl", "TTL": "10m"}}
    assert 200 == deny_acl_agent.put("/v1/agent/service/register", db, headers=ROOT_HEADERS).status
    node_check = {"ID": "node-ttl", "Name": "node-ttl", "TTL": "10m"}
    assert 200 == deny_acl_agent.put("/v1/agent/check/register", node_check, headers=ROOT_HEADERS).status
    return deny_acl_agent


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


def test_a_sidecar_cannot_take_over_the_service_that_holds_its_fixed_id(acl_agent: AgentProcess) -> None:
    payments = {"Name": "payments", "ID": "web-sidecar-proxy", "Port": 1234}
    assert 200 == acl_agent.put("/v1/agent/service/register", payments, headers=ROOT_HEADERS).status
    secret, accessor = _token(acl_agent, "web-prefix", 'service_prefix "web" { policy = "write" }')
    body = {"Name": "web", "Port": 80, "Connect": {"SidecarService": {"Tags": ["t"]}}}

    reply = acl_agent.put("/v1/agent/service/register", body, headers={"X-Consul-Token": secret})

    assert (403, _denied(accessor, "service:write", "payments")) == (reply.status, reply.text)
    held = acl_agent.get("/v1/agent/service/web-sidecar-proxy", headers=ROOT_HEADERS).json()
    assert "payments" == held["Service"]


def test_checks_follow_their_service_when_it_is_renamed(acl_agent: AgentProcess) -> None:
    secret, accessor = _token(acl_agent, "web-prefix", 'service_prefix "web" { policy = "write" }')
    headers = {"X-Consul-Token": secret}
    assert (
        200
        == acl_agent.put(
            "/v1/agent/service/register", {"Name": "web", "ID": "x"}, headers=ROOT_HEADERS
        ).status
    )
    check = {"Name": "c", "ServiceID": "x", "TTL": "10m"}
    assert 200 == acl_agent.put("/v1/agent/check/register", check, headers=headers).status
    assert (
        200
        == acl_agent.put("/v1/agent/service/register", {"Name": "db", "ID": "x"}, headers=ROOT_HEADERS).status
    )

    denied = _denied(accessor, "service:write", "db")
    fail = acl_agent.put("/v1/agent/check/fail/c?note=pwned", headers=headers)
    deregister = acl_agent.put("/v1/agent/check/deregister/c", headers=headers)

    assert [(403, denied), (403, denied)] == [(r.status, r.text) for r in (fail, deregister)]
    assert "db" == acl_agent.get("/v1/agent/checks", headers=ROOT_HEADERS).json()["c"]["ServiceName"]
    entries = acl_agent.get("/v1/health/service/db", headers=ROOT_HEADERS).json()
    entry = next(e for e in entries if e["Service"]["ID"] == "x")
    assert ["db"] == [c["ServiceName"] for c in entry["Checks"] if c["CheckID"] == "c"]


def test_a_registration_racing_another_name_is_vetted_against_what_it_replaces(
    acl_agent: AgentProcess,
) -> None:
    secret, _ = _token(acl_agent, "web-only", 'service "web" { policy = "write" }')

    async def trial(i: int) -> str:
        base, service_id = acl_agent.url, f"x{i}"
        async with aiohttp.ClientSession() as session:
            attempts = [
                session.put(
                    f"{base}/v1/agent/service/register",
                    json={"Name": "web", "ID": service_id},
                    headers={"X-Consul-Token": secret},
                )
                for _ in range(12)
            ]
            owner = session.put(
                f"{base}/v1/agent/service/register",
                json={"Name": "db", "ID": service_id},
                headers=ROOT_HEADERS,
            )
            replies = await asyncio.gather(owner, *attempts)
            assert 200 == replies[0].status
            for reply in replies:
                reply.release()
            async with session.get(f"{base}/v1/agent/service/{service_id}", headers=ROOT_HEADERS) as final:
                return str((await final.json())["Service"])

    # The owner's 200 is never undone by a token that may not write db: web got in only before it.
    assert ["db"] * 15 == [asyncio.run(trial(i)) for i in range(15)]


@pytest.mark.parametrize("check_id", ["_service_maintenance:db-1", "_node_maintenance"])
def test_maintenance_check_ids_cannot_be_squatted(acl_agent: AgentProcess, check_id: str) -> None:
    secret, _ = _token(acl_agent, "web-only", 'service "web" { policy = "write" }')
    headers = {"X-Consul-Token": secret}
    assert (
        200
        == acl_agent.put("/v1/agent/service/register", {"Name": "web", "ID": "web-1"}, headers=headers).status
    )
    expected = (400, f'Invalid check ID "{check_id}": reserved for maintenance mode')

    alone = acl_agent.put(
        "/v1/agent/check/register",
        {"ID": check_id, "Name": "x", "ServiceID": "web-1", "TTL": "1h"},
        headers=headers,
    )
    embedded = acl_agent.put(
        "/v1/agent/service/register",
        {"Name": "web", "ID": "web-1", "Check": {"CheckID": check_id, "TTL": "1h"}},
        headers=headers,
    )

    assert [expected, expected] == [(r.status, r.text) for r in (alone, embedded)]
    maintenance = acl_agent.put("/v1/agent/service/maintenance/db-1?enable=true", headers=ROOT_HEADERS)
    assert 200 == maintenance.status
    assert 503 == acl_agent.get("/v1/agent/health/service/id/db-1", headers=ROOT_HEADERS).status
