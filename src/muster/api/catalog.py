"""The catalog and health endpoints (`/v1/catalog/*`, `/v1/health/*`), answered from the catalog
with `X-Consul-Index` and index-based blocking (§4.2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from muster.api import render
from muster.api.call import Call
from muster.api.filtering import apply_filter
from muster.blocking import effective_wait
from muster.catalog import Catalog, Instance, NodeRecord, Scope
from muster.catalog import shapes as shape
from muster.errors import BadRequest
from muster.golang import encode_json, parse_bool
from muster.models import CHECK_STATUSES, PASSING, Check

# Builds an answer from the catalog `?dc=` names (resolved once per request) at the given index.
BuildResult = Callable[[Catalog, int], Any]


async def blocking(
    call: Call, build: BuildResult, service: str | None = None, *, nodes_only: bool = False
) -> web.Response:
    """Validate the query options, open the catalog view the query reads (one service's, or the whole
    namespace's), block while its index is not past `?index=`, answer with Consul's headers."""
    wait_ns = call.wait_nanos()
    index = call.index()
    query = call.query
    if "stale" in query and "consistent" in query:
        raise BadRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")
    if "cached" in query and "consistent" in query:
        raise BadRequest("Cannot specify ?cached with ?consistent, conflicting semantics.")
    catalog = _catalog(call)
    namespace = call.namespace()
    scope = Scope(namespace, service, nodes_only)
    await catalog.open(scope, consistent="consistent" in query)
    if index > 0:
        await catalog.wait_for_change(scope, index, effective_wait(wait_ns))
        call.reauthorize()  # the token may have been deleted or its rules changed while it waited
    current = max(1, catalog.index(scope))
    key = _cache_key(call, namespace)
    # A reload replaces the config (node meta, addresses): it is part of what an answer was built from.
    marker = (current, call.parts.state.output_version, id(call.parts.config))
    body = call.parts.catalog_bodies.get(key, marker) if key is not None else None
    if body is None:
        body = encode_json(build(catalog, current))
        if key is not None:
            call.parts.catalog_bodies.put(key, marker, body)
    response = render.json_bytes(body, pretty=call.pretty, dev=call.parts.config.dev)
    contact = catalog.contact()
    response.headers["X-Consul-Index"] = str(current)
    response.headers["X-Consul-KnownLeader"] = "true" if contact.known_leader else "false"
    response.headers["X-Consul-LastContact"] = str(contact.last_contact_ms)
    return response


_NOT_IN_KEY = frozenset({"index", "wait", "stale", "consistent", "cached", "pretty"})


def _cache_key(call: Call, namespace: str) -> tuple[str, str, tuple[str, ...]] | None:
    """What an answer depends on besides the catalog: the path and query (all of it, `tag` repeats
    included, less the blocking and formatting options). With ACLs on, answers depend on the token
    and its policies too: those are not cached."""
    if call.parts.acl.enabled:
        return None
    pairs = call.request.rel_url.raw_query_string.split("&")
    # In order: a repeated parameter's first value is the one read, so order is part of the answer.
    kept = tuple(p for p in pairs if p.partition("=")[0] not in _NOT_IN_KEY)
    return call.request.path, namespace, kept


def _filtered(call: Call, schema: str, items: list[Any]) -> list[Any]:
    expression = call.query.get("filter", "")
    return apply_filter(expression, schema, items, lambda item: item) if expression else items


def _tags_match(instance: Instance, tags: list[str]) -> bool:
    """Every asked tag on the instance: the repeats asked for once each, against a set when several."""
    wanted = set(tags)
    have = instance.service.tags
    if len(wanted) > 1 and len(have) > 8:
        return wanted <= set(have)
    return all(tag in have for tag in wanted)


def _catalog(call: Call) -> Catalog:
    """The catalog for `?dc=` (this agent's datacenter when absent)."""
    datacenter = call.query.get("dc") or call.parts.config.datacenter
    catalog = call.parts.catalog.in_datacenter(datacenter)
    if catalog is None:  # Consul answers 500; naming a datacenter that does not exist is the client's mistake
        raise BadRequest("No path to datacenter")
    return catalog


async def catalog_datacenters(call: Call) -> web.Response:
    return render.json_bytes(encode_json(call.parts.catalog.datacenters()), pretty=call.pretty, dev=False)


def _visible(call: Call, namespace: str, instance: Instance) -> bool:
    authz = call.authorize()  # read when the answer is built: after any wait, the token's rules now
    return authz.allowed("service", instance.service.name, "read", namespace) and authz.allowed(
        "node", instance.node.name, "read"
    )


async def catalog_services(call: Call) -> web.Response:
    call.authorize()  # before any wait: an unknown token is a 403 at once
    namespace = call.namespace()

    def build(catalog: Catalog, index: int) -> Any:
        services = catalog.services(namespace)
        return {
            name: tags
            for name, tags in services.items()
            if call.authorize().allowed("service", name, "read", namespace)
        }

    return await blocking(call, build, nodes_only=True)


async def catalog_nodes(call: Call) -> web.Response:
    call.authorize()  # before any wait: an unknown token is a 403 at once
    namespace = call.namespace()

    def build(catalog: Catalog, index: int) -> Any:
        nodes = [n for n in catalog.nodes(namespace) if call.authorize().allowed("node", n.name, "read")]
        return _filtered(call, "Node", [shape.node(n, index) for n in nodes])

    return await blocking(call, build, nodes_only=True)


async def catalog_service(call: Call) -> web.Response:
    name = call.path_id
    if not name:
        raise BadRequest("Missing service name")
    call.authorize()
    namespace = call.namespace()
    tags = call.request.rel_url.query.getall("tag", [])

    def build(catalog: Catalog, index: int) -> Any:
        instances = [
            i
            for i in catalog.instances(namespace, name)
            if _tags_match(i, tags) and _visible(call, namespace, i)
        ]
        return _filtered(call, "ServiceNode", [shape.service_node(i, index) for i in instances])

    return await blocking(call, build, name)


async def catalog_node(call: Call) -> web.Response:
    name = call.path_id
    if not name:
        raise BadRequest("Missing node name")
    call.authorize()  # before any wait: an unknown token is a 403 at once
    namespace = call.namespace()

    def build(catalog: Catalog, index: int) -> Any:
        record = catalog.node(name)
        if record is None or not call.authorize().allowed("node", name, "read"):
            return None
        instances = [i for i in catalog.instances(namespace, node=name) if _visible(call, namespace, i)]
        return {
            "Node": shape.node(record, index),
            "Services": {
                i.service.id: shape.node_service(i.service, i.create_index or index, i.modify_index or index)
                for i in instances
            },
        }

    return await blocking(call, build)


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
    namespace = call.namespace()
    passing = _passing_only(call)
    tags = call.request.rel_url.query.getall("tag", [])

    def build(catalog: Catalog, index: int) -> Any:
        instances = [
            i
            for i in catalog.instances(namespace, name)
            if _tags_match(i, tags)
            and _visible(call, namespace, i)
            and (not passing or all(c.status == PASSING for c in i.checks))
        ]
        return _filtered(call, "CheckServiceNode", [shape.check_service_node(i, index) for i in instances])

    return await blocking(call, build, name)


def _checks(call: Call, keep: Callable[[Any], bool], service: str | None = None) -> BuildResult:
    call.authorize()  # before any wait: an unknown token is a 403 at once
    namespace = call.namespace()

    def readable(node: NodeRecord, check: Check) -> bool:
        if check.definition.service_id:
            return call.authorize().allowed("service", check.service_name, "read", namespace)
        return call.authorize().allowed("node", node.name, "read")

    def build(catalog: Catalog, index: int) -> Any:
        checks = [
            shape.health_check(check, node.name, index)
            for node, check in catalog.checks(namespace, service)
            if keep((node, check)) and readable(node, check)
        ]
        return _filtered(call, "HealthCheck", checks)

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
    return await blocking(call, _checks(call, lambda pair: pair[0].name == name))


async def health_state(call: Call) -> web.Response:
    state = call.path_id
    if not state:
        raise BadRequest("Missing check state")
    if state != "any" and state not in CHECK_STATUSES:
        raise BadRequest(f"Invalid check state {state!r}: use any, passing, warning or critical")
    return await blocking(call, _checks(call, lambda pair: state == "any" or pair[1].status == state))
