"""The agent's own information: `/v1/agent/self`, `/members`, `/version` and `/reload` (§2.14). A server
(the embedded store) reports itself as Consul's servers do; on etcd, as a client of the etcd servers."""

from __future__ import annotations

import platform
from typing import Any

from aiohttp import web

from muster import CONSUL_API_VERSION, __version__
from muster.api import render
from muster.api.call import Call
from muster.api.coordinate import FRESH_COORDINATE
from muster.api.parts import AgentParts
from muster.catalog import Scope
from muster.catalog.servers import SERVER_PORT
from muster.errors import BadRequest, ConfigError
from muster.models import DEFAULT_NAMESPACE

SERF_LAN_PORT = 8301
BUILD_DATE = "2026-11-22T00:00:00Z"


def leader_address(parts: AgentParts) -> str:
    return f"{parts.config.bind_addr}:{SERVER_PORT}"


def member(parts: AgentParts) -> dict[str, Any]:
    """This agent as a serf member; /v1/agent/self and /v1/agent/members must agree byte for byte."""
    config = parts.config
    tags = {
        "acls": "1" if parts.acl.enabled else "0",
        "build": f"{CONSUL_API_VERSION}:muster-{__version__}",
        "dc": config.datacenter,
        "ft_fs": "1",
        "ft_si": "1",
        "id": parts.node_id,
        "port": str(SERVER_PORT),
        "raft_vsn": "3",
        "role": "consul",
        "segment": "",
        "vsn": "2",
        "vsn_max": "3",
        "vsn_min": "2",
        "wan_join_port": "8302",
    }
    if not parts.servers.is_server:  # a client's tags, as Consul's: no raft or server ports
        for key in ("port", "raft_vsn", "wan_join_port"):
            del tags[key]
        tags["role"] = "node"
    return {
        "Name": config.node_name,
        "Addr": config.bind_addr,
        "Port": SERF_LAN_PORT,
        "Tags": tags,
        "Status": 1,
        "ProtocolMin": 1,
        "ProtocolMax": 5,
        "ProtocolCur": 2,
        "DelegateMin": 2,
        "DelegateMax": 5,
        "DelegateCur": 4,
    }


def self_document(parts: AgentParts) -> dict[str, Any]:
    config = parts.config
    state = parts.state
    ttl_checks = sum(1 for check in state.checks.values() if check.definition.type == "ttl")
    return {
        "Config": {
            "Datacenter": config.datacenter,
            "PrimaryDatacenter": config.primary_datacenter or config.datacenter,
            "NodeName": config.node_name,
            "NodeID": parts.node_id,
            "Revision": "muster",
            "Server": parts.servers.is_server,
            "Version": CONSUL_API_VERSION,
            "BuildDate": BUILD_DATE,
            "MusterVersion": __version__,
        },
        "DebugConfig": {
            "Datacenter": config.datacenter,
            "NodeName": config.node_name,
            "DataDir": str(config.data_dir) if config.data_dir else "",
            "DevMode": config.dev,
            "Logging": {"LogLevel": config.log_level.upper(), "LogJSON": config.log_json},
            "HTTPPort": config.http_port,
            "ClientAddrs": [config.client_addr],
            "EnableScriptChecks": config.enable_script_checks,
            "EnableLocalScriptChecks": config.enable_local_script_checks,
            "CheckOutputMaxSize": config.check_output_max_size,
            "ConnectEnabled": False,
            "GRPCPort": -1,
            "SerfPortLAN": SERF_LAN_PORT,
            "RaftSnapshotThreshold": 0,
        },
        "Coord": FRESH_COORDINATE,
        "Member": member(parts),
        "Stats": {
            "agent": {
                "check_monitors": str(sum(1 for c in state.checks.values() if c.definition.type == "script")),
                "check_ttls": str(ttl_checks),
                "checks": str(len(state.checks)),
                "services": str(len(state.services)),
            },
            "build": {"prerelease": "", "revision": "muster", "version": CONSUL_API_VERSION},
            "runtime": {
                "arch": platform.machine(),
                "os": platform.system().lower(),
                "version": f"python{platform.python_version()}",
            },
            "checks": _check_stats(parts),
            "consul": _consul_stats(parts),
        },
        "Meta": {"consul-network-segment": "", "consul-version": CONSUL_API_VERSION, **config.node_meta},
        "xDS": {"SupportedProxies": {"envoy": []}, "Port": -1, "Ports": {"Plaintext": -1, "TLS": -1}},
    }


