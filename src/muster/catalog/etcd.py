"""The fleet catalog on etcd: reads answered from live views (one watch per scope asked about, dropped
when idle), liveness from the agents' leases, X-Consul-Index from etcd revisions. Writes of this
agent's own node and services are the anti-entropy loop's (sync.py); see layout.py for the keys."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from typing import TYPE_CHECKING

from muster.catalog import Contact, Instance, NodeRecord, Scope
from muster.catalog.etcd_client import EtcdClient, EtcdUnavailable
from muster.catalog.layout import (
    DECODE_INSTANCE,
    DECODE_NODE,
    InstanceDoc,
    Layout,
    NodeDoc,
    instance_of,
    name_of_dc_key,
    node_of_key,
    serf_check,
    stamp,
)
from muster.catalog.view import PrefixView
from muster.errors import NoClusterLeader
from muster.models import Check

if TYPE_CHECKING:
    from muster.catalog.config import CatalogConfig

log = logging.getLogger("muster.catalog")
# A first read of a scope waits this long for etcd before answering from what it has (nothing).
OPEN_WAIT_SECONDS = 2.0
SWEEP_SECONDS = 15.0


class EtcdCatalog:
    def __init__(self, config: CatalogConfig, datacenter: str, client: EtcdClient | None = None) -> None:
        self.config = config
        self._client = client
        self.layout = Layout(config.etcd.prefix, datacenter)
        self.views: dict[bytes, PrefixView] = {}
        self.connected = False
        self.last_contact = time.monotonic()
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def client(self) -> EtcdClient:
        """Built on first use inside the running loop: a grpc.aio channel belongs to the loop that made it."""
        if self._client is None:
            self._client = EtcdClient(self.config.etcd)
        return self._client

    # -- life cycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self.view(self.layout.datacenters())  # tiny and always wanted
        self._sweeper = asyncio.create_task(self._sweep_idle_views())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for view in list(self.views.values()):
            await view.stop()
        self.views.clear()
        await self.client.close()

    def note_contact(self, ok: bool) -> None:
        if ok:
            self.last_contact = time.monotonic()
        self.connected = ok

    def contact(self) -> Contact:
        if self.connected:
            return Contact()
        return Contact(False, int((time.monotonic() - self.last_contact) * 1000))

    def in_datacenter(self, datacenter: str) -> EtcdCatalog | None:
        """Another datacenter sharing this etcd (and prefix): the same client and views, its own keys."""
        if datacenter == self.layout.datacenter:
            return self
        if datacenter not in self.datacenters():
            return None
        sibling = copy.copy(self)  # shares the client and the views (their prefixes name the datacenter)
        sibling._client = self.client
        sibling.layout = Layout(self.config.etcd.prefix, datacenter)
        return sibling

    # -- views ------------------------------------------------------------------------------------
    def view(self, prefix: bytes) -> PrefixView:
        view = self.views.get(prefix)
        if view is None:
            view = self.views[prefix] = PrefixView(self.client, prefix, self.note_contact)
            view.start()
        view.last_used = time.monotonic()
        return view

    def _views_for(self, scope: Scope) -> list[PrefixView]:
        if scope.nodes_only:
            return [self.view(self.layout.nodes())]
        if scope.service is not None:
            return [self.view(self.layout.service(scope.namespace, scope.service))]
        return [self.view(self.layout.nodes()), self.view(self.layout.namespace(scope.namespace))]

    async def _sweep_idle_views(self) -> None:
        always = self.layout.datacenters()
        while True:
            await asyncio.sleep(min(SWEEP_SECONDS, self.config.view_idle_timeout))
            cutoff = time.monotonic() - self.config.view_idle_timeout
            for prefix, view in list(self.views.items()):
                if prefix != always and view.readers == 0 and view.last_used < cutoff:
                    del self.views[prefix]
                    await view.stop()

    async def open(self, scope: Scope, consistent: bool = False) -> None:
        views = self._views_for(scope)
        if consistent:
            try:
                for view in views:
                    await view.load()
            except EtcdUnavailable:
                raise NoClusterLeader from None
            return
        pending = [view.loaded.wait() for view in views if not view.loaded.is_set()]
        if pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(OPEN_WAIT_SECONDS):
                    await asyncio.gather(*pending)

    def index(self, scope: Scope) -> int:
        return max(view.revision for view in self._views_for(scope))

    def marker(self, scope: Scope) -> object:
        return tuple(view.revision for view in self._views_for(scope))

    async def wait_for_change(self, scope: Scope, index: int, seconds: float) -> None:
        views = self._views_for(scope)
        if len(views) == 1:
            await views[0].wait_past(index, seconds)
            return
        waits = [asyncio.ensure_future(view.wait_past(index, seconds)) for view in views]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    # -- reads ------------------------------------------------------------------------------------
    def datacenters(self) -> list[str]:
        base = self.layout.datacenters()
        names = {name_of_dc_key(key, base) for key in self.view(base).values}
        return sorted(names | {self.layout.datacenter})

    def _node_docs(self) -> list[tuple[NodeDoc, bool]]:
        """Every node record with whether its agent is alive (external nodes count as alive)."""
        base = self.layout.nodes()
        view = self.view(base)
        docs, alive = [], set()
        for key in view.values:
            node, rest = node_of_key(key, base)
            if rest == "alive":
                alive.add(node)
            elif rest == "record":
                doc = view.decoded(key, DECODE_NODE.decode)
                if doc is not None:
                    stamp(doc.node, doc.checks, view.revisions.get(key))
                    docs.append(doc)
        return [(doc, not doc.agent or doc.node.name in alive) for doc in docs]

    def agent_nodes(self) -> list[tuple[NodeRecord, bool]]:
        """Nodes kept by an agent, with whether its lease is alive: the fleet's `members`."""
        return sorted(((d.node, alive) for d, alive in self._node_docs() if d.agent), key=lambda p: p[0].name)

    def nodes(self, namespace: str) -> list[NodeRecord]:
        return sorted((doc.node for doc, _ in self._node_docs()), key=lambda n: n.name)

    def node(self, name: str) -> NodeRecord | None:
        return next((doc.node for doc, _ in self._node_docs() if doc.node.name == name), None)

    def services(self, namespace: str) -> dict[str, list[str]]:
        tags: dict[str, set[str]] = {}
        for doc, _ in self._node_docs():
            for ref in doc.services:
                if ref.namespace == namespace:
                    tags.setdefault(ref.name, set()).update(ref.tags)
        return {name: sorted(tags[name]) for name in sorted(tags)}

    def _instance_docs(self, base: bytes) -> list[tuple[InstanceDoc, bool, tuple[int, int]]]:
        """Instance documents under a service or namespace range, with their node's liveness there and
        their key's (create, mod) revisions: the instance's CreateIndex and ModifyIndex."""
        view = self.view(base)
        docs, alive = [], set()
        for key in view.values:
            rest = key[len(base) :]
            if rest.endswith(b"/alive"):
                alive.add(rest[: -len(b"alive")])
            elif b"/i/" in rest:
                doc = view.decoded(key, DECODE_INSTANCE.decode)
                if doc is not None:
                    revisions = view.revisions.get(key, (0, 0))
                    stamp(None, doc.checks, revisions)
                    docs.append((rest[: rest.index(b"/i/") + 1], doc, revisions))
        return [(doc, node_part in alive, revisions) for node_part, doc, revisions in docs]

    def instances(self, namespace: str, name: str | None = None, node: str | None = None) -> list[Instance]:
        base = self.layout.namespace(namespace) if name is None else self.layout.service(namespace, name)
        out = [
            instance_of(doc, alive, *revisions)
            for doc, alive, revisions in self._instance_docs(base)
            if node is None or doc.node.name == node
        ]
        out.sort(key=lambda i: (i.service.name, i.node.name, i.service.id))
        return out

    def checks(self, namespace: str, service: str | None = None) -> list[tuple[NodeRecord, Check]]:
        out: list[tuple[NodeRecord, Check]] = []
        if service is None:
            for doc, alive in self._node_docs():
                node_checks = [serf_check(alive), *doc.checks] if doc.agent else doc.checks
                out.extend((doc.node, check) for check in node_checks)
        for instance in self.instances(namespace, service):
            out.extend((instance.node, c) for c in instance.checks if c.definition.service_id)
        return out
