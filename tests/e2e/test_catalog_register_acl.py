"""`/v1/catalog/register` on the fleet catalog with ACLs: a check added to another service of the node,
or a service ID re-registered under another name, needs write on that service too, as Consul's
vetRegisterWithACL asks (issue 13's class of item 4: no write reaches another service's health)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess
from tests.etcdcluster import EtcdCluster

ROOT = "root-secret"
ROOT_HEADERS = {"X-Consul-Token": ROOT}
NODE = "appliance"


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentProcess]:
    etcd = EtcdCluster(1).start()
    config = tmp_path / "agent.json"
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": ROOT}}
    config.write_text(json.dumps({"acl": acl}))
    args = [*etcd.agent_args(f"/t{time.monotonic_ns()}/"), "-config-file", str(config), "-dns-port", "-1"]
    proc = AgentProcess(*args).start()
    try:
        db = {
            "Node": NODE,
            "Address": "10.0.0.9",
            "Service": {"Service": "db", "ID": "db-1", "Port": 5432},
            "Check": {"CheckID": "db-alive", "ServiceID": "db-1", "Status": "critical"},
        }
        reply = proc.put("/v1/catalog/register", db, headers=ROOT_HEADERS)
        assert (200, "true") == (reply.status, reply.text)
        yield proc
    finally:
        proc.close()
        etcd.close()


def _token(agent: AgentProcess, rules: str) -> tuple[str, str]:
    policy = agent.put("/v1/acl/policy", {"Name": "p", "Rules": rules}, headers=ROOT_HEADERS)
    assert 200 == policy.status, policy.text
    token = agent.put("/v1/acl/token", {"Policies": [{"Name": "p"}]}, headers=ROOT_HEADERS).json()
    return token["SecretID"], token["AccessorID"]


def _denied(accessor: str, name: str) -> str:
    who = f"token with AccessorID '{accessor}'"
    return f"Permission denied: {who} lacks permission 'service:write' on \"{name}\""


def _db_checks(agent: AgentProcess) -> list[tuple[str, str]]:
    entries = agent.get("/v1/health/service/db?consistent", headers=ROOT_HEADERS).json()
    return sorted((c["CheckID"], c["Status"]) for entry in entries for c in entry["Checks"])


RULES = f'node "{NODE}" {{ policy = "write" }}\nservice "web" {{ policy = "write" }}'


def test_a_check_on_another_service_of_the_node_needs_write_on_it(agent: AgentProcess) -> None:
    secret, accessor = _token(agent, RULES)
    body = {
        "Node": NODE,
        "Address": "10.0.0.9",
        "Service": {"Service": "web", "ID": "web-1", "Port": 80},
        "Checks": [{"CheckID": "db-alive", "ServiceID": "db-1", "Status": "passing"}],
    }

    reply = agent.put("/v1/catalog/register", body, headers={"X-Consul-Token": secret})

    assert (403, _denied(accessor, "db")) == (reply.status, reply.text)
    assert [("db-alive", "critical")] == _db_checks(agent)


def test_reusing_another_services_id_needs_write_on_it(agent: AgentProcess) -> None:
    secret, accessor = _token(agent, RULES)
    body = {"Node": NODE, "Address": "10.0.0.9", "Service": {"Service": "web", "ID": "db-1", "Port": 80}}

    reply = agent.put("/v1/catalog/register", body, headers={"X-Consul-Token": secret})

    assert (403, _denied(accessor, "db")) == (reply.status, reply.text)
    assert [("db-alive", "critical")] == _db_checks(agent)


def test_with_write_on_both_a_reused_id_replaces_the_instance(agent: AgentProcess) -> None:
    secret, _ = _token(agent, RULES + '\nservice "db" { policy = "write" }')
    body = {"Node": NODE, "Address": "10.0.0.9", "Service": {"Service": "web", "ID": "db-1", "Port": 80}}

    reply = agent.put("/v1/catalog/register", body, headers={"X-Consul-Token": secret})

    assert (200, "true") == (reply.status, reply.text)
    assert [] == _db_checks(agent)  # one ID, one instance: db-1 is web's now
    web = agent.get("/v1/catalog/service/web?consistent", headers=ROOT_HEADERS).json()
    assert ["db-1"] == [entry["ServiceID"] for entry in web]
