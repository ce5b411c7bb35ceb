"""A fleet-wide read comes from two etcd views (node records, the namespace's instances), and its index
is the higher view's revision: the other view can still apply a change at or below it (one transaction
seen by both watches, or a view loaded a moment earlier). Cached answers follow the marker, which moves
then; the index does not."""

from __future__ import annotations

from muster.agent.identity import NodeIdentity
from muster.agent.state import LocalState
from muster.catalog import Scope
from muster.catalog.config import CatalogConfig
from muster.catalog.etcd import EtcdCatalog
from muster.catalog.etcd_client import PUT, EtcdClient, Event
from muster.catalog.local import LocalCatalog
from muster.catalog.local_external import ExternalNodes
from muster.catalog.view import PrefixView
from muster.store import MemoryStore

FLEET = Scope("default")


def catalog_with_views() -> tuple[EtcdCatalog, PrefixView, PrefixView]:
    client = EtcdClient.__new__(EtcdClient)  # never called: the views are fed by hand, not started
    catalog = EtcdCatalog(CatalogConfig(backend="etcd"), "dc1", client)
    nodes = catalog.views[catalog.layout.nodes()] = PrefixView(client, catalog.layout.nodes(), bool)
    instances = PrefixView(client, catalog.layout.namespace("default"), bool)
    catalog.views[catalog.layout.namespace("default")] = instances
    return catalog, nodes, instances


def test_a_lagging_view_moves_the_marker_but_not_the_index() -> None:
    catalog, nodes, instances = catalog_with_views()
    nodes.apply([Event(PUT, nodes.prefix + b"b/record", b"{}", 16, 16)])
    instances.apply([Event(PUT, instances.prefix + b"web/a/i/web-a", b"{}", 14, 14)])
    before = (catalog.index(FLEET), catalog.marker(FLEET))
    instances.apply([Event(PUT, instances.prefix + b"web/b/i/web-b", b"{}", 15, 15)])
    after = (catalog.index(FLEET), catalog.marker(FLEET))
    assert (16, 16) == (before[0], after[0])
    assert before[1] != after[1]


def test_one_view_scopes_mark_with_their_revision() -> None:
    catalog, nodes, _ = catalog_with_views()
    nodes.apply([Event(PUT, nodes.prefix + b"b/record", b"{}", 7, 7)])
    assert (7,) == catalog.marker(Scope("default", nodes_only=True))


def test_the_local_catalog_marks_with_its_index() -> None:
    state, node = LocalState("n1", "dc1"), NodeIdentity("n1", "dc1", "127.0.0.1")
    local = LocalCatalog(state, node, ExternalNodes(state, MemoryStore(), node))
    assert local.index(FLEET) == local.marker(FLEET)
