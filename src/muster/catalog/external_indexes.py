"""The catalog indexes one write of an external node moves (spec consul-reads §4.1), and the CreateIndex
and ModifyIndex its entries keep: unchanged entries keep theirs, changed ones take the write's index.
A node change moves every service on the node, a node check every service on it, a service check its
service; an instance leaving may end its service (extinction)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import msgspec

from muster.agent.catalog_indexes import CatalogIndexes, ServiceName
from muster.catalog import NodeRecord
from muster.catalog.external_entries import ExternalNode, ExternalService
from muster.models import Check, Service

Entry = TypeVar("Entry", NodeRecord, Check)


def same(before: Entry, after: Entry) -> bool:
    """Equal but for the entry indexes (Consul's IsSame: an unchanged write moves nothing)."""
    if before is after:
        return True
    return msgspec.structs.replace(before, create_index=0, modify_index=0) == msgspec.structs.replace(
        after, create_index=0, modify_index=0
    )


def _name(service: Service) -> ServiceName:
    return (service.namespace, service.name)


def moved_by(
    indexes: CatalogIndexes, before: ExternalNode | None, after: ExternalNode | None, index: int
) -> set[ServiceName]:
    """Move `indexes` for the write `before` -> `after` (None: no such node) at `index`, stamp the
    entries of `after`, and answer the services whose index moved (their blocking queries wake)."""
    old = before.services if before is not None else {}
    new = after.services if after is not None else {}
    moved: set[ServiceName] = set()
    for service_id, gone in old.items():
        if service_id not in new:
            moved |= _instance_left(indexes, gone, index)
    for service_id, entry in new.items():
        moved |= _instance_written(indexes, old.get(service_id), entry, index)
    if after is None:
        assert before is not None
        indexes.node_written((), index)
        were_on_node = {_name(entry.service) for entry in old.values()}
        return moved | _checks(indexes, before.checks, {}, were_on_node, index, node_level=True)
    on_node = {_name(entry.service) for entry in new.values()}
    if before is None or not same(before.node, after.node):
        created = before.node.create_index if before is not None else index
        after.node.create_index, after.node.modify_index = created, index
        indexes.node_written(on_node, index)
        moved |= on_node
    else:
        after.node.create_index, after.node.modify_index = before.node.create_index, before.node.modify_index
    node_checks = before.checks if before is not None else {}
    return moved | _checks(indexes, node_checks, after.checks, on_node, index, node_level=True)


def _instance_left(indexes: CatalogIndexes, gone: ExternalService, index: int) -> set[ServiceName]:
    key = _name(gone.service)
    indexes.instance_removed(key, index)
    if gone.checks:
        indexes.checks_written((key,), index, removed_node_check=False)
    return {key}


def _instance_written(
    indexes: CatalogIndexes, old: ExternalService | None, entry: ExternalService, index: int
) -> set[ServiceName]:
    key = _name(entry.service)
    moved: set[ServiceName] = set()
    if old is None or _name(old.service) != key:
        if old is not None:
            moved |= _instance_left(indexes, old, index)
        indexes.instance_added(key, index)
        entry.create_index = old.create_index if old is not None else index
        entry.modify_index = index
        moved.add(key)
    elif old.service != entry.service:
        indexes.instance_written(key, index)
        entry.create_index, entry.modify_index = old.create_index, index
        moved.add(key)
    else:
        entry.create_index, entry.modify_index = old.create_index, old.modify_index
    old_checks = old.checks if old is not None and _name(old.service) == key else {}
    return moved | _checks(indexes, old_checks, entry.checks, (key,), index, node_level=False)


def _checks(
    indexes: CatalogIndexes,
    old: dict[str, Check],
    new: dict[str, Check],
    names: Iterable[ServiceName],
    index: int,
    *,
    node_level: bool,
) -> set[ServiceName]:
    """Stamp `new`'s checks; a changed, added or removed one moves `checks` and the services it bears on."""
    changed = False
    for check_id, check in new.items():
        previous = old.get(check_id)
        if previous is not None and same(previous, check):
            check.create_index, check.modify_index = previous.create_index, previous.modify_index
            continue
        check.create_index = previous.create_index if previous is not None else index
        check.modify_index = index
        changed = True
    removed = not old.keys() <= new.keys()
    if not (changed or removed):
        return set()
    indexes.checks_written(names, index, removed_node_check=node_level and removed)
    return set(names)
