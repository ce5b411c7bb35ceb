"""The health endpoints (`/v1/health/*`), answered from the catalog with the options, indexes and
headers of api/reads.py (spec consul-reads §5.7-5.10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from muster.api.call import Call
from muster.api.catalog import service_instances
from muster.api.reads import (
    BuildResult,
    blocking,
    filtered,
    meta_matches,
    near_node,
    nearest_first,
    node_meta,
)
from muster.catalog import Catalog, NodeRecord
from muster.catalog import shapes as shape
from muster.errors import BadRequest
from muster.golang import parse_bool
from muster.models import CHECK_STATUSES, PASSING, Check

NodeCheck = tuple[NodeRecord, Check]


def _passing_only(call: Call) -> bool:
    if "passing" not in call.query:
        return False
    raw = call.query["passing"]
    try:
        return raw == "" or parse_bool(raw)
    except ValueError:
        raise BadRequest("Invalid value for ?passing") from None


async def health_service(call: Call) -> web.Response:
    name = call.path_id
    if not name:
        raise BadRequest("Missing service name")
    call.authorize()
    select = service_instances(call, name)
    passing = _passing_only(call)

    def build(catalog: Catalog, index: int) -> Any:
        instances = select(catalog)
        if passing:  # every check passing, the node's included; the order stays `near`'s
            instances = [i for i in instances if all(c.status == PASSING for c in i.checks)]
        return filtered(call, "CheckServiceNode", [shape.check_service_node(i, index) for i in instances])

    return await blocking(call, build, name, cacheable=True)


def _checks(
    call: Call, keep: Callable[[NodeCheck], bool], service: str | None = None, *, by_node: bool = False
) -> BuildResult:
    """Checks as HealthCheck shapes: kept by `keep`, by `node-meta`, and by what the token may read;
    sorted by `near`. One node's checks (`by_node`) read neither, as Consul's handler."""
    call.authorize()  # before any wait: an unknown token is a 403 at once
    namespace = call.namespace()
    wanted = None if by_node else node_meta(call)
    near = "" if by_node else near_node(call)

    def readable(node: NodeRecord, check: Check) -> bool:
        if check.definition.service_id:
            return call.authorize().allowed("service", check.service_name, "read", namespace)
        return call.authorize().allowed("node", node.name, "read")

    def build(catalog: Catalog, index: int) -> Any:
        pairs = [
            (node, check)
            for node, check in catalog.checks(namespace, service)
            if keep((node, check)) and meta_matches(node.meta, wanted) and readable(node, check)
        ]
        pairs = nearest_first(pairs, lambda pair: pair[0].name, near)
        return filtered(
            call, "HealthCheck", [shape.health_check(check, node.name, index) for node, check in pairs]
        )

    return build


async def health_checks(call: Call) -> web.Response:
    name = call.path_id
    if not name:
        raise BadRequest("Missing service name")
    return await blocking(call, _checks(call, lambda pair: pair[1].service_name == name, name), name)


async def health_node(call: Call) -> web.Response:
    name = call.path_id
    if not name:
        raise BadRequest("Missing node name")
    return await blocking(call, _checks(call, lambda pair: pair[0].name == name, by_node=True))


async def health_state(call: Call) -> web.Response:
    state = call.path_id
    if not state:
        raise BadRequest("Missing check state")
    if state != "any" and state not in CHECK_STATUSES:
        raise BadRequest(f"Invalid check state {state!r}: use any, passing, warning or critical")
    return await blocking(call, _checks(call, lambda pair: state == "any" or pair[1].status == state))
