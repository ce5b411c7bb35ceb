"""A blocking query resolves its token again when it wakes: deleted while it waited, the answer is
Consul's 403 `ACL not found`, never the new data."""

from __future__ import annotations

import threading

import pytest

from tests.agentproc import AgentProcess, Reply

ROOT = {"X-Consul-Token": "root"}


@pytest.fixture
def agent(deny_acl_agent: AgentProcess) -> AgentProcess:
    return deny_acl_agent


def test_a_token_deleted_while_its_queries_wait_gets_no_new_data(agent: AgentProcess) -> None:
    rules = 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }'
    assert 200 == agent.put("/v1/acl/policy", {"Name": "read", "Rules": rules}, headers=ROOT).status
    token = agent.put("/v1/acl/token", {"Policies": [{"Name": "read"}]}, headers=ROOT).json()
    reader = {"X-Consul-Token": token["SecretID"]}
    web = {"Name": "web", "ID": "web1", "Meta": {"secret": "old"}}
    assert 200 == agent.put("/v1/agent/service/register", web, headers=ROOT).status
    content_hash = agent.get("/v1/agent/service/web1", headers=reader).header("X-Consul-ContentHash")
    index = agent.get("/v1/catalog/service/web", headers=reader).header("X-Consul-Index")
    paths = [
        f"/v1/agent/service/web1?hash={content_hash}&wait=20s",
        f"/v1/catalog/service/web?index={index}&wait=20s",
        f"/v1/health/service/web?index={index}&wait=20s",
    ]
    replies: dict[str, Reply] = {}

    def park(path: str) -> None:
        replies[path] = agent.get(path, headers=reader)

    threads = [threading.Thread(target=park, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    threading.Event().wait(1.0)  # parked
    assert 200 == agent.request("DELETE", f"/v1/acl/token/{token['AccessorID']}", headers=ROOT).status
    rotated = {**web, "Meta": {"secret": "rotated"}}
    assert 200 == agent.put("/v1/agent/service/register", rotated, headers=ROOT).status
    for thread in threads:
        thread.join(30)

    assert [(403, "ACL not found")] * 3 == [(replies[p].status, replies[p].text) for p in paths]
