"""The OpenAPI 3 document of Muster's HTTP API (`GET /v1/openapi.json`): paths and methods come from the
flat route table, what each one takes and answers from OPERATIONS below. A route without an entry
makes the document incomplete, and tests/reliability/test_openapi.py fails until one is added."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from muster import __version__
from muster.acl.bodies import BOOTSTRAP_REQUEST, POLICY_BODY, TOKEN_BODY
from muster.api import render
from muster.bodies import CHECK_DEFINITION, CHECK_UPDATE, SERVICE_DEFINITION, TOKEN_UPDATE
from muster.bodytypes import BodyType
from muster.decode import (
    BOOL,
    DURATION,
    HEADER_MAP,
    INT,
    OPAQUE,
    STR,
    STR_LIST,
    STR_MAP,
    STRUCT,
    STRUCT_LIST,
    STRUCT_MAP,
    Schema,
)

if TYPE_CHECKING:
    from muster.api.call import Call
    from muster.api.routes import Route

JSON, TEXT, PROMETHEUS = "application/json", "text/plain", "text/plain; version=0.0.4"
Json = dict[str, Any]
ANY_OBJECT: Json = {"type": "object"}
ANY_ARRAY: Json = {"type": "array"}
STRINGS: Json = {"type": "array", "items": {"type": "string"}}
STRING_MAP: Json = {"type": "object", "additionalProperties": {"type": "string"}}
WEIGHTS: Json = {
    "type": "object",
    "properties": {"Passing": {"type": "integer"}, "Warning": {"type": "integer"}},
}
SERVICE: Json = {
    "type": "object",
    "required": ["ID", "Service", "Tags", "Meta", "Port", "Address", "Weights", "EnableTagOverride"],
    "properties": {
        "ID": {"type": "string"},
        "Service": {"type": "string"},
        "Tags": STRINGS,
        "Meta": STRING_MAP,
        "Port": {"type": "integer"},
        "Address": {"type": "string"},
        "Weights": WEIGHTS,
        "EnableTagOverride": {"type": "boolean"},
        "Datacenter": {"type": "string"},
        "ContentHash": {"type": "string"},
    },
}
CHECK: Json = {
    "type": "object",
    "required": ["Node", "CheckID", "Name", "Status", "Notes", "Output", "ServiceID", "ServiceName"],
    "properties": {
        **{key: {"type": "string"} for key in ("Node", "CheckID", "Name", "Notes", "Output")},
        **{key: {"type": "string"} for key in ("ServiceID", "ServiceName", "Type")},
        "Status": {"enum": ["passing", "warning", "critical", "maintenance"]},
        "ServiceTags": {"type": ["array", "null"], "items": {"type": "string"}},
    },
}
HEALTH: Json = {
    "type": "object",
    "required": ["AggregatedStatus", "Service", "Checks"],
    "properties": {
        "AggregatedStatus": {"enum": ["passing", "warning", "critical", "maintenance"]},
        "Service": {"oneOf": [SERVICE, {"type": "null"}]},
        "Checks": {"oneOf": [{"type": "array", "items": CHECK}, {"type": "null"}]},
    },
}
SUBSYSTEM: Json = {
    "type": "object",
    "required": ["service_version", "service_status_version", "detail_level", "state", "status"],
    "properties": {
        "state": {"enum": ["starting", "running", "stopping", "error", "unknown"]},
        "detail_level": {"enum": ["critical", "info", "debug"]},
        "active_alerts": {"type": "array"},
    },
}
STATUS_ERROR: Json = {"type": "object", "required": ["kind", "msg"]}
_KINDS: dict[str, Json] = {
    STR: {"type": "string"},
    INT: {"type": "integer"},
    BOOL: {"type": "boolean"},
    DURATION: {"type": "string", "pattern": r"^[0-9]{1,5}(ns|us|ms|s|m|h)$"},
    STR_LIST: STRINGS,
    STR_MAP: STRING_MAP,
    HEADER_MAP: {"type": "object", "additionalProperties": STRINGS},
    OPAQUE: {},
}


def body_schema(schema: Schema, seen: frozenset[int] = frozenset()) -> Json:
    """A decode Schema as JSON Schema: canonical field names only (keys also match case-insensitively
    and by their snake_case aliases); a struct nested in itself (a sidecar's sidecar) is left out."""
    properties: Json = {}
    for field in schema.fields:
        if field.alias_of is not None:
            continue
        if field.schema is None:
            properties[field.name] = _KINDS[field.kind]
            continue
        if id(field.schema) in seen:
            continue
        inner = body_schema(field.schema, seen | {id(schema)})
        if field.kind == STRUCT_LIST:
            inner = {"type": "array", "items": inner}
        elif field.kind == STRUCT_MAP:
            inner = {"type": "object", "additionalProperties": inner}
        else:
            assert field.kind == STRUCT
        properties[field.name] = inner
    return {"type": "object", "properties": properties, "additionalProperties": schema.lenient}


@dataclass(frozen=True)
class Operation:
    """One method of one route. `ok` is the 200 body's JSON Schema; None for an empty 200."""

    summary: str
    ok: Json | None = None
    query: tuple[str, ...] = ()
    body: BodyType[Any] | Json | None = None  # a request body's type, or JSON Schema for a hand-decoded one
    errors: tuple[int, ...] = ()  # besides 400 and 403, which any route may answer
    content: tuple[str, ...] = (JSON,)  # of the 200; text bodies are plain strings
    also: tuple[int, ...] = ()  # codes answered with the 200's body: health 429/503, status 503
    status_api: bool = False  # errors are Puppet's JSON {kind, msg}, or text for unknown paths


READ = ("pretty", "token", "ns")
FILTERED = (*READ, "filter")
BLOCKING = ("index", "wait", "stale", "consistent", "cached")
WRITE_ERRORS = (413, 500)  # the body limit; 500 only when the store fails to persist a change
CATALOG = (*FILTERED, *BLOCKING, "dc", "near", "node-meta")
ACL_ERRORS = (401, 404)  # 401 "ACL support disabled"
HEALTH_CODES = (429, 503)
STATUS = ("level", "timeout", "service_status_version")
CATALOG_REGISTRATION: Json = {
    "type": "object",
    "required": ["Node", "Address"],
    "properties": {
        **{key: {"type": "string"} for key in ("ID", "Node", "Address", "Datacenter", "Namespace")},
        "NodeMeta": STRING_MAP,
        "TaggedAddresses": STRING_MAP,
        "Service": {
            "type": "object",
            "properties": {
                **{key: {"type": "string"} for key in ("ID", "Service", "Address")},
                "Tags": STRINGS,
                "Meta": STRING_MAP,
                "Port": {"type": "integer", "minimum": 0, "maximum": 65535},
                "Weights": WEIGHTS,
            },
        },
        "Check": {"type": "object"},
        "Checks": {"type": "array", "items": {"type": "object"}},
    },
}
CATALOG_DEREGISTRATION: Json = {
    "type": "object",
    "required": ["Node"],
    "properties": {
        key: {"type": "string"} for key in ("Node", "ServiceID", "CheckID", "Datacenter", "Namespace")
    },
}
_ALL_SERVICES = {"type": "object", "additionalProperties": SERVICE}
_CHECKS_ARRAY = {"type": "array", "items": CHECK}

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("/v1/agent/services", "GET"): Operation("Services registered on this agent", _ALL_SERVICES, FILTERED),
    ("/v1/agent/service/", "GET"): Operation(
        "One service by ID; hash-based blocking", SERVICE, (*READ, "hash", "index", "wait"), errors=(404,)
    ),
    ("/v1/agent/service/register", "PUT"): Operation(
        "Register or replace a service and its checks",
        None,
        ("token", "ns", "replace-existing-checks"),
        SERVICE_DEFINITION,
        WRITE_ERRORS,
    ),
    ("/v1/agent/service/deregister/", "PUT"): Operation(
        "Deregister a service and its checks", None, ("token", "ns"), None, (404, 500)
    ),
    ("/v1/agent/service/maintenance/", "PUT"): Operation(
        "Service maintenance mode", None, ("token", "ns", "enable", "reason"), None, (404, 500)
    ),
    ("/v1/agent/maintenance", "PUT"): Operation(
        "Node maintenance mode", None, ("token", "enable", "reason"), None, (500,)
    ),
    ("/v1/agent/checks", "GET"): Operation(
        "Checks registered on this agent", {"type": "object", "additionalProperties": CHECK}, FILTERED
    ),
    ("/v1/agent/check/register", "PUT"): Operation(
        "Register a check", None, ("token", "ns"), CHECK_DEFINITION, WRITE_ERRORS
    ),
    ("/v1/agent/check/deregister/", "PUT"): Operation(
        "Deregister a check", None, ("token", "ns"), None, (404, 500)
    ),
    **{
        (f"/v1/agent/check/{verb}/", "PUT"): Operation(
            f"Set a TTL check {verb}", None, ("token", "ns", "note"), None, (404, 500)
        )
        for verb in ("pass", "warn", "fail")
    },
    ("/v1/agent/check/update/", "PUT"): Operation(
        "Set a TTL check's status and output", None, ("token", "ns"), CHECK_UPDATE, (404, *WRITE_ERRORS)
    ),
    ("/v1/agent/health/service/id/", "GET"): Operation(
        "One instance's aggregated health",
        HEALTH,
        (*READ, "format"),
        content=(JSON, TEXT),
        also=(404, *HEALTH_CODES),
    ),
    ("/v1/agent/health/service/name/", "GET"): Operation(
        "Every instance of a service with its aggregated health",
        {"type": "array", "items": HEALTH},
        (*READ, "format"),
        content=(JSON, TEXT),
        also=(404, *HEALTH_CODES),  # 404 for an unknown service, with the same shape
    ),
    ("/v1/agent/self", "GET"): Operation("The agent's configuration and member", ANY_OBJECT, READ),
    ("/v1/agent/members", "GET"): Operation("The cluster members", ANY_ARRAY, (*READ, "wan", "segment")),
    ("/v1/agent/version", "GET"): Operation("The agent's version", ANY_OBJECT, READ),
    ("/v1/agent/reload", "PUT"): Operation("Reload the configuration files", None, ("token",)),
    ("/v1/agent/metrics", "GET"): Operation(
        "Metrics as Consul's JSON, or Prometheus text with ?format=prometheus",
        ANY_OBJECT,
        (*READ, "format"),
        content=(JSON, PROMETHEUS),
    ),
    ("/v1/openapi.json", "GET"): Operation("This document", ANY_OBJECT),
    ("/v1/agent/token/", "PUT"): Operation(
        "Set one of the agent's tokens", None, ("token",), TOKEN_UPDATE, (*ACL_ERRORS, *WRITE_ERRORS)
    ),
    ("/v1/acl/bootstrap", "PUT"): Operation(
        "Bootstrap the ACL system", ANY_OBJECT, (), BOOTSTRAP_REQUEST, (*ACL_ERRORS, *WRITE_ERRORS)
    ),
    ("/v1/acl/policy", "PUT"): Operation(
        "Create a policy", ANY_OBJECT, ("token", "ns"), POLICY_BODY, (*ACL_ERRORS, *WRITE_ERRORS)
    ),
    ("/v1/acl/policy/", "GET"): Operation("Read a policy", ANY_OBJECT, READ, None, ACL_ERRORS),
    ("/v1/acl/policy/", "PUT"): Operation(
        "Update a policy", ANY_OBJECT, ("token", "ns"), POLICY_BODY, (*ACL_ERRORS, *WRITE_ERRORS)
    ),
    ("/v1/acl/policy/", "DELETE"): Operation(
        "Delete a policy", {"type": "boolean"}, ("token", "ns"), None, (*ACL_ERRORS, 500)
    ),
    ("/v1/acl/policy/name/", "GET"): Operation("Read a policy by name", ANY_OBJECT, READ, None, ACL_ERRORS),
    ("/v1/acl/policies", "GET"): Operation("List policies", ANY_ARRAY, READ, None, ACL_ERRORS),
    ("/v1/acl/token", "PUT"): Operation(
        "Create a token", ANY_OBJECT, ("token", "ns"), TOKEN_BODY, (*ACL_ERRORS, *WRITE_ERRORS)
    ),
    ("/v1/acl/token/self", "GET"): Operation("The calling token", ANY_OBJECT, READ, None, ACL_ERRORS),
    ("/v1/acl/token/", "GET"): Operation("Read a token", ANY_OBJECT, READ, None, ACL_ERRORS),
    ("/v1/acl/token/", "PUT"): Operation(
        "Update a token (or clone: /v1/acl/token/{id}/clone)",
        ANY_OBJECT,
        ("token", "ns"),
        TOKEN_BODY,
        (*ACL_ERRORS, *WRITE_ERRORS),
    ),
    ("/v1/acl/token/", "DELETE"): Operation(
        "Delete a token", {"type": "boolean"}, ("token", "ns"), None, (*ACL_ERRORS, 500)
    ),
    ("/v1/acl/tokens", "GET"): Operation(
        "List tokens", ANY_ARRAY, (*READ, "policy", "servicename", "role", "authmethod"), None, ACL_ERRORS
    ),
    ("/v1/catalog/datacenters", "GET"): Operation("Known datacenters", STRINGS, ("pretty",)),
    ("/v1/catalog/services", "GET"): Operation(
        "Service names with their tags", {"type": "object", "additionalProperties": STRINGS}, CATALOG
    ),
    ("/v1/catalog/register", "PUT"): Operation(
        "Register an external node, service or check in the catalog (the local one, or etcd's)",
        {"type": "boolean"},
        ("token", "ns"),
        CATALOG_REGISTRATION,
        WRITE_ERRORS,
    ),
    ("/v1/catalog/deregister", "PUT"): Operation(
        "Deregister an external node, service or check from the catalog",
        {"type": "boolean"},
        ("token", "ns"),
        CATALOG_DEREGISTRATION,
        WRITE_ERRORS,
    ),
    ("/v1/catalog/nodes", "GET"): Operation("Nodes", ANY_ARRAY, CATALOG),
    ("/v1/catalog/service/", "GET"): Operation("Instances of a service", ANY_ARRAY, (*CATALOG, "tag")),
    ("/v1/catalog/node/", "GET"): Operation("A node and its services", {"type": ["object", "null"]}, CATALOG),
    ("/v1/catalog/node-services/", "GET"): Operation(
        "A node and its services as a list", {"type": "object"}, CATALOG
    ),
    ("/v1/health/service/", "GET"): Operation(
        "Instances with node and checks", ANY_ARRAY, (*CATALOG, "tag", "passing")
    ),
    ("/v1/health/checks/", "GET"): Operation("Checks of a service", _CHECKS_ARRAY, CATALOG),
    ("/v1/health/node/", "GET"): Operation("Checks of a node", _CHECKS_ARRAY, CATALOG),
    ("/v1/health/state/", "GET"): Operation("Checks in a state (or `any`)", _CHECKS_ARRAY, CATALOG),
    ("/v1/internal/ui/services", "GET"): Operation("The web UI's service summaries", ANY_ARRAY, CATALOG),
    ("/v1/status/leader", "GET"): Operation("The Raft leader's address", {"type": "string"}, READ),
    ("/v1/status/peers", "GET"): Operation("The Raft peers", STRINGS, READ),
    ("/status/v1/services", "GET"): Operation(
        "Every subsystem's status (Puppet's status API)",
        {"type": "object", "additionalProperties": SUBSYSTEM},
        STATUS,
        errors=(404,),
        also=(503,),
        status_api=True,
    ),
    ("/status/v1/services/", "GET"): Operation(
        "One subsystem's status", SUBSYSTEM, STATUS, errors=(404,), also=(503,), status_api=True
    ),
    ("/status/v1/simple", "GET"): Operation(
        "The worst state as one word",
        None,
        STATUS,
        errors=(404,),
        content=(TEXT,),
        also=(503,),
        status_api=True,
    ),
    ("/status/v1/simple/", "GET"): Operation(
        "One subsystem's state as one word",
        None,
        STATUS,
        errors=(404,),
        content=(TEXT,),
        also=(503,),
        status_api=True,
    ),
}


