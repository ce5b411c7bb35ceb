"""External nodes and services (`/v1/catalog/register` and `/deregister`) on the fleet catalog: entries
no agent manages, written straight to etcd with no lease, so their health is only their own checks, as
in Consul. An agent's own node is refused: its agent owns it and anti-entropy would undo the write.
The rules are external_entries.py's; this module reads and writes them as etcd documents."""

from __future__ import annotations

from collections.abc import Iterable

from muster.catalog.etcd import EtcdCatalog
from muster.catalog.etcd_client import EtcdUnavailable
from muster.catalog.external_entries import Change, ExternalNode, ExternalService, managed_by_agent
from muster.catalog.layout import DECODE_INSTANCE, DECODE_NODE, ENCODE, InstanceDoc, NodeDoc, ServiceRef
from muster.errors import NoClusterLeader


class EtcdExternalWrites:
    """`ExternalWrites` on etcd: read the node through (linearizable), change it, write it back."""

    def __init__(self, catalog: EtcdCatalog) -> None:
        self.catalog = catalog

    async def change(self, node: str, change: Change) -> None:
        try:
            doc, instances = await self._read(node)
            before = _entries(doc, instances) if doc is not None else None
            after = change(before)
            if after is not None:
                await self._write(after, instances)
            elif doc is not None:
                layout = self.catalog.layout
                prefixes = [layout.service_node(r.namespace, r.name, node) for r in doc.services]
                await self.catalog.client.write(delete_prefixes=[layout.node(node), *prefixes])
        except EtcdUnavailable:
            raise NoClusterLeader from None

    async def _read(self, node: str) -> tuple[NodeDoc | None, dict[bytes, InstanceDoc]]:
        """The node's record and its instances by key; an agent's node is refused."""
        catalog = self.catalog
        layout = catalog.layout
        record_key = layout.node_record(node)
        _, found = await catalog.client.get_many([record_key])
        doc = DECODE_NODE.decode(found[record_key].value) if record_key in found else None
        if doc is not None and doc.agent:
            raise managed_by_agent(node)
        instances: dict[bytes, InstanceDoc] = {}
        if doc is not None and doc.services:
            prefixes = sorted({layout.service_node(r.namespace, r.name, node) for r in doc.services})
            _, kvs = await catalog.client.ranges(prefixes)
            instances = {kv.key: DECODE_INSTANCE.decode(kv.value) for kv in kvs if b"/i/" in kv.key}
        return doc, instances

    async def _write(self, entries: ExternalNode, old_keys: Iterable[bytes]) -> None:
        """The record and every instance document, in one transaction; instances gone are deleted."""
        layout = self.catalog.layout
        node, name = entries.node, entries.node.name
        node_checks = list(entries.checks.values())
        docs = {
            layout.instance(e.service.namespace, e.service.name, name, e.service.id): ENCODE.encode(
                InstanceDoc(node=node, service=e.service, checks=node_checks + list(e.checks.values()))
            )
            for e in entries.services.values()
        }
        refs = sorted(
            (
                ServiceRef(e.service.namespace, e.service.name, e.service.id, list(e.service.tags))
                for e in entries.services.values()
            ),
            key=lambda r: (r.namespace, r.name, r.id),
        )
        record = ENCODE.encode(NodeDoc(node=node, checks=node_checks, services=refs))
        puts = [(layout.node_record(name), record, 0)] + [(key, value, 0) for key, value in docs.items()]
        await self.catalog.client.write(puts, deletes=[key for key in old_keys if key not in docs])


def _entries(doc: NodeDoc, instances: dict[bytes, InstanceDoc]) -> ExternalNode:
    """The documents as one value: an instance document repeats the node checks before its own."""
    node = ExternalNode(doc.node, {check.definition.check_id: check for check in doc.checks})
    for instance in instances.values():
        own = {c.definition.check_id: c for c in instance.checks if c.definition.service_id}
        node.services[instance.service.id] = ExternalService(instance.service, own)
    return node
