"""The OpenAPI document at /v1/openapi.json stays true to the route table: every route and method has
an entry, and nothing else does (a new route fails here until OPERATIONS in api/operations.py has a line)."""

from __future__ import annotations

import json

from muster.api.openapi import OPERATIONS, build_document, openapi_path
from muster.api.routes import ROUTES
from tests.agentproc import AgentProcess


def route_table() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for route in ROUTES:
        table.setdefault(openapi_path(route), set()).update(m.lower() for m in route.methods)
    return table


def test_every_route_and_method_has_an_operation() -> None:
    missing = [
        f"{method} {route.path}"
        for route in ROUTES
        for method in route.methods
        if (route.path, "GET" if method == "HEAD" else method) not in OPERATIONS
    ]
    assert [] == missing, "add an Operation to OPERATIONS in src/muster/api/operations.py for each"


def test_document_paths_and_methods_are_the_route_table() -> None:
    document = build_document(ROUTES)
    assert route_table() == {path: set(methods) for path, methods in document["paths"].items()}
    assert "/v1/agent/service/{id}" in document["paths"]
    assert "/v1/agent/service/register" in document["paths"]


def test_subtree_routes_take_the_id_as_a_path_parameter() -> None:
    document = build_document(ROUTES)
    get_service = document["paths"]["/v1/agent/service/{id}"]["get"]
    assert {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}} in get_service[
        "parameters"
    ]
    register = document["paths"]["/v1/agent/service/register"]["put"]
    properties = register["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert {"type": "string"} == properties["Name"]
    assert "object" == properties["Check"]["type"]
    assert "enable_tag_override" not in properties  # aliases are accepted, not advertised


def test_the_agent_serves_the_document(agent: AgentProcess) -> None:
    reply = agent.get("/v1/openapi.json")
    assert (200, "application/json") == (reply.status, reply.header("Content-Type"))
    served = reply.json()
    assert "3.1.0" == served["openapi"]
    assert json.loads(json.dumps(build_document(ROUTES))) == served
