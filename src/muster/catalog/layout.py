"""The catalog's key layout in etcd and the documents stored under it (docs/catalog.md draws it).

    <prefix>dcs/<dc>                                  "" : the datacenters present
    <prefix>dc/<dc>/node/<node>/record                NodeDoc: node, its node checks, its services
    <prefix>dc/<dc>/node/<node>/alive                 leased by the node's agent: it is alive
    <prefix>dc/<dc>/svc/<ns>/<name>/<node>/i/<id>     InstanceDoc: service, node, every check on it
    <prefix>dc/<dc>/svc/<ns>/<name>/<node>/alive      leased beside the instances (same range)
    <prefix>dc/<dc>/dead/<node>                       when a reaper first saw the node dead

One service's instances, their health and their nodes' liveness are one range, so a per-service read
or watch never touches the rest of the fleet. Names are percent-encoded, so no name can reach into
another's range. Tokens are never written: they stay on the agent that was given them."""

from __future__ import annotations

import functools
import time
from urllib.parse import quote, unquote

import msgspec

from muster.catalog import Instance, NodeRecord
from muster.models import CRITICAL, PASSING, Check, CheckDefinition, Service

SERF_CHECK_ID = "serfHealth"
SERF_NAME = "Serf Health Status"


class ServiceRef(msgspec.Struct, array_like=True):
    namespace: str
    name: str
    id: str
    tags: list[str]


class NodeDoc(msgspec.Struct, kw_only=True, omit_defaults=True):
    node: NodeRecord
    agent: bool = False  # an agent keeps it alive with a lease; external nodes (catalog API) do not
    checks: list[Check] = msgspec.field(default_factory=list)
    services: list[ServiceRef] = msgspec.field(default_factory=list)


class InstanceDoc(msgspec.Struct, kw_only=True, omit_defaults=True):
    node: NodeRecord
    service: Service
    agent: bool = False
    checks: list[Check] = msgspec.field(default_factory=list)  # node checks first, then the service's


class DeadDoc(msgspec.Struct):
    since: float


ENCODE = msgspec.json.Encoder()
DECODE_NODE = msgspec.json.Decoder(NodeDoc)
DECODE_INSTANCE = msgspec.json.Decoder(InstanceDoc)
DECODE_DEAD = msgspec.json.Decoder(DeadDoc)


@functools.lru_cache(maxsize=65536)  # names repeat on every sync pass; quoting dominated its cost
def _q(name: str) -> str:
    return quote(name, safe="")


class Layout:
    def __init__(self, prefix: str, datacenter: str) -> None:
        self.prefix = prefix
        self.datacenter = datacenter
        self.dc = f"{prefix}dc/{_q(datacenter)}/"

    def datacenters(self) -> bytes:
        return f"{self.prefix}dcs/".encode()

    def datacenter_key(self) -> bytes:
        return f"{self.prefix}dcs/{_q(self.datacenter)}".encode()

    def nodes(self) -> bytes:
        return f"{self.dc}node/".encode()

    def node(self, node: str) -> bytes:
        return f"{self.dc}node/{_q(node)}/".encode()

    def node_record(self, node: str) -> bytes:
        return self.node(node) + b"record"

    def node_alive(self, node: str) -> bytes:
        return self.node(node) + b"alive"

    def namespace(self, namespace: str) -> bytes:
        return f"{self.dc}svc/{_q(namespace)}/".encode()

    def service(self, namespace: str, name: str) -> bytes:
        return f"{self.dc}svc/{_q(namespace)}/{_q(name)}/".encode()

    def service_node(self, namespace: str, name: str, node: str) -> bytes:
        return self.service(namespace, name) + f"{_q(node)}/".encode()

    def instance(self, namespace: str, name: str, node: str, service_id: str) -> bytes:
        return self.service_node(namespace, name, node) + f"i/{_q(service_id)}".encode()

    def service_alive(self, namespace: str, name: str, node: str) -> bytes:
        return self.service_node(namespace, name, node) + b"alive"

    def reaper(self) -> bytes:
        """Held (leased) by the one agent that reaps this datacenter: reaping stays linear in the fleet."""
        return f"{self.dc}reaper".encode()

    def dead(self, node: str = "") -> bytes:
        return f"{self.dc}dead/{_q(node)}".encode()


def node_of_key(key: bytes, base: bytes) -> tuple[str, str]:
    """(node, rest) for a key under `base` laid out as <base><node>/<rest>."""
    node, _, rest = key[len(base) :].decode().partition("/")
    return unquote(node), rest


def name_of_dc_key(key: bytes, base: bytes) -> str:
    return unquote(key[len(base) :].decode())


def without_token(service: Service) -> Service:
    return msgspec.structs.replace(service, token="") if service.token else service


def check_without_token(check: Check) -> Check:
    """A check as the etcd documents hold it: no token, and no local index (readers use revisions)."""
    if not check.definition.token:
        if not check.create_index and not check.modify_index:
            return check
        return msgspec.structs.replace(check, create_index=0, modify_index=0)
    definition = msgspec.structs.replace(check.definition, token="")
    return msgspec.structs.replace(check, definition=definition, create_index=0, modify_index=0)


def stamp(node: NodeRecord | None, checks: list[Check], revisions: tuple[int, int] | None) -> None:
    """Give a decoded document's entries the CreateIndex and ModifyIndex of the key that holds them."""
    if revisions is None:
        return
    created, modified = revisions
    if node is not None:
        node.create_index, node.modify_index = created, modified
    for check in checks:
        check.create_index, check.modify_index = created, modified


def serf_check(alive: bool) -> Check:
    return Check(
        definition=CheckDefinition(check_id=SERF_CHECK_ID, name=SERF_NAME),
        status=PASSING if alive else CRITICAL,
        output="Agent alive and reachable" if alive else "Agent not live or unreachable",
        service_tags=[],
    )


def instance_of(doc: InstanceDoc, alive: bool, created: int = 0, modified: int = 0) -> Instance:
    """An instance as read: an agent's instance carries serfHealth, critical once its lease is gone."""
    checks = [serf_check(alive), *doc.checks] if doc.agent else list(doc.checks)
    return Instance(doc.node, doc.service, checks, created, modified)


def now() -> float:
    return time.time()
