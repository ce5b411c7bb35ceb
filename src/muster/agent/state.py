"""LocalState: the services and checks registered on this agent, the change index, and the encoded
bytes of each service (encoded once per change; list responses are served from cached bytes)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from muster.agent.catalog_indexes import CatalogIndexes, ServiceName
from muster.blocking import Waiters
from muster.golang import encode_json
from muster.models import Check, Service, agent_service, content_hash

Key = tuple[str, str]  # (namespace, id)
ALL_CHANGES = "*"  # the waiter key woken by any change (index-based blocking)


def service_changes(namespace: str, name: str) -> tuple[str, str, str]:
    """The waiter key woken when a service name's catalog index moves."""
    return ("catalog", namespace, name)


@dataclass
class ServiceEntry:
    service: Service
    wire: dict[str, Any]  # the AgentService object (without ContentHash): filters evaluate this
    body: bytes  # `wire` encoded once
    create_index: int = 0  # the catalog's CreateIndex: kept across re-registrations
    modify_index: int = 0  # the catalog's ModifyIndex: moved only when the service itself changed
    _content_hash: str | None = None
    _hashed_body: bytes | None = None

    @property
    def content_hash(self) -> str:
        """Computed on first use (a blocking query or a GET of the service), not at registration or
        start-up: the FNV-1 hash is the costliest part of either, and most services are never asked."""
        if self._content_hash is None:
            self._content_hash = content_hash(self.service)
        return self._content_hash

    @property
    def hashed_body(self) -> bytes:
        """The AgentService with ContentHash after EnableTagOverride, as /v1/agent/service/:id sends it."""
        if self._hashed_body is None:
            with_hash: dict[str, Any] = {}
            for key, value in self.wire.items():
                with_hash[key] = value
                if key == "EnableTagOverride":
                    with_hash["ContentHash"] = self.content_hash
            self._hashed_body = encode_json(with_hash)
        return self._hashed_body


