"""External nodes, services and checks on the single-agent catalog (`/v1/catalog/register` and
`/deregister` without etcd, as Consul's catalog takes them): held in memory, durable in the embedded
store before the 200 (external_rows.py), served by the local catalog (local.py) with their own checks
and no `serfHealth`, and moving the same catalog indexes as the agent's own services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from muster.agent.locks import ServiceLocks
from muster.catalog import Instance, NodeRecord
from muster.catalog import external_rows as rows
from muster.catalog.external_entries import Change, ExternalNode, ExternalService, managed_by_agent
from muster.catalog.external_indexes import moved_by
from muster.models import Check

if TYPE_CHECKING:
    from muster.agent.identity import NodeIdentity
    from muster.agent.state import LocalState
    from muster.quarantine import Quarantine
    from muster.store import Store


def _by_id(checks: dict[str, Check]) -> list[Check]:
    return [checks[check_id] for check_id in sorted(checks)]


class ExternalNodes:
    """`ExternalWrites` for the local catalog, and the reads it serves them through."""

    def __init__(self, state: LocalState, store: Store, node: NodeIdentity) -> None:
        self.state = state  # the one change index, the catalog indexes and the blocking queries' waiters
        self.store = store
        self.identity = node
        self.nodes: dict[str, ExternalNode] = {}
        self._locks = ServiceLocks()  # writes to one node run one after another, to their end
        # External instances by namespace and by (namespace, name): built on the first read after a change
        self._instances: tuple[dict[str, list[Instance]], dict[tuple[str, str], list[Instance]]] | None = None

    # -- writes -----------------------------------------------------------------------------------
    async def change(self, node: str, change: Change) -> None:
        """Node names match the agent's own in any case, as Consul's catalog matches them."""
        if node.lower() == self.identity.name.lower():
            raise managed_by_agent(node)

        async def write() -> None:
            before = self.nodes.get(node)
            after = change(before)
            ops = rows.changes(before, after)
            if ops:  # an unchanged re-registration writes nothing and moves nothing
                await self.store.commit(ops, lambda: self._apply(node, before, after))

        await self._locks.run([("", node)], write)

    def _apply(self, name: str, before: ExternalNode | None, after: ExternalNode | None) -> None:
        if after is None:
            self.nodes.pop(name, None)
        else:
            self.nodes[name] = after
        self._instances = None
        self.state.catalog_change(lambda index: moved_by(self.state.catalog_indexes, before, after, index))

    def restore(self, quarantine: Quarantine) -> None:
        """At start-up: the stored external nodes, each a change of its own (fresh entry indexes)."""
        identity = self.identity
        for name, entries in rows.restore(self.store, quarantine, identity.name, identity.datacenter).items():
            self._apply(name, None, entries)

    # -- reads ------------------------------------------------------------------------------------
    def records(self) -> Iterator[NodeRecord]:
        return (entries.node for entries in self.nodes.values())

    def record(self, name: str) -> NodeRecord | None:
        entries = self.nodes.get(name)
        return entries.node if entries is not None else None

    def instances(self, namespace: str, name: str | None = None, node: str | None = None) -> list[Instance]:
        """A namespace's external instances sorted by service name, node and ID, as the etcd catalog
        sorts them: node checks first, each instance's own after, no `serfHealth` (no agent)."""
        if self._instances is None:
            self._instances = self._build()
        by_namespace, by_name = self._instances
        found = by_namespace.get(namespace, []) if name is None else by_name.get((namespace, name), [])
        return found if node is None else [i for i in found if i.node.name == node]

    def _build(self) -> tuple[dict[str, list[Instance]], dict[tuple[str, str], list[Instance]]]:
        by_namespace: dict[str, list[Instance]] = {}
        for entries in self.nodes.values():
            node_checks = _by_id(entries.checks)
            for entry in entries.services.values():
                instance = _instance(entries, entry, node_checks)
                by_namespace.setdefault(entry.service.namespace, []).append(instance)
        by_name: dict[tuple[str, str], list[Instance]] = {}
        for namespace, found in by_namespace.items():
            found.sort(key=lambda i: (i.service.name, i.node.name, i.service.id))
            for instance in found:
                by_name.setdefault((namespace, instance.service.name), []).append(instance)
        return by_namespace, by_name

    def checks(self, namespace: str, service: str | None = None) -> list[tuple[NodeRecord, Check]]:
        """A service's checks; without one, every node check too (they bear on every namespace's
        instances of the node, as on the etcd catalog)."""
        out: list[tuple[NodeRecord, Check]] = []
        if service is None:
            for name in sorted(self.nodes):
                entries = self.nodes[name]
                out += [(entries.node, check) for check in _by_id(entries.checks)]
        for instance in self.instances(namespace, service):
            out += [(instance.node, check) for check in instance.checks if check.definition.service_id]
        return out


def _instance(entries: ExternalNode, entry: ExternalService, node_checks: list[Check]) -> Instance:
    checks = node_checks + _by_id(entry.checks)
    return Instance(entries.node, entry.service, checks, entry.create_index, entry.modify_index)
