"""The /v1/acl/* and /v1/agent/token handlers, called directly with in-memory requests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict

from muster.acl.config import ACLConfig, ACLTokens
from muster.acl.manager import ACLManager
from muster.api import acl as handlers
from muster.api.call import Call
from muster.errors import BadRequest, Forbidden, NotFound, Unauthorized
from muster.store import MemoryStore

ROOT = "e95b599e-166e-7d80-08ad-aee76e7ddf19"
ANONYMOUS_TEXT = "The anonymous token is used implicitly when a request does not specify a token."


class _Content:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def iter_chunked(self, size: int) -> AsyncIterator[bytes]:
        if self.data:
            yield self.data


class _Request:
    def __init__(self, method: str, body: bytes, headers: dict[str, str]) -> None:
        self.method = method
        self.headers = CIMultiDict(headers)
        self.content_length = len(body)
        self.content = _Content(body)


def make_agent(**acl: Any) -> SimpleNamespace:
    settings = {"enabled": True, "default_policy": "deny", "tokens": ACLTokens(initial_management=ROOT)}
    settings.update(acl)
    manager = ACLManager(ACLConfig(**settings), MemoryStore(), node_name="node1", datacenter="dc1")
    manager.load()
    return SimpleNamespace(acl=manager, config=SimpleNamespace(dev=False, node_name="node1"))


async def call(
    agent: SimpleNamespace,
    handler: Any,
    method: str = "GET",
    path_id: str = "",
    body: Any = None,
    auth: str = "",
    query: dict[str, str] | None = None,
) -> web.Response:
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    headers = {"X-Consul-Token": auth} if auth else {}
    response: web.Response = await handler(Call(agent, _Request(method, raw, headers), path_id, query or {}))
    return response


def body_of(response: web.Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


@pytest.mark.asyncio
async def test_every_acl_endpoint_is_401_when_acls_are_off() -> None:
    agent = make_agent(enabled=False)
    for handler in (
        handlers.list_policies,
        handlers.list_tokens,
        handlers.bootstrap_acls,
        handlers.set_agent_token,
    ):
        with pytest.raises(Unauthorized) as caught:
            await call(agent, handler, "PUT", "default", {"Token": "x"})
        assert (401, "ACL support disabled") == (caught.value.status, caught.value.text)


@pytest.mark.asyncio
async def test_bootstrap_answers_id_first_then_the_token_and_only_once() -> None:
    agent = make_agent(tokens=ACLTokens())
    answer = body_of(await call(agent, handlers.bootstrap_acls, "PUT"))
    assert ["ID", "AccessorID", "SecretID", "Description", "Policies"] == list(answer)[:5]
    assert answer["ID"] == answer["SecretID"]
    assert [{"ID": "00000000-0000-0000-0000-000000000001", "Name": "global-management"}] == answer["Policies"]
    with pytest.raises(Forbidden, match="ACL bootstrap no longer allowed"):
        await call(agent, handlers.bootstrap_acls, "PUT")


@pytest.mark.asyncio
async def test_body_errors_come_before_the_token_is_checked() -> None:
    agent = make_agent()
    with pytest.raises(BadRequest) as caught:
        await call(agent, handlers.create_policy, "PUT", body={"Nme": "x"}, auth="unknown")
    assert 'Policy decoding failed: json: unknown field "Nme"' == caught.value.text
    with pytest.raises(BadRequest, match="Cannot specify the ID when creating a new policy"):
        await call(agent, handlers.create_policy, "PUT", body={"ID": "x", "Name": "p"})
    with pytest.raises(Forbidden, match="ACL not found"):
        await call(agent, handlers.create_policy, "PUT", body={"Name": "p"}, auth="unknown")


@pytest.mark.asyncio
async def test_anonymous_lacks_acl_write() -> None:
    with pytest.raises(Forbidden) as caught:
        await call(make_agent(), handlers.create_policy, "PUT", body={"Name": "p"})
    assert f"Permission denied: anonymous token lacks permission 'acl:write'. {ANONYMOUS_TEXT}" == (
        caught.value.text
    )


@pytest.mark.asyncio
async def test_policy_lifecycle_as_py_consul_drives_it() -> None:
    agent = make_agent()
    rules = json.dumps({"service": {"web": {"policy": "write"}}})
    created = body_of(
        await call(agent, handlers.create_policy, "PUT", body={"name": "web", "rules": rules}, auth=ROOT)
    )
    assert ["ID", "Name", "Description", "Rules", "Hash", "CreateIndex", "ModifyIndex"] == list(created)
    policy_id = created["ID"]
    read = await call(agent, handlers.policy_by_id, "GET", policy_id, auth=ROOT)
    assert created == body_of(read)
    assert read.headers["X-Consul-Index"] == str(created["ModifyIndex"])
    assert created == body_of(await call(agent, handlers.policy_by_name, "GET", "web", auth=ROOT))
    stubs = body_of(await call(agent, handlers.list_policies, auth=ROOT))
    assert {"global-management", "web"} == {stub["Name"] for stub in stubs}
    assert all("Rules" not in stub and stub["Datacenters"] is None for stub in stubs)
    with pytest.raises(BadRequest, match="Policy ID in URL and payload do not match"):
        await call(agent, handlers.policy_by_id, "PUT", policy_id, {"ID": "other", "Name": "web"}, ROOT)
    updated = body_of(await call(agent, handlers.policy_by_id, "PUT", policy_id, {"Name": "web2"}, ROOT))
    assert ("web2", created["CreateIndex"]) == (updated["Name"], updated["CreateIndex"])
    deleted = await call(agent, handlers.policy_by_id, "DELETE", policy_id, auth=ROOT)
    assert b"true" == deleted.body
    with pytest.raises(NotFound) as caught:
        await call(agent, handlers.policy_by_id, "GET", policy_id, auth=ROOT)
    assert "Requested policy does not exist: ACL not found" == caught.value.text


@pytest.mark.asyncio
async def test_missing_ids_are_400_before_anything_else() -> None:
    agent = make_agent()
    with pytest.raises(BadRequest, match=r"^Missing policy ID$"):
        await call(agent, handlers.policy_by_id, "GET", "", auth="unknown")
    with pytest.raises(BadRequest, match=r"^Missing token AccessorID$"):
        await call(agent, handlers.token_by_accessor, "DELETE", "", auth="unknown")
    with pytest.raises(BadRequest, match=r"^Missing policy Name$"):
        await call(agent, handlers.policy_by_name, "GET", "")


@pytest.mark.asyncio
async def test_tokens_read_list_clone_self_and_delete() -> None:
    agent = make_agent()
    reader_policy = body_of(
        await call(
            agent, handlers.create_policy, "PUT", body={"Name": "r", "Rules": 'acl = "read"'}, auth=ROOT
        )
    )
    reader = body_of(
        await call(agent, handlers.create_token, "PUT", body={"Policies": [{"Name": "r"}]}, auth=ROOT)
    )
    accessor = reader["AccessorID"]
    as_reader = body_of(
        await call(agent, handlers.token_by_accessor, "GET", accessor, auth=reader["SecretID"])
    )
    assert "<hidden>" == as_reader["SecretID"]
    as_root = body_of(await call(agent, handlers.token_by_accessor, "GET", accessor, auth=ROOT))
    assert reader == as_root
    listed = body_of(
        await call(agent, handlers.list_tokens, auth=ROOT, query={"policy": reader_policy["ID"]})
    )
    assert [accessor] == [stub["AccessorID"] for stub in listed]
    me = body_of(await call(agent, handlers.read_self_token, auth=reader["SecretID"]))
    assert accessor == me["AccessorID"]
    with pytest.raises(NotFound, match=r"^Supplied token does not exist$"):
        await call(agent, handlers.read_self_token, auth="nope")
    clone = body_of(
        await call(agent, handlers.token_by_accessor, "PUT", f"{accessor}/clone", {"Description": "c"}, ROOT)
    )
    assert ("c", reader["Policies"]) == (clone["Description"], clone["Policies"])
    with pytest.raises(BadRequest, match="Token Accessor ID in URL and payload do not match"):
        await call(
            agent, handlers.token_by_accessor, "PUT", accessor, {"AccessorID": clone["AccessorID"]}, ROOT
        )
    assert b"true" == (await call(agent, handlers.token_by_accessor, "DELETE", accessor, auth=ROOT)).body
    with pytest.raises(NotFound, match=r"^Requested token does not exist: ACL not found$"):
        await call(agent, handlers.token_by_accessor, "GET", accessor, auth=ROOT)


@pytest.mark.asyncio
async def test_an_unknown_token_is_403_even_for_a_missing_object() -> None:
    with pytest.raises(Forbidden, match=r"^ACL not found$"):
        await call(
            make_agent(), handlers.token_by_accessor, "GET", "11111111-2222-4333-8444-555555555555", auth="x"
        )


@pytest.mark.asyncio
async def test_namespaced_policies_show_their_namespace() -> None:
    agent = make_agent()
    created = body_of(
        await call(agent, handlers.create_policy, "PUT", body={"Name": "p"}, auth=ROOT, query={"ns": "team"})
    )
    assert "team" == created["Namespace"]
    listed = body_of(await call(agent, handlers.list_policies, auth=ROOT, query={"ns": "team"}))
    assert ["p"] == [stub["Name"] for stub in listed]


@pytest.mark.asyncio
async def test_agent_tokens_need_agent_write_then_a_known_kind() -> None:
    agent = make_agent(tokens=ACLTokens(initial_management=ROOT, agent_recovery="recover"))
    with pytest.raises(Forbidden) as caught:
        await call(agent, handlers.set_agent_token, "PUT", "bogus", {"Token": "x"})
    assert (
        f"Permission denied: anonymous token lacks permission 'agent:write' on \"node1\". {ANONYMOUS_TEXT}"
        == (caught.value.text)
    )
    with pytest.raises(NotFound, match=r'^Token "bogus" is unknown$'):
        await call(agent, handlers.set_agent_token, "PUT", "bogus", {"Token": "x"}, "recover")
    response = await call(agent, handlers.set_agent_token, "PUT", "default", {"Token": "x"}, "recover")
    assert (200, b"") == (response.status, response.body)
    assert "x" == agent.acl.agent_token("default")