class LocalState:
    def __init__(self, node_name: str, datacenter: str) -> None:
        self.node_name = node_name
        self.datacenter = datacenter
        self.services: dict[Key, ServiceEntry] = {}
        self.checks: dict[Key, Check] = {}
        self.index = 1
        self.catalog_indexes = CatalogIndexes()
        self.output_version = 0  # bumped by output-only check changes, which leave the index alone
        self.waiters = Waiters()
        # Per-namespace caches hold only namespaces that have services: a read naming any other one is
        # answered empty without filling them (distinct ?ns= values must not grow memory).
        self._service_counts: dict[str, int] = {}
        self._list_bodies: dict[str, bytes] = {}
        self._sorted: dict[str, list[ServiceEntry]] = {}
        self._by_name: dict[str, dict[str, list[ServiceEntry]]] = {}
        # (namespace, owning service ID or "" for node checks) -> check ID -> check
        self._by_owner: dict[Key, dict[str, Check]] = {}
        self._instances_named: dict[ServiceName, int] = {}
        self._listeners: list[Callable[[], None]] = []

    # -- reads ---------------------------------------------------------------
    def service(self, namespace: str, service_id: str) -> ServiceEntry | None:
        return self.services.get((namespace, service_id))

    def services_in(self, namespace: str) -> list[ServiceEntry]:
        """A namespace's services sorted by ID; the list is shared until the next change (do not mutate)."""
        if namespace not in self._service_counts:
            return []
        entries = self._sorted.get(namespace)
        if entries is None:
            keys = sorted(k for k in self.services if k[0] == namespace)
            entries = self._sorted[namespace] = [self.services[key] for key in keys]
        return entries

    def services_named(self, namespace: str, name: str) -> list[ServiceEntry]:
        """Instances of one service name (the load-balancer path): an index rebuilt after a change."""
        if namespace not in self._service_counts:
            return []
        index = self._by_name.get(namespace)
        if index is None:
            index = {}
            for entry in self.services_in(namespace):
                index.setdefault(entry.service.name, []).append(entry)
            self._by_name[namespace] = index
        return index.get(name, [])

    def list_body(self, namespace: str) -> bytes:
        """`{"id":AgentService,...}` for a namespace, rebuilt only after a change."""
        if namespace not in self._service_counts:
            return b"{}"
        body = self._list_bodies.get(namespace)
        if body is None:
            body = join_services(self.services_in(namespace))
            self._list_bodies[namespace] = body
        return body

    def checks_of(self, namespace: str, service_id: str) -> list[Check]:
        """A service's checks, from an index: health answers must not scan every check."""
        return list(self._by_owner.get((namespace, service_id), {}).values())

    def node_checks_in(self, namespace: str) -> list[Check]:
        return list(self._by_owner.get((namespace, ""), {}).values())

    def checks_in(self, namespace: str) -> Iterator[Check]:
        return (check for (ns, _), check in self.checks.items() if ns == namespace)

    # -- writes: synchronous, bump the index, then wake waiters ---------------
    def put_service(self, service: Service) -> None:
        wire = agent_service(service, self.datacenter)
        namespace = service.namespace
        key = (namespace, service.id)
        previous = self.services.get(key)
        if previous is None:
            self._service_counts[namespace] = self._service_counts.get(namespace, 0) + 1
        entry = self.services[key] = ServiceEntry(service, wire, encode_json(wire))
        # Its checks carry its name and tags: a re-registration under another name must move them, or
        # health answers and ACL decisions would follow the old name (Consul looks the service up).
        tags = service.tags or None  # shared, as CheckTable.put sets them
        for check in self._by_owner.get(key, {}).values():
            check.service_name, check.service_tags = service.name, tags
        self._changed(namespace, service.id)
        if previous is not None and previous.service == service:
            # An unchanged re-registration moves no catalog index (Consul's IsSameService).
            entry.create_index, entry.modify_index = previous.create_index, previous.modify_index
            return
        entry.create_index = previous.create_index if previous is not None else self.index
        entry.modify_index = self.index
        named = (namespace, service.name)
        if previous is not None and previous.service.name == service.name:
            self.catalog_indexes.instance_written(named, self.index)
        else:
            if previous is not None:
                self._instance_left(namespace, previous.service.name)
            self._instances_named[named] = self._instances_named.get(named, 0) + 1
            self.catalog_indexes.instance_added(named, self.index)
        self.waiters.notify(service_changes(namespace, service.name))

    def remove_service(self, namespace: str, service_id: str) -> None:
        entry = self.services.pop((namespace, service_id), None)
        if entry is not None:
            self._service_counts[namespace] -= 1
            if not self._service_counts[namespace]:
                del self._service_counts[namespace]
            self._changed(namespace, service_id)
            self._instance_left(namespace, entry.service.name)

    def _instance_left(self, namespace: str, name: str) -> None:
        named = (namespace, name)
        remaining = self._instances_named.get(named, 1) - 1
        if remaining:
            self._instances_named[named] = remaining
        else:
            self._instances_named.pop(named, None)
        self.catalog_indexes.instance_removed(named, self.index)
        self.waiters.notify(service_changes(namespace, name))

    def put_check(self, check: Check) -> None:
        definition = check.definition
        key = (definition.namespace, definition.check_id)
        previous = self.checks.get(key)
        if previous is not None:
            self._unindex(previous)
        self.checks[key] = check
        owner = (definition.namespace, definition.service_id)
        self._by_owner.setdefault(owner, {})[definition.check_id] = check
        self._changed(definition.namespace, None)
        if previous is not None and (previous.definition, previous.status) == (definition, check.status):
            check.create_index, check.modify_index = previous.create_index, previous.modify_index
            return  # unchanged: no catalog index moves
        check.create_index = previous.create_index if previous is not None else self.index
        check.modify_index = self.index
        self._checks_moved(check, removed=False)

    def remove_check(self, namespace: str, check_id: str) -> None:
        check = self.checks.pop((namespace, check_id), None)
        if check is not None:
            self._unindex(check)
            self._changed(namespace, None)
            self._checks_moved(check, removed=True)

    def _checks_moved(self, check: Check, *, removed: bool) -> None:
        """A check's change moves its service's index, or every service's here for a node check."""
        definition = check.definition
        namespace = definition.namespace
        if definition.service_id:
            entry = self.services.get((namespace, definition.service_id))
            names = [(namespace, entry.service.name)] if entry is not None else []
        else:
            names = [named for named in self._instances_named if named[0] == namespace]
        node_check_removed = removed and not definition.service_id
        self.catalog_indexes.checks_written(names, self.index, removed_node_check=node_check_removed)
        for named in names:
            self.waiters.notify(service_changes(*named))

    def _unindex(self, check: Check) -> None:
        definition = check.definition
        owner = (definition.namespace, definition.service_id)
        checks = self._by_owner.get(owner)
        if checks is not None:
            checks.pop(definition.check_id, None)
            if not checks:
                del self._by_owner[owner]

    def check_changed(self, check: Check) -> None:
        """A check's status changed in place."""
        self._changed(check.definition.namespace, None)
        check.modify_index = self.index
        self._checks_moved(check, removed=False)

    def catalog_change(self, apply: Callable[[int], Iterable[ServiceName]]) -> None:
        """One change to catalog entries this state does not hold (external nodes, services and checks:
        catalog/local_external.py): the index moves once, `apply(index)` moves the catalog indexes it
        bears on and names the services it moved, and their blocking queries wake."""
        self._changed("", None)  # no service of this state's: only the index and ALL_CHANGES
        for named in set(apply(self.index)):
            self.waiters.notify(service_changes(*named))

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _changed(self, namespace: str, service_id: str | None) -> None:
        self.index += 1
        if service_id is not None:
            self._list_bodies.pop(namespace, None)
            self._sorted.pop(namespace, None)
            self._by_name.pop(namespace, None)
            self.waiters.notify(("service", namespace, service_id))
        self.waiters.notify(ALL_CHANGES)
        for listener in self._listeners:
            listener()


def join_services(entries: list[ServiceEntry]) -> bytes:
    parts = [encode_json(entry.service.id) + b":" + entry.body for entry in entries]
    return b"{" + b",".join(parts) + b"}"