def _consul_stats(parts: AgentParts) -> dict[str, str]:
    """Consul's `consul` stats: a server's (this agent is the leader), or a client's (the etcd servers)."""
    acl = "enabled" if parts.acl.enabled else "disabled"
    if not parts.servers.is_server:
        return {"server": "false", "known_servers": str(parts.servers.known()), "acl": acl}
    return {
        "server": "true",
        "leader": "true",
        "leader_addr": leader_address(parts),
        "bootstrap": "true",
        "known_datacenters": "1",
        "acl": acl,
    }


def _check_stats(parts: AgentParts) -> dict[str, str]:
    """Muster's own figures on check scheduling, per kind: runs and start lateness (ms)."""
    out: dict[str, str] = {}
    for kind, stats in sorted(parts.runner.stats.items()):
        ordered = sorted(stats.lateness)
        out[f"{kind}_runs"] = str(stats.runs)
        if ordered:
            out[f"{kind}_lateness_p50_ms"] = f"{ordered[len(ordered) // 2] * 1000:.1f}"
            out[f"{kind}_lateness_p99_ms"] = (
                f"{ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000:.1f}"
            )
    return out


async def agent_self(call: Call) -> web.Response:
    call.authorize().require("agent", call.parts.config.node_name, "read")
    return render.answer(call, self_document(call.parts))


async def agent_members(call: Call) -> web.Response:
    if call.query.get("segment") and call.query.get("wan"):
        raise BadRequest("Cannot provide a segment with wan=true")
    authz = call.authorize()
    members, removed = authz.filter(await _members(call), "node", lambda m: str(m["Name"]))
    if call.query.get("wan"):
        wan_name = f"{call.parts.config.node_name}.{call.parts.config.datacenter}"
        members = [dict(m, Name=wan_name, Port=8302) for m in members]
    response = render.answer(call, members)
    if authz.filtered_header(removed):
        response.headers["X-Consul-Results-Filtered-By-ACLs"] = "true"
    return response


async def _members(call: Call) -> list[dict[str, Any]]:
    """This agent, and with the etcd catalog every agent node of the fleet: Status 1 (alive) while its
    lease lives, 4 (failed) after, as Serf reports a member that stopped answering."""
    this = member(call.parts)
    catalog = call.parts.fleet
    if catalog is None:
        return [this]
    await catalog.open(Scope(DEFAULT_NAMESPACE, nodes_only=True))
    out = []
    for node, alive in catalog.agent_nodes():
        if node.name == this["Name"]:
            continue
        tags = dict(this["Tags"], dc=node.datacenter, id=node.node_id)
        out.append(dict(this, Name=node.name, Addr=node.address, Tags=tags, Status=1 if alive else 4))
    return sorted([this, *out], key=lambda m: str(m["Name"]))


async def agent_version(call: Call) -> web.Response:
    return render.answer(
        call, {"SHA": "", "BuildDate": BUILD_DATE, "HumanVersion": CONSUL_API_VERSION, "FIPS": ""}
    )


async def agent_reload(call: Call) -> web.Response:
    call.authorize().require("agent", call.parts.config.node_name, "write")
    try:
        call.parts.reload()
    except ConfigError as exc:
        raise BadRequest(f"Failed reloading the agent configuration: {exc}") from None
    return render.empty_ok()
