"""Network coordinates, `/v1/coordinate/nodes` (consul-reads §8.4). Muster measures none: it lists this
node alone, with the fresh coordinate `/v1/agent/self` reports, so no client computes a round-trip
time between two coordinates nobody measured (Netdata then charts none)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from muster.api import render
from muster.api.call import Call
from muster.api.reads import catalog_for, read_options, set_read_headers
from muster.blocking import effective_wait

# A fresh Vivaldi coordinate, as a Consul agent starts with.
FRESH_COORDINATE: dict[str, Any] = {
    "Vec": [0, 0, 0, 0, 0, 0, 0, 0],
    "Error": 1.5,
    "Adjustment": 0,
    "Height": 0.00001,
}
COORDINATES_INDEX = 1  # they never change
_NOTHING_CHANGES = ("coordinates",)  # a waiter key nothing notifies: only the wait or shutdown ends it


async def coordinate_nodes(call: Call) -> web.Response:
    options = read_options(call)
    catalog = catalog_for(call)
    authz = call.authorize()
    if options.index >= COORDINATES_INDEX:
        await call.parts.state.waiters.wait(_NOTHING_CHANGES, effective_wait(options.wait_ns))
        authz = call.reauthorize()
    config = call.parts.config
    here = (call.query.get("dc") or config.datacenter) == config.datacenter
    nodes = [{"Node": config.node_name, "Segment": "", "Coord": FRESH_COORDINATE}]
    if not here or call.query.get("segment"):
        nodes = []
    nodes, removed = authz.filter(nodes, "node", lambda node: str(node["Node"]))
    response = render.answer(call, nodes)
    set_read_headers(response, options, COORDINATES_INDEX, catalog.contact())
    if authz.filtered_header(removed):
        response.headers["X-Consul-Results-Filtered-By-ACLs"] = "true"
    return response
