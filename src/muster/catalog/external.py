"""External nodes and services (`/v1/catalog/register` and `/deregister`): entries no agent manages,
written straight to etcd with no lease, so their health is only their own checks, as in Consul.
An agent's own node is refused: its agent owns it and anti-entropy would undo the write."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from muster.catalog.etcd import EtcdCatalog
from muster.catalog.etcd_client import EtcdUnavailable
from muster.catalog.layout import DECODE_INSTANCE, DECODE_NODE, ENCODE, InstanceDoc, NodeDoc, ServiceRef
from muster.errors import BadRequest, NoClusterLeader
from muster.models import Check, Service


async def _node_doc(catalog: EtcdCatalog, node: str) -> tuple[NodeDoc | None, dict[bytes, InstanceDoc]]:
    """The node's record and its instances, read through (linearizable)."""
    layout = catalog.layout
    record_key = layout.node_record(node)
    _, found = await catalog.client.get_many([record_key])
    doc = DECODE_NODE.decode(found[record_key].value) if record_key in found else None
    instances: dict[bytes, InstanceDoc] = {}
    if doc is not None and doc.services:
        prefixes = sorted({layout.service_node(r.namespace, r.name, node) for r in doc.services})
        _, kvs = await catalog.client.ranges(prefixes)
        instances = {kv.key: DECODE_INSTANCE.decode(kv.value) for kv in kvs if b"/i/" in kv.key}
    if doc is not None and doc.agent:
        raise BadRequest(
            f"Node {node!r} is managed by its agent: register through that agent's /v1/agent/service/register"
        )
    return doc, instances


def _refs(instances: dict[bytes, InstanceDoc]) -> list[ServiceRef]:
    return sorted(
        (
            ServiceRef(d.service.namespace, d.service.name, d.service.id, list(d.service.tags))
            for d in instances.values()
        ),
        key=lambda r: (r.namespace, r.name, r.id),
    )


async def register(
    catalog: EtcdCatalog,
    record: NodeDoc,
    service: Service | None,
    checks: list[Check],
    skip_node_update: bool,
    require_service_write: Callable[[str], None],
) -> None:
    """Upsert the node (unless skip_node_update and it exists), its service and checks, in one transaction.

    As Consul's vetRegisterWithACL: replacing a service ID registered under another name, or adding a
    check to another service of the node, needs write on that service too (`require_service_write`)."""
    layout = catalog.layout
    name = record.node.name
    existing, instances = await _node_doc(catalog, name)
    node_checks = {c.definition.check_id: c for c in (existing.checks if existing else [])}
    node_checks.update({c.definition.check_id: c for c in checks if not c.definition.service_id})
    node = existing.node if existing is not None and skip_node_update else record.node
    replaced: list[bytes] = []
    if service is not None:
        key = layout.instance(service.namespace, service.name, name, service.id)
        for other in [k for k, d in instances.items() if d.service.id == service.id and k != key]:
            require_service_write(instances[other].service.name)  # one ID, one instance: replaced
            del instances[other]
            replaced.append(other)
        old = instances.get(key)
        own = {c.definition.check_id: c for c in (old.checks if old else []) if c.definition.service_id}
        instances[key] = InstanceDoc(node=node, service=service, checks=list(own.values()))
    for check in checks:
        if not check.definition.service_id:
            continue
        owner = next((k for k, d in instances.items() if d.service.id == check.definition.service_id), None)
        if owner is None:
            raise BadRequest(
                f"Unknown service ID {check.definition.service_id!r} for check {check.definition.check_id!r}"
            )
        if service is None or instances[owner].service.id != service.id:
            require_service_write(instances[owner].service.name)
        doc = instances[owner]
        own = {c.definition.check_id: c for c in doc.checks if c.definition.service_id}
        own[check.definition.check_id] = check
        instances[owner] = InstanceDoc(node=node, service=doc.service, checks=list(own.values()))
    await _write(catalog, name, NodeDoc(node=node, checks=list(node_checks.values())), instances, replaced)


async def _write(
    catalog: EtcdCatalog,
    name: str,
    record: NodeDoc,
    instances: dict[bytes, InstanceDoc],
    replaced: Sequence[bytes] = (),
) -> None:
    node_checks = record.checks
    docs = {
        key: ENCODE.encode(
            InstanceDoc(
                node=record.node,
                service=doc.service,
                checks=node_checks + [c for c in doc.checks if c.definition.service_id],
            )
        )
        for key, doc in instances.items()
    }
    record.services = _refs(instances)
    puts = [(catalog.layout.node_record(name), ENCODE.encode(record), 0)] + [
        (k, v, 0) for k, v in docs.items()
    ]
    await catalog.client.write(puts, deletes=replaced)


async def deregister(catalog: EtcdCatalog, node: str, service_id: str, check_id: str) -> None:
    """No IDs: the whole node; a service ID: that service; a check ID: that check."""
    try:
        await _deregister(catalog, node, service_id, check_id)
    except EtcdUnavailable:
        raise NoClusterLeader from None


async def _deregister(catalog: EtcdCatalog, node: str, service_id: str, check_id: str) -> None:
    layout = catalog.layout
    existing, instances = await _node_doc(catalog, node)
    if existing is None:
        return
    if not service_id and not check_id:
        prefixes = [layout.node(node)] + [
            layout.service_node(r.namespace, r.name, node) for r in existing.services
        ]
        await catalog.client.write(delete_prefixes=prefixes)
        return
    if service_id:
        gone = [k for k, d in instances.items() if d.service.id == service_id]
        for key in gone:
            del instances[key]
        await catalog.client.write(deletes=gone)
    if check_id:
        existing.checks = [c for c in existing.checks if c.definition.check_id != check_id]
        for key, doc in instances.items():
            instances[key] = InstanceDoc(
                node=doc.node,
                service=doc.service,
                checks=[c for c in doc.checks if c.definition.check_id != check_id],
            )
    await _write(catalog, node, existing, instances)
