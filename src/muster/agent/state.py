"""LocalState: the services and checks registered on this agent, the change index, and the encoded
bytes of each service (encoded once per change; list responses are served from cached bytes)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from muster.blocking import Waiters
from muster.golang import encode_json
from muster.models import Check, Service, agent_service, content_hash

Key = tuple[str, str]  # (namespace, id)
ALL_CHANGES = "*"  # the waiter key woken by any change (index-based blocking)


@dataclass
class ServiceEntry:
    service: Service
    wire: dict[str, Any]  # the AgentService object (without ContentHash): filters evaluate this
    body: bytes  # `wire` encoded once
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
        key = (service.namespace, service.id)
        if key not in self.services:
            self._service_counts[service.namespace] = self._service_counts.get(service.namespace, 0) + 1
        self.services[key] = ServiceEntry(service, wire, encode_json(wire))
        # Its checks carry its name and tags: a re-registration under another name must move them, or
        # health answers and ACL decisions would follow the old name (Consul looks the service up).
        tags = service.tags or None  # shared, as CheckTable.put sets them
        for check in self._by_owner.get((service.namespace, service.id), {}).values():
            check.service_name, check.service_tags = service.name, tags
        self._changed(service.namespace, service.id)

    def remove_service(self, namespace: str, service_id: str) -> None:
        if self.services.pop((namespace, service_id), None) is not None:
            self._service_counts[namespace] -= 1
            if not self._service_counts[namespace]:
                del self._service_counts[namespace]
            self._changed(namespace, service_id)

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

    def remove_check(self, namespace: str, check_id: str) -> None:
        check = self.checks.pop((namespace, check_id), None)
        if check is not None:
            self._unindex(check)
            self._changed(namespace, None)

    def _unindex(self, check: Check) -> None:
        definition = check.definition
        owner = (definition.namespace, definition.service_id)
        checks = self._by_owner.get(owner)
        if checks is not None:
            checks.pop(definition.check_id, None)
            if not checks:
                del self._by_owner[owner]

    def check_changed(self, check: Check) -> None:
        """A check's status or output changed in place."""
        self._changed(check.definition.namespace, None)

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
