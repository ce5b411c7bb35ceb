"""Every public go-bexpr vector on the AgentService schema, through GET /v1/agent/services?filter=
on a real agent holding the vectors' fixture services (the other schemas run through the module in
tests/unit/test_filter.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.agentproc import AgentProcess

VECTORS_FILE = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "bexpr_vectors.json"
VECTORS = [v for v in json.loads(VECTORS_FILE.read_text()) if v["schema"] == "AgentService"]

# The wire keys a registration body spells differently, or that the agent fills in itself.
_RENAMED = {"Service": "Name"}
_DROPPED = {"Datacenter", "SocketPath"}


def registration_body(data: dict[str, Any]) -> dict[str, Any]:
    """The registration whose AgentService wire shape is `data` (bexpr.md §5.2)."""
    return {_RENAMED.get(key, key): value for key, value in data.items() if key not in _DROPPED}


@pytest.fixture(scope="module")
def fixture_agent() -> Iterator[AgentProcess]:
    """One agent; each vector's data is registered in a namespace named after the vector."""
    agent = AgentProcess().start()
    try:
        yield agent
    finally:
        agent.close()


def test_every_agent_service_vector_is_exercised() -> None:
    assert len(VECTORS) >= 121


def register(agent: AgentProcess, vector: dict[str, Any]) -> int:
    body = registration_body(vector["data"])
    return agent.put(f"/v1/agent/service/register?ns={vector['id']}", body).status


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_vector_through_http(fixture_agent: AgentProcess, vector: dict[str, Any]) -> None:
    namespace = vector["id"]
    if register(fixture_agent, vector) != 200:
        # Only Meta keys Consul itself refuses (e.g. "é") cannot be registered: those few vectors
        # go through the same compiled filter in tests/unit/test_filter.py.
        assert any(not key.isascii() for key in vector["data"].get("Meta", {})), vector["id"]
        return
    registered = fixture_agent.get(f"/v1/agent/services?ns={namespace}").json()[vector["data"]["ID"]]
    for key, value in vector["data"].items():
        if key not in ("TaggedAddresses", "Datacenter"):
            assert value == registered.get(key, value), key
    reply = fixture_agent.get(f"/v1/agent/services?ns={namespace}&filter=" + quote(vector["expr"], safe=""))
    if vector.get("panic"):
        # go-bexpr panics on a null Proxy/Connect; Muster answers as for a missing value (false).
        assert (200, {}) == (reply.status, reply.json())
        return
    if vector["expect"] == "error":
        assert (400, vector["error"]) == (reply.status, reply.text)
        return
    assert 200 == reply.status, reply.text
    assert vector["expect"] == (vector["data"]["ID"] in reply.json())


def test_filter_on_agent_checks_uses_the_health_check_schema(agent: AgentProcess) -> None:
    agent.put("/v1/agent/service/register", {"Name": "redis", "Check": {"TTL": "60s"}})
    agent.put("/v1/agent/service/register", {"Name": "web", "Check": {"TTL": "60s", "Status": "passing"}})
    reply = agent.get("/v1/agent/checks?filter=" + quote('ServiceName matches "red.*"'))
    assert ["service:redis"] == list(reply.json())
    bad = agent.get("/v1/agent/checks?filter=" + quote("Service == web"))
    assert (400, 'Failed to create boolean expression evaluator: Selector "Service" is not valid') == (
        bad.status,
        bad.text,
    )


def test_filter_on_health_and_catalog_service(agent: AgentProcess) -> None:
    agent.put("/v1/agent/service/register", {"Name": "web", "ID": "a", "Port": 1, "Tags": ["x"]})
    agent.put("/v1/agent/service/register", {"Name": "web", "ID": "b", "Port": 2})
    health = agent.get("/v1/health/service/web?filter=" + quote('"x" in Service.Tags')).json()
    assert ["a"] == [entry["Service"]["ID"] for entry in health]
    catalog = agent.get("/v1/catalog/service/web?filter=" + quote("ServicePort == 2")).json()
    assert ["b"] == [entry["ServiceID"] for entry in catalog]


def test_whitespace_only_filter_is_a_syntax_error_but_empty_is_none(agent: AgentProcess) -> None:
    agent.put("/v1/agent/service/register", {"Name": "web"})
    assert ["web"] == list(agent.get("/v1/agent/services?filter=").json())
    reply = agent.get("/v1/agent/services?filter=%20")
    assert 400 == reply.status
    assert reply.text.startswith("Failed to create boolean expression evaluator: 1:2 (1): no match found")


def test_absurd_filters_are_refused_quickly(agent: AgentProcess) -> None:
    deep = agent.get("/v1/agent/services?filter=" + quote("(" * 300 + "Port == 1" + ")" * 300))
    assert 400 == deep.status
    assert "parentheses nest deeper than 256 levels" in deep.text
    huge = agent.request("GET", "/v1/agent/services?filter=" + "a" * 70_000)
    assert huge.status in (400, 414)
