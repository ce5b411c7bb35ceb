"""The catalog: who runs what, fleet-wide. `local.py` is the single-node catalog (the agent is its
own catalog, as `consul agent -dev`); the etcd-backed catalog plugs in behind the same interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import msgspec

from muster.models import Check, Service


class NodeRecord(msgspec.Struct, omit_defaults=True):
    """A node as the catalog keeps it (also inside the etcd documents: the indexes stay out of those,
    a reader takes them from etcd's revisions)."""

    node_id: str
    name: str
    address: str
    datacenter: str
    meta: dict[str, str] = msgspec.field(default_factory=dict)
    create_index: int = 0  # the record's CreateIndex and ModifyIndex (0: the read's index stands in)
    modify_index: int = 0


@dataclass
class Instance:
    """One service instance with its node and every check that bears on it (node checks included)."""

    node: NodeRecord
    service: Service
    checks: list[Check]
    create_index: int = 0  # the instance's CreateIndex and ModifyIndex (0: the read's index stands in)
    modify_index: int = 0


@dataclass(frozen=True)
class Scope:
    """What a read is about: one service's instances, or (service None) the whole namespace. The etcd
    catalog keeps one live view (one watch) per scope asked for; the local catalog ignores it."""

    namespace: str
    service: str | None = None
    nodes_only: bool = False  # the node records alone: /v1/catalog/nodes and /v1/catalog/services


@dataclass(frozen=True)
class Contact:
    """How current the catalog is: X-Consul-KnownLeader and X-Consul-LastContact (milliseconds)."""

    known_leader: bool = True
    last_contact_ms: int = 0


class Catalog(Protocol):
    async def open(self, scope: Scope, consistent: bool = False) -> None:
        """Make the reads below current for `scope` (consistent: read through to the store)."""

    def index(self, scope: Scope) -> int: ...
    def marker(self, scope: Scope) -> object:
        """What an answer about `scope` is built from, for caches: it moves whenever anything the scope
        reads changes. The index alone may not: a scope read from two etcd views takes the higher one's
        revision, and the other can still apply a change at or below it."""

    async def wait_for_change(self, scope: Scope, index: int, seconds: float) -> None: ...
    def contact(self) -> Contact: ...
    def in_datacenter(self, datacenter: str) -> Catalog | None:
        """The same catalog answering for another datacenter, or None if there is no path to it."""

    def datacenters(self) -> list[str]: ...
    def nodes(self, namespace: str) -> list[NodeRecord]: ...
    def node(self, name: str) -> NodeRecord | None: ...
    def services(self, namespace: str) -> dict[str, list[str]]: ...
    def instances(
        self, namespace: str, name: str | None = None, node: str | None = None
    ) -> list[Instance]: ...
    def checks(self, namespace: str, service: str | None = None) -> list[tuple[NodeRecord, Check]]: ...
