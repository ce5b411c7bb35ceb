"""The catalog endpoints (`/v1/catalog/*` reads), answered from the catalog with the options, indexes
and headers of api/reads.py (spec consul-reads §5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from muster.api import render
from muster.api.call import Call
from muster.api.reads import (
    blocking,
    check_cache_control,
    check_consistency,
    filtered,
    meta_matches,
    near_node,
    nearest_first,
    node_meta,
    tags_match,
)
from muster.catalog import Catalog, Instance
from muster.catalog import shapes as shape
from muster.errors import BadRequest
from muster.golang import encode_json


async def catalog_datacenters(call: Call) -> web.Response:
    """Consul reads only the consistency flags and Cache-Control here (and answers a conflict with the
    400 and the list appended: Muster sends the 400 alone)."""
    query = call.query
    check_consistency(query, "stale" in query)
    check_cache_control(call.header("Cache-Control"))
    response = render.json_bytes(encode_json(call.parts.catalog.datacenters()), pretty=call.pretty, dev=False)
    if "cached" in query:
        response.headers["X-Cache"] = "HIT"  # the agent knows the list itself: always current
        response.headers["Age"] = "0"
    return response


def visible(call: Call, namespace: str, instance: Instance) -> bool:
    authz = call.authorize()  # read when the answer is built: after any wait, the token's rules now
    return authz.allowed("service", instance.service.name, "read", namespace) and authz.allowed(
        "node", instance.node.name, "read"
    )


async def catalog_services(call: Call) -> web.Response:
    """Service names and their tags. With `filter` or `node-meta` the instances are read and filtered
    one by one (Consul filters each ServiceNode before it aggregates), and the tags are the union of
    the matching instances' only."""
    call.authorize()  # before any wait: an unknown token is a 403 at once
    namespace = call.namespace()
    wanted = node_meta(call)
    by_instance = wanted is not None or bool(call.query.get("filter"))

    def build(catalog: Catalog, index: int) -> Any:
        if by_instance:
            instances = [i for i in catalog.instances(namespace) if meta_matches(i.node.meta, wanted)]
            tags: dict[str, set[str]] = {}
            for node in filtered(call, "ServiceNode", [shape.service_node(i, index) for i in instances]):
                tags.setdefault(node["ServiceName"], set()).update(node["ServiceTags"])
            services = {name: sorted(tags[name]) for name in sorted(tags)}
        else:
            services = catalog.services(namespace)
        authz = call.authorize()
        return {
            name: tags for name, tags in services.items() if authz.allowed("service", name, "read", namespace)
        }

    return await blocking(call, build, nodes_only=not by_instance, cacheable=True)


async def catalog_nodes(call: Call) -> web.Response:
    call.authorize()  # before any wait: an unknown token is a 403 at once
    namespace = call.namespace()
    wanted = node_meta(call)
    near = near_node(call)

    def build(catalog: Catalog, index: int) -> Any:
        authz = call.authorize()
        nodes = [
            n
            for n in catalog.nodes(namespace)
            if meta_matches(n.meta, wanted) and authz.allowed("node", n.name, "read")
        ]
        nodes = nearest_first(nodes, lambda n: n.name, near)
        return filtered(call, "Node", [shape.node(n, index) for n in nodes])

    return await blocking(call, build, nodes_only=True)


def service_instances(call: Call, name: str) -> Callable[[Catalog], list[Instance]]:
    """The instances of service `name` a catalog or health read answers: every asked `tag`, the
    `node-meta` pairs and what the token may read, the `near` node's first."""
    namespace = call.namespace()
    tags = call.request.rel_url.query.getall("tag", [])
    wanted = node_meta(call)
    near = near_node(call)

    def select(catalog: Catalog) -> list[Instance]:
        instances = [
            i
            for i in catalog.instances(namespace, name)
            if tags_match(i.service.tags, tags)
            and meta_matches(i.node.meta, wanted)
            and visible(call, namespace, i)
        ]
        return nearest_first(instances, lambda i: i.node.name, near)

    return select


async def catalog_service(call: Call) -> web.Response:
    name = call.path_id
    if not name:
        raise BadRequest("Missing service name")
    call.authorize()
    select = service_instances(call, name)

    def build(catalog: Catalog, index: int) -> Any:
        return filtered(call, "ServiceNode", [shape.service_node(i, index) for i in select(catalog)])

    return await blocking(call, build, name, cacheable=True)


def _node_services(call: Call, catalog: Catalog, namespace: str, index: int) -> tuple[Any, list[Any]] | None:
    """The node's record and its services' NodeService shapes (filtered), or None when unknown."""
    name = call.path_id
    record = catalog.node(name)
    if record is None or not call.authorize().allowed("node", name, "read"):
        return None
    instances = [i for i in catalog.instances(namespace, node=name) if visible(call, namespace, i)]
    services = [
        shape.node_service(i.service, i.create_index or index, i.modify_index or index) for i in instances
    ]
    return shape.node(record, index), filtered(call, "NodeService", services)


async def catalog_node(call: Call) -> web.Response:
    if not call.path_id:
        raise BadRequest("Missing node name")
    call.authorize()  # before any wait: an unknown token is a 403 at once
    namespace = call.namespace()

    def build(catalog: Catalog, index: int) -> Any:
        found = _node_services(call, catalog, namespace, index)
        if found is None:
            return None  # Consul answers 200 null for a node it does not know
        node, services = found
        return {"Node": node, "Services": {service["ID"]: service for service in services}}

    return await blocking(call, build)


async def catalog_node_services(call: Call) -> web.Response:
    """`/v1/catalog/node-services/:node` (Consul 1.13+): the node's services as a list."""
    if not call.path_id:
        raise BadRequest("Missing node name")
    call.authorize()
    namespace = call.namespace()

    def build(catalog: Catalog, index: int) -> Any:
        found = _node_services(call, catalog, namespace, index)
        if found is None:
            return {"Node": None, "Services": None}
        node, services = found
        return {"Node": node, "Services": services or None}

    return await blocking(call, build)
