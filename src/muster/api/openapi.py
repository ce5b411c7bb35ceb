"""The OpenAPI 3 document of Muster's HTTP API (`GET /v1/openapi.json`): paths and methods come from the
flat route table, what each one takes and answers from api/operations.py's OPERATIONS."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

from aiohttp import web

from muster import __version__
from muster.acl.bodies import BOOTSTRAP_REQUEST
from muster.api import render
from muster.api.operations import (
    JSON,
    OPERATIONS,
    STATUS_ERROR,
    STRING_MAP,
    STRINGS,
    TEXT,
    Json,
    Operation,
)
from muster.bodies import CHECK_UPDATE, TOKEN_UPDATE
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

__all__ = ["OPERATIONS", "build_document", "openapi_document", "openapi_path"]

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
