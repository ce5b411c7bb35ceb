"""What each route of the OpenAPI document takes and answers (api/openapi.py builds the document): the
shared JSON Schemas of Consul's shapes and OPERATIONS, one entry per route and method. A route without an
entry makes the document incomplete, and tests/reliability/test_openapi.py fails until one is added."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from muster.acl.bodies import BOOTSTRAP_REQUEST, POLICY_BODY, TOKEN_BODY
from muster.bodies import CHECK_DEFINITION, CHECK_UPDATE, SERVICE_DEFINITION, TOKEN_UPDATE
from muster.bodytypes import BodyType

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
_INTEGER, _STRING, _BOOLEAN = {"type": "integer"}, {"type": "string"}, {"type": "boolean"}


def _record(**properties: Json) -> Json:
    """An object with exactly these keys, all required (the server shapes Muster builds itself)."""
    return {"type": "object", "required": list(properties), "properties": properties}


RAFT_SERVER = _record(
    ID=_STRING,
    Node=_STRING,
    Address=_STRING,
    Leader=_BOOLEAN,
    ProtocolVersion=_STRING,
    Voter=_BOOLEAN,
    LastIndex=_INTEGER,
)
AUTOPILOT_SERVER = _record(
    ID=_STRING,
    Name=_STRING,
    Address=_STRING,
    SerfStatus={"enum": ["alive", "left", "failed", "none"]},
    Version=_STRING,
    Leader=_BOOLEAN,
    LastContact=_STRING,
    LastTerm=_INTEGER,
    LastIndex=_INTEGER,
    Healthy=_BOOLEAN,
    Voter=_BOOLEAN,
    StableSince={"type": "string", "format": "date-time"},
)
COORDINATE = _record(
    Node=_STRING,
    Segment=_STRING,
    Coord=_record(
        Vec={"type": "array", "items": {"type": "number"}},
        Error={"type": "number"},
        Adjustment={"type": "number"},
        Height={"type": "number"},
    ),
)
OPERATOR = ("pretty", "token", "dc", "stale", "consistent")
_CHECKS_ARRAY = {"type": "array", "items": CHECK}


def _state_word(summary: str) -> Operation:
    """A status API answer that is one word of text, with 503 while not running."""
    return Operation(summary, None, STATUS, errors=(404,), content=(TEXT,), also=(503,), status_api=True)


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
    ("/v1/operator/raft/configuration", "GET"): Operation(
        "The catalog's servers as Raft peers (this agent, or the etcd members); needs operator:read",
        _record(Servers={"type": "array", "items": RAFT_SERVER}, Index=_INTEGER),
        OPERATOR,
    ),
    ("/v1/operator/autopilot/health", "GET"): Operation(
        "The servers' health; 429 with the same body when one is unhealthy; needs operator:read",
        _record(
            Healthy=_BOOLEAN,
            FailureTolerance=_INTEGER,
            Servers={"type": "array", "items": AUTOPILOT_SERVER},
        ),
        OPERATOR,
        also=(429,),
    ),
    ("/v1/coordinate/nodes", "GET"): Operation(
        "Network coordinates: this node's fresh one (Muster measures none)",
        {"type": "array", "items": COORDINATE},
        (*OPERATOR, "segment", "index", "wait", "cached"),
    ),
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
    ("/status/v1/simple", "GET"): _state_word("The worst state as one word"),
    ("/status/v1/simple/", "GET"): _state_word("One subsystem's state as one word"),
}
