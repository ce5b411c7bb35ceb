"""The catalog's servers as Consul reports its Raft servers: `/v1/status/leader` and `/peers` (agent spec
§2.14), `/v1/operator/raft/configuration` and `/v1/operator/autopilot/health` (consul-reads §8.1-8.3).
Which servers: catalog/servers.py (this agent with the embedded store, the etcd members on etcd)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from muster.api import render
from muster.api.call import Call
from muster.api.reads import catalog_for, read_options
from muster.catalog.servers import ServerView
from muster.errors import BadRequest
from muster.golang import format_duration, format_time

RAFT_PROTOCOL = "3"


def _check_consistency(call: Call) -> None:
    call.wait_nanos()
    call.index()
    if "stale" in call.query and "consistent" in call.query:
        raise BadRequest("Cannot specify ?stale with ?consistent, conflicting semantics.")


async def status_leader(call: Call) -> web.Response:
    _check_consistency(call)
    view = await call.parts.servers.view()
    return render.answer(call, view.leader_address)


async def status_peers(call: Call) -> web.Response:
    _check_consistency(call)
    view = await call.parts.servers.view()
    return render.answer(call, [server.address for server in view.servers if server.address])


async def _operator_view(call: Call) -> ServerView:
    """Consul's order: the query options and `?dc=` (400s), then `operator:read` (403), then the answer."""
    read_options(call)
    catalog_for(call)  # the servers answer for every datacenter the catalog reaches
    call.authorize().require("operator")
    return await call.parts.servers.view()


async def raft_configuration(call: Call) -> web.Response:
    view = await _operator_view(call)
    servers = [
        {
            "ID": server.id,
            "Node": server.name,
            "Address": server.address,
            "Leader": server.leader,
            "ProtocolVersion": RAFT_PROTOCOL,
            "Voter": server.voter,
            "LastIndex": server.last_index,
        }
        for server in view.servers
    ]
    return render.answer(call, {"Servers": servers, "Index": view.index})


async def autopilot_health(call: Call) -> web.Response:
    """200 when every server is healthy, 429 with the same body when not (Netdata accepts both)."""
    view = await _operator_view(call)
    servers: list[dict[str, Any]] = [
        {
            "ID": server.id,
            "Name": server.name,
            "Address": server.address,
            "SerfStatus": server.serf_status,
            "Version": server.version,
            "Leader": server.leader,
            "LastContact": format_duration(server.last_contact),
            "LastTerm": server.last_term,
            "LastIndex": server.last_index,
            "Healthy": server.healthy,
            "Voter": server.voter,
            "StableSince": format_time(server.stable_since),
        }
        for server in view.servers
    ]
    body = {"Healthy": view.healthy, "FailureTolerance": view.failure_tolerance, "Servers": servers}
    return render.answer(call, body, 200 if view.healthy else 429)