def openapi_path(route: Route) -> str:
    """A subtree route takes the rest of the path as its ID: `/v1/agent/service/{id}`."""
    return route.path + "{id}" if route.subtree else route.path


def _text(description: str) -> Json:
    return {"description": description, "content": {TEXT: {"schema": {"type": "string"}}}}


def _responses(route: Route, op: Operation) -> Json:
    body: Json = {}
    for content in op.content:
        body[content] = {"schema": op.ok if content == JSON and op.ok is not None else {"type": "string"}}
    ok: Json = {"description": "OK"}
    if op.ok is not None or op.content != (JSON,):
        ok["content"] = body
    responses: Json = {"200": ok}
    for code in op.also:
        responses[str(code)] = {**ok, "description": "The same body, with the status in the code"}
    error = _text("Consul's error text")
    if op.status_api:
        error["content"][JSON] = {"schema": STATUS_ERROR}
    for code in sorted({400, 403, *op.errors}):
        responses[str(code)] = error
    if route.subtree:  # a cleaned path redirects; an ID naming another route's path gets its 405
        responses["301"] = _text("Redirect to the cleaned path (Go ServeMux)")
        responses["405"] = _text("Method not allowed on the route the ID's path reaches")
    return responses


def _operation(route: Route, method: str, op: Operation) -> Json:
    parameters: list[Json] = [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in op.query
    ]
    if route.subtree:
        parameters.insert(0, {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}})
    answer: Json = {"summary": op.summary, "parameters": parameters, "responses": _responses(route, op)}
    if op.body is not None:
        answer["requestBody"] = {
            "required": op.body not in (BOOTSTRAP_REQUEST, CHECK_UPDATE, TOKEN_UPDATE),
            "content": {
                JSON: {"schema": body_schema(op.body.schema) if isinstance(op.body, BodyType) else op.body}
            },
        }
    if method == "HEAD":  # the GET's status and headers, no body
        answer["responses"] = {
            code: {"description": r["description"]} for code, r in answer["responses"].items()
        }
        answer.pop("requestBody", None)
    return answer


def build_document(routes: tuple[Route, ...]) -> Json:
    """Every route and method that has an entry in OPERATIONS; HEAD is described by its GET's entry."""
    paths: Json = {}
    for route in routes:
        for method in route.methods:
            op = OPERATIONS.get((route.path, "GET" if method == "HEAD" else method))
            if op is not None:
                paths.setdefault(openapi_path(route), {})[method.lower()] = _operation(route, method, op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Muster agent HTTP API", "version": __version__},
        "paths": paths,
    }


@functools.cache
def document_bytes() -> bytes:
    from muster.api.routes import ROUTES  # the table imports this module for its handler

    return json.dumps(build_document(ROUTES), separators=(",", ":")).encode()


async def openapi_document(call: Call) -> web.Response:
    return render.json_bytes(document_bytes(), pretty=call.pretty, dev=call.parts.config.dev)
