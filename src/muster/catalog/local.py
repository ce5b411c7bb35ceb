"""The single-node catalog: this agent's node, its services and checks, the `consul` service and the
`serfHealth` node check that clients expect, the external nodes registered through /v1/catalog/register
(local_external.py), and index-based blocking on the local change index."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from muster import CONSUL_API_VERSION
from muster.agent.state import ALL_CHANGES, service_changes
from muster.catalog import Contact, Instance, NodeRecord, Scope
from muster.models import DEFAULT_NAMESPACE, PASSING, Check, CheckDefinition, Service

if TYPE_CHECKING:
    from muster.agent.identity import NodeIdentity
    from muster.agent.state import LocalState
    from muster.catalog.local_external import ExternalNodes

SERF_CHECK_ID = "serfHealth"
CONSUL_SERVICE_META = {
    "non_voter": "false",
    "raft_version": "3",
    "read_replica": "false",
    "serf_protocol_current": "2",
    "serf_protocol_max": "5",
    "serf_protocol_min": "1",
    "version": CONSUL_API_VERSION,
}


class LocalCatalog:
    def __init__(self, state: LocalState, node: NodeIdentity, external: ExternalNodes) -> None:
        self.state = state
        self.identity = node
        self.external = external
        self.consul_service = Service(id="consul", name="consul", port=8300, meta=dict(CONSUL_SERVICE_META))
        self.serf_check = Check(
            definition=CheckDefinition(check_id=SERF_CHECK_ID, name="Serf Health Status"),
            status=PASSING,
            output="Agent alive and reachable",
            service_tags=[],
            create_index=1,
            modify_index=1,
        )

    async def open(self, scope: Scope, consistent: bool = False) -> None:
        return None  # always current: the catalog is this agent's own state

    def index(self, scope: Scope) -> int:
        """The index of what a read covers (spec consul-reads §4.2): one service's own; the instances
        everywhere for /v1/catalog/nodes and /services; anything for the rest."""
        indexes = self.state.catalog_indexes
        if scope.service is not None and scope.service != "consul":
            return indexes.service(scope.namespace, scope.service)
        if scope.nodes_only:
            return max(indexes.nodes, indexes.services)
        return max(indexes.nodes, indexes.services, indexes.checks)

    def marker(self, scope: Scope) -> object:
        return self.index(scope)

    def contact(self) -> Contact:
        return Contact()

    def in_datacenter(self, datacenter: str) -> LocalCatalog | None:
        return self if datacenter == self.identity.datacenter else None

    async def wait_for_change(self, scope: Scope, index: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        state = self.state
        key = service_changes(scope.namespace, scope.service) if scope.service else ALL_CHANGES
        while self.index(scope) <= index and not state.waiters.closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            await state.waiters.wait(key, remaining)

    def datacenters(self) -> list[str]:
        return [self.identity.datacenter]

    def this_node(self) -> NodeRecord:
        node = self.identity
        meta = {"consul-network-segment": "", "consul-version": CONSUL_API_VERSION, **node.meta}
        # Registered once, at the agent's start, and never changed while it runs: index 1 for both.
        return NodeRecord(node.id, node.name, node.address, node.datacenter, meta, 1, 1)

    def nodes(self, namespace: str) -> list[NodeRecord]:
        return sorted([self.this_node(), *self.external.records()], key=lambda n: n.name)

    def node(self, name: str) -> NodeRecord | None:
        node = self.this_node()
        return node if node.name == name else self.external.record(name)

    def _services(self, namespace: str) -> list[Service]:
        services = [entry.service for entry in self.state.services_in(namespace)]
        if namespace == DEFAULT_NAMESPACE:
            services.insert(0, self.consul_service)
        return services

    def _entries(self, namespace: str, name: str | None) -> list[tuple[Service, int, int]]:
        """(service, CreateIndex, ModifyIndex) of the instances asked for; the `consul` service first."""
        state = self.state
        entries = state.services_in(namespace) if name is None else state.services_named(namespace, name)
        out = [(entry.service, entry.create_index, entry.modify_index) for entry in entries]
        if namespace == DEFAULT_NAMESPACE and name in (None, "consul"):
            out.insert(0, (self.consul_service, 1, 1))
        return out

    def _node_checks(self, namespace: str) -> list[Check]:
        checks = self.state.node_checks_in(namespace)
        return [self.serf_check, *checks] if namespace == DEFAULT_NAMESPACE else checks

    def services(self, namespace: str) -> dict[str, list[str]]:
        tags: dict[str, set[str]] = {}
        for service in self._services(namespace):
            tags.setdefault(service.name, set()).update(service.tags)
        for instance in self.external.instances(namespace):
            tags.setdefault(instance.service.name, set()).update(instance.service.tags)
        return {name: sorted(tags[name]) for name in sorted(tags)}

    def instances(self, namespace: str, name: str | None = None, node: str | None = None) -> list[Instance]:
        """This node's instances (the `consul` service first), then the external ones; one service's
        by node name, as Consul's catalog orders them."""
        external = self.external.instances(namespace, name, node)
        this = self.this_node()
        if node is not None and node != this.name:
            return external
        node_checks = self._node_checks(namespace)
        out = []
        for service, created, modified in self._entries(namespace, name):
            own = self.state.checks_of(namespace, service.id) if service is not self.consul_service else []
            checks = node_checks + sorted(own, key=lambda c: c.definition.check_id)
            out.append(Instance(this, service, checks, created, modified))
        if external and name is not None:
            return sorted(out + external, key=lambda i: i.node.name)  # stable: IDs stay in order on a node
        return out + external

    def checks(self, namespace: str, service: str | None = None) -> list[tuple[NodeRecord, Check]]:
        this = self.this_node()
        own = sorted(self.state.checks_in(namespace), key=lambda c: c.definition.check_id)
        external = self.external.checks(namespace, service)
        if service is not None:
            return [(this, check) for check in own if check.service_name == service] + external
        extra = [self.serf_check] if namespace == DEFAULT_NAMESPACE else []
        return [(this, check) for check in extra + own] + external
