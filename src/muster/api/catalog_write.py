"""`PUT /v1/catalog/register` and `/v1/catalog/deregister`: external nodes, services and checks, in the
fleet catalog (catalog.backend = etcd) or the local one (kept in the embedded store). Answers `true`,
as Consul's. Every mistake is a 400 naming the field; an agent's own node is refused (its agent owns
it). Both catalogs apply catalog/external_entries.py's rules."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from muster.api import render
from muster.api.call import Call
from muster.catalog import NodeRecord
from muster.catalog.external_entries import Registration, deregistered, registered
from muster.decode import check_nesting
from muster.errors import BadRequest, DecodeError
from muster.models import CHECK_STATUSES, CRITICAL, Check, CheckDefinition, Service


def _fields(value: Any, where: str) -> dict[str, Any]:
    """A JSON object with its keys folded to lower case (Go's encoding/json matches keys that way)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRequest(f"Request decode failed: {where} must be an object")
    return {str(key).lower(): item for key, item in value.items()}


def _text(fields: dict[str, Any], key: str, where: str) -> str:
    value = fields.get(key.lower(), "")
    if not isinstance(value, str):
        raise BadRequest(f"Request decode failed: {where}{key} must be a string")
    return value


def _int(fields: dict[str, Any], key: str, where: str, default: int) -> int:
    value = fields.get(key.lower())
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not -(1 << 63) <= value < 1 << 63:
        raise BadRequest(f"Request decode failed: {where}{key} must be an integer")
    return value


def _strings(fields: dict[str, Any], key: str, where: str) -> dict[str, str]:
    value = fields.get(key.lower()) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"Request decode failed: {where}{key} must be an object of strings")
    return {str(k): v for k, v in value.items()}


async def _body(call: Call) -> dict[str, Any]:
    body = await call.body() or b"null"
    try:
        check_nesting(body)
        return _fields(msgspec.json.decode(body), "the body")
    except DecodeError as exc:
        raise BadRequest(f"Request decode failed: {exc.text}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"Request decode failed: {exc}") from None


def _service(fields: dict[str, Any], namespace: str) -> Service:
    name = _text(fields, "Service", "Service.")
    if not name:
        raise BadRequest("Must provide service name (Service.Service)")
    port = fields.get("port", 0)
    if not isinstance(port, int) or isinstance(port, bool) or port < -(1 << 63):
        raise BadRequest("Request decode failed: Service.Port must be a number")
    if port > 65535:  # negative ports are kept, as Consul's; no port above 65535 (differences.md)
        raise BadRequest(f"Invalid Service.Port: {port} is not a port (the largest is 65535)")
    tags = fields.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise BadRequest("Request decode failed: Service.Tags must be a list of strings")
    weights = _fields(fields.get("weights"), "Service.Weights")
    return Service(
        id=_text(fields, "ID", "Service.") or name,
        name=name,
        tags=tags,
        meta=_strings(fields, "Meta", "Service."),
        port=port,
        address=_text(fields, "Address", "Service."),
        weights_passing=_int(weights, "Passing", "Service.Weights.", 1) or 1,
        weights_warning=_int(weights, "Warning", "Service.Weights.", 1) or 1,
        namespace=namespace,
    )


def _check(raw: Any, namespace: str) -> Check:
    fields = _fields(raw, "Check")
    check_id = _text(fields, "CheckID", "Check.") or _text(fields, "Name", "Check.")
    if not check_id:
        raise BadRequest("Must provide a CheckID or Name for each check")
    status = _text(fields, "Status", "Check.") or CRITICAL
    if status not in CHECK_STATUSES:
        raise BadRequest(f"Invalid check status {status!r}: use passing, warning or critical")
    return Check(
        definition=CheckDefinition(
            check_id=check_id,
            name=_text(fields, "Name", "Check.") or check_id,
            namespace=namespace,
            service_id=_text(fields, "ServiceID", "Check."),
            notes=_text(fields, "Notes", "Check."),
        ),
        status=status,
        output=_text(fields, "Output", "Check."),
    )


async def catalog_register(call: Call) -> web.Response:
    body = await _body(call)
    namespace = call.namespace(_text(body, "Namespace", ""))
    node_name = _text(body, "Node", "")
    if not node_name:
        raise BadRequest("Must provide node")
    address = _text(body, "Address", "")
    if not address:
        raise BadRequest("Must provide address")
    authz = call.authorize()
    authz.require("node", node_name, "write")
    service = _service(_fields(body["service"], "Service"), namespace) if body.get("service") else None
    if service is not None:
        authz.require("service", service.name, "write", namespace)
    listed = body.get("checks") or []
    if not isinstance(listed, list):
        raise BadRequest("Request decode failed: Checks must be a list")
    raw_checks = listed + ([body["check"]] if body.get("check") else [])  # Consul appends Check to Checks
    record = NodeRecord(
        _text(body, "ID", ""),
        node_name,
        address,
        call.parts.config.datacenter,
        _strings(body, "NodeMeta", ""),
    )
    registration = Registration(
        record, service, [_check(raw, namespace) for raw in raw_checks], bool(body.get("skipnodeupdate"))
    )

    def require_service_write(name: str) -> None:
        authz.require("service", name, "write", namespace)

    await call.parts.external.change(
        node_name, lambda before: registered(before, registration, require_service_write)
    )
    return render.json_bytes(b"true", pretty=call.pretty, dev=False)


async def catalog_deregister(call: Call) -> web.Response:
    body = await _body(call)
    call.namespace(_text(body, "Namespace", ""))  # validated; service IDs are unique per node here
    node_name = _text(body, "Node", "")
    if not node_name:
        raise BadRequest("Must provide node")
    call.authorize().require("node", node_name, "write")
    service_id, check_id = _text(body, "ServiceID", ""), _text(body, "CheckID", "")
    await call.parts.external.change(node_name, lambda before: deregistered(before, service_id, check_id))
    return render.json_bytes(b"true", pretty=call.pretty, dev=False)
