"""`/v1/agent/health/service/id/:id` and `/name/:name`: the aggregated local health of a service
instance, as JSON or text, with 200/429/503/404 (§2.7). HEAD answers the status alone."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from muster.agent.state import LocalState, ServiceEntry
from muster.api import render
from muster.api.call import Call
from muster.errors import BadRequest
from muster.golang import encode_json
from muster.models import CRITICAL, MAINTENANCE, PASSING, WARNING, Check, aggregate_status, health_check

STATUS_CODES = {PASSING: 200, WARNING: 429, CRITICAL: 503, MAINTENANCE: 503}
TEXT_PLAIN = "text/plain"


def _wants_text(call: Call) -> bool:
    if call.request.headers.get("Accept", "").startswith("text/plain"):
        return True
    return call.query.get("format", "") == "text"


def _instance(call: Call, entry: ServiceEntry) -> tuple[str, list[Check]]:
    """An instance's aggregate over its own checks and every node-level check (§2.7)."""
    checks = instance_checks(call.parts.state, entry)
    return aggregate_status(checks), checks


def instance_checks(state: LocalState, entry: ServiceEntry) -> list[Check]:
    service = entry.service
    return state.checks_of(service.namespace, service.id) + state.node_checks_in(service.namespace)


def worst_status(statuses: Iterable[str]) -> str:
    """The instance status with the highest HTTP code (the first of equals), as /name/ answers."""
    return max(statuses, key=STATUS_CODES.__getitem__)


def instance_status(state: LocalState, entry: ServiceEntry) -> str:
    """The aggregate alone (the fast path's text answer)."""
    return aggregate_status(instance_checks(state, entry))


def _info(call: Call, entry: ServiceEntry, status: str, checks: list[Check]) -> dict[str, Any]:
    node = call.parts.config.node_name
    return {
        "AggregatedStatus": status,
        "Service": entry.wire,
        "Checks": [health_check(c, node) for c in checks],
    }


def _respond(call: Call, status_code: int, reason: str, text_body: str, json_body: Any) -> web.Response:
    if _wants_text(call):
        response = render.text(text_body, status_code, TEXT_PLAIN)
    else:
        response = render.json_bytes(
            encode_json(json_body), pretty=call.pretty, dev=False, status=status_code
        )
    response.headers["X-Consul-Reason"] = render.header_text(reason)  # it carries the path's ID
    return response  # aiohttp sends no body for HEAD, with the GET's Content-Length


async def health_by_id(call: Call) -> web.Response:
    service_id = call.path_id
    if not service_id:
        raise BadRequest("Missing serviceID")
    authz = call.authorize()
    namespace = call.namespace()
    entry = call.parts.state.service(namespace, service_id)
    if entry is None:  # no ACL check on this path (§2.7)
        reason = f"ServiceId {service_id} not found"
        return _respond(
            call, 404, reason, reason, {"AggregatedStatus": CRITICAL, "Service": None, "Checks": None}
        )
    authz.require("service", entry.service.name, "read", namespace)
    status, checks = _instance(call, entry)
    info = None if _wants_text(call) else _info(call, entry, status, checks)  # text needs only the word
    return _respond(call, STATUS_CODES[status], status, status, info)


async def health_by_name(call: Call) -> web.Response:
    name = call.path_id
    if not name:
        raise BadRequest("Missing service Name")
    authz = call.authorize()
    namespace = call.namespace()
    authz.require("service", name, "read", namespace)  # before the lookup: 403 beats 404 (§2.7)
    text = _wants_text(call)
    entries = call.parts.state.services_named(namespace, name)
    if not entries:
        reason = f"ServiceName {name} Not Found"
        return _respond(call, 404, reason, reason, [])
    results = [_instance(call, entry) for entry in entries]
    worst = worst_status(status for status, _ in results)
    infos = [
        None if text else _info(call, entry, status, checks)
        for entry, (status, checks) in zip(entries, results, strict=True)
    ]
    return _respond(call, STATUS_CODES[worst], worst, worst, infos)
