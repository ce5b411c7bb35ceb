"""External nodes in the embedded store, one row an entry as Consul's state store keeps them:
`catalog_nodes` (ns "", id: the node), `catalog_services` (ns: the node, id: the service ID) and
`catalog_checks` (ns: the node, id: the check ID). A write stores the rows that changed, in one commit;
start-up restores them through the quarantine (quarantine.py): a row that cannot be applied, or whose
node or service is not there, is set aside, never fatal. Entry indexes are not stored: a restored
entry takes fresh ones, as the agent's own services do."""

from __future__ import annotations

import functools

import msgspec

from muster.catalog import NodeRecord
from muster.catalog.external_entries import ExternalNode, ExternalService, labelled
from muster.models import CHECK_STATUSES, Check, Service
from muster.quarantine import Quarantine
from muster.store import EXTERNAL_TABLES, Delete, Op, Put, Store

NODES_TABLE, SERVICES_TABLE, CHECKS_TABLE = EXTERNAL_TABLES

Row = tuple[str, str, str]  # (table, ns, id)
_encode = msgspec.json.Encoder().encode
_decode_node = msgspec.json.Decoder(NodeRecord).decode
_decode_service = msgspec.json.Decoder(Service).decode
_decode_check = msgspec.json.Decoder(Check).decode


def _rows(entries: ExternalNode | None) -> dict[Row, bytes]:
    """Every row of a node, encoded as stored: no entry indexes, no labels a check takes from its
    service (restore gives them back), no datacenter (the agent's)."""
    if entries is None:
        return {}
    name = entries.node.name
    node = msgspec.structs.replace(entries.node, datacenter="", create_index=0, modify_index=0)
    rows = {(NODES_TABLE, "", name): _encode(node)}
    for service_id, entry in entries.services.items():
        rows[(SERVICES_TABLE, name, service_id)] = _encode(entry.service)
    checks = [*entries.checks.values(), *(c for e in entries.services.values() for c in e.checks.values())]
    for check in checks:
        stored = msgspec.structs.replace(
            check, service_name="", service_tags=None, create_index=0, modify_index=0
        )
        rows[(CHECKS_TABLE, name, check.definition.check_id)] = _encode(stored)
    return rows


def changes(before: ExternalNode | None, after: ExternalNode | None) -> list[Op]:
    """The ops that take the store from `before` to `after` (None: no such node): only changed rows."""
    old, new = _rows(before), _rows(after)
    ops: list[Op] = [Put(*row, body) for row, body in new.items() if old.get(row) != body]
    ops += [Delete(*row) for row in old.keys() - new.keys()]
    return ops


def restore(store: Store, quarantine: Quarantine, own_node: str, datacenter: str) -> dict[str, ExternalNode]:
    """The stored external nodes, each row applied or set aside."""
    nodes: dict[str, ExternalNode] = {}

    def apply_node(_: str, name: str, body: bytes) -> None:
        record = _decode_node(body)
        _same_id("node", name, record.name)
        if name.lower() == own_node.lower():
            raise ValueError(f"node {name!r} is this agent's own: its agent owns it")
        nodes[name] = ExternalNode(msgspec.structs.replace(record, datacenter=datacenter))

    def apply_service(node: str, service_id: str, body: bytes) -> None:
        service = _decode_service(body)
        _same_id("service", service_id, service.id)
        _node_of(nodes, quarantine, node).services[service_id] = ExternalService(service)

    def apply_check(node: str, check_id: str, body: bytes) -> None:
        check = _decode_check(body)
        definition = check.definition
        _same_id("check", check_id, definition.check_id)
        if check.status not in CHECK_STATUSES:
            raise ValueError(f"check status {check.status!r} is none of passing, warning, critical")
        entries = _node_of(nodes, quarantine, node)
        if not definition.service_id:
            entries.checks[check_id] = labelled(check, None)
            return
        owner = entries.services.get(definition.service_id)
        if owner is None:
            held = quarantine.holds(SERVICES_TABLE, node, definition.service_id)
            raise LookupError(f"its service {definition.service_id!r} {_missing(held)}")
        owner.checks[check_id] = labelled(check, owner.service)

    for table, apply in (
        (NODES_TABLE, apply_node),
        (SERVICES_TABLE, apply_service),
        (CHECKS_TABLE, apply_check),
    ):
        for namespace, key, body in store.load(table):
            quarantine.restore(table, namespace, key, body, functools.partial(apply, namespace, key))
    return nodes


def _same_id(kind: str, key: str, found: str) -> None:
    if key != found:
        raise ValueError(f"the row is {kind} {key!r} but its body names {found!r}")


def _missing(quarantined: bool) -> str:
    return "was quarantined" if quarantined else "is not stored"


def _node_of(nodes: dict[str, ExternalNode], quarantine: Quarantine, node: str) -> ExternalNode:
    found = nodes.get(node)
    if found is None:
        raise LookupError(f"its node {node!r} {_missing(quarantine.holds(NODES_TABLE, '', node))}")
    return found
