"""An ACL admin of one namespace cannot reach beyond it through the tokens it mints: whatever a token of
another namespace links (global-management, a policy with namespace blocks) is confined to its
namespace, and on what no namespace scopes (the node, the agent) it reads at most."""

from __future__ import annotations

import pytest

from tests.agentproc import AgentProcess

ROOT = {"X-Consul-Token": "root"}
GLOBAL_MANAGEMENT = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def agent(deny_acl_agent: AgentProcess) -> AgentProcess:
    return deny_acl_agent


def _secret(agent: AgentProcess, rules: str, name: str, ns: str = "default") -> str:
    policy = agent.put(f"/v1/acl/policy?ns={ns}", {"Name": name, "Rules": rules}, headers=ROOT)
    assert 200 == policy.status, policy.text
    token = agent.put(f"/v1/acl/token?ns={ns}", {"Policies": [{"Name": name}]}, headers=ROOT)
    assert 200 == token.status, token.text
    return str(token.json()["SecretID"])


def _as(secret: str) -> dict[str, str]:
    return {"X-Consul-Token": secret}


def test_a_namespace_admin_cannot_mint_a_token_that_reaches_beyond_it(agent: AgentProcess) -> None:
    lead = _secret(agent, 'namespace "team-a" { acl = "write" }', "team-a-admin")
    minted = agent.put(
        "/v1/acl/token?ns=team-a", {"Policies": [{"ID": GLOBAL_MANAGEMENT}]}, headers=_as(lead)
    )
    assert 200 == minted.status, minted.text  # linking is allowed; what it grants is confined
    token = _as(minted.json()["SecretID"])

    outside = [
        agent.put("/v1/agent/service/register?ns=default", {"Name": "db"}, headers=token).status,
        agent.put(
            "/v1/acl/token?ns=default", {"Policies": [{"ID": GLOBAL_MANAGEMENT}]}, headers=token
        ).status,
        agent.put("/v1/agent/maintenance?enable=true", headers=token).status,
        agent.put("/v1/agent/token/default", {"Token": "root"}, headers=token).status,
    ]
    inside = agent.put("/v1/agent/service/register?ns=team-a", {"Name": "db"}, headers=token).status

    assert ([403, 403, 403, 403], 200) == (outside, inside)


def test_linking_another_teams_policy_grants_nothing_in_that_namespace(agent: AgentProcess) -> None:
    lead = _secret(agent, 'namespace "team-a" { acl = "write" }', "team-a-admin")
    _secret(
        agent, 'namespace "team-b" { acl = "write" service_prefix "" { policy = "write" } }', "team-b-admin"
    )
    minted = agent.put("/v1/acl/token?ns=team-a", {"Policies": [{"Name": "team-b-admin"}]}, headers=_as(lead))
    assert 200 == minted.status, minted.text
    token = _as(minted.json()["SecretID"])

    register = agent.put("/v1/agent/service/register?ns=team-b", {"Name": "web"}, headers=token)
    acl_write = agent.put("/v1/acl/token?ns=team-b", {"Policies": []}, headers=token)

    assert (403, 403) == (register.status, acl_write.status)


def test_a_node_identity_on_a_namespaced_token_reads_the_node_at_most(agent: AgentProcess) -> None:
    lead = _secret(agent, 'namespace "team-a" { acl = "write" }', "team-a-admin")
    identity = {"NodeIdentities": [{"NodeName": "test-node", "Datacenter": "dc1"}]}
    minted = agent.put("/v1/acl/token?ns=team-a", identity, headers=_as(lead))
    assert 200 == minted.status, minted.text
    token = _as(minted.json()["SecretID"])

    maintenance = agent.put("/v1/agent/maintenance?enable=true", headers=token)
    node_check = agent.put("/v1/agent/check/register", {"Name": "n", "TTL": "1h"}, headers=token)

    assert (403, 403) == (maintenance.status, node_check.status)
