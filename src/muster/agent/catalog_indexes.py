"""The catalog's named indexes, kept as Consul's state store keeps them (spec consul-reads §4.1): a
global `services`, `checks` and `nodes` index, one per service name, and the extinction index set
when a service loses its last instance. Every value is drawn from the agent's one change counter, so
they compare with each other and with `X-Consul-Index` values already handed out.

A read's `X-Consul-Index` is the index of what it covers (§4.2), so a blocking query on `db` wakes for a
change to `db`'s instances or their checks, or its last instance leaving, and not for `web`. The
agent's own services and external ones (catalog/local_external.py) count alike: `db`'s last instance
is the last on any node."""

from __future__ import annotations

from collections.abc import Iterable

ServiceName = tuple[str, str]  # (namespace, service name)


class CatalogIndexes:
    def __init__(self) -> None:
        self.services = 0  # any instance registered, changed or removed
        self.checks = 0  # any check registered, changed or removed
        self.nodes = 0  # any node change, and (as in Consul) any instance registered or removed
        self.extinction = 0  # the latest time a service lost its last instance
        self._by_service: dict[ServiceName, int] = {}
        self._instances: dict[ServiceName, int] = {}  # how many instances each name has, on every node

    def service(self, namespace: str, name: str) -> int:
        """The index of one service's answers: its own while it has instances; without any, the
        extinction index (or, before any service went extinct, the catalog's)."""
        found = self._by_service.get((namespace, name))
        if found is not None:
            return found
        return self.extinction or max(self.nodes, self.services, 1)

    def instance_added(self, key: ServiceName, index: int) -> None:
        """A new instance of `key` (or one renamed to it)."""
        self._instances[key] = self._instances.get(key, 0) + 1
        self.instance_written(key, index)

    def instance_written(self, key: ServiceName, index: int) -> None:
        """An existing instance of `key` changed."""
        self._by_service[key] = index
        self.services = self.nodes = index

    def instance_removed(self, key: ServiceName, index: int) -> None:
        """An instance left; the last one deletes the service's entry and sets the extinction index."""
        remaining = self._instances.get(key, 1) - 1
        if remaining:
            self._instances[key] = remaining
            self._by_service[key] = index
        else:
            self._instances.pop(key, None)
            self._by_service.pop(key, None)
            self.extinction = index
        self.services = self.nodes = index

    def node_written(self, names: Iterable[ServiceName], index: int) -> None:
        """A node registered, changed or removed: `nodes` moves, and every service on it."""
        self._move(names, index)
        self.nodes = index

    def checks_written(self, names: Iterable[ServiceName], index: int, *, removed_node_check: bool) -> None:
        """A check changed: the services it bears on (its own, or every one on the node for a node
        check) move, and a node check's removal moves `services` too (Consul's table)."""
        self._move(names, index)
        self.checks = index
        if removed_node_check:
            self.services = index

    def _move(self, names: Iterable[ServiceName], index: int) -> None:
        for key in names:
            if key in self._by_service:
                self._by_service[key] = index
