"""Key layout and etcd client helpers: pure functions, no etcd."""

from __future__ import annotations

import pytest

from muster.catalog import NodeRecord
from muster.catalog.config import catalog_config, channel_target
from muster.catalog.etcd_client import prefix_end
from muster.catalog.layout import DECODE_INSTANCE, ENCODE, InstanceDoc, Layout, instance_of, node_of_key
from muster.errors import ConfigError
from muster.models import PASSING, Check, CheckDefinition, Service


def test_prefix_end_is_the_next_key_after_every_key_with_the_prefix() -> None:
    assert prefix_end(b"/muster/") == b"/muster0"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\xff\xff") == b"\0"


def test_one_services_instances_and_liveness_share_one_range_and_names_cannot_escape_it() -> None:
    layout = Layout("/m/", "dc1")
    service = layout.service("default", "web")
    assert layout.instance("default", "web", "n1", "web-1").startswith(service)
    assert layout.service_alive("default", "web", "n1").startswith(service)
    assert not layout.service("default", "web2").startswith(service)
    sneaky = layout.instance("default", "web", "n1/../x", "a/b")
    assert sneaky.startswith(service)
    assert sneaky.count(b"/") == layout.instance("default", "web", "n", "a").count(b"/")
    assert node_of_key(layout.node_alive("n/1"), layout.nodes()) == ("n/1", "alive")


def test_an_agents_instance_reads_critical_once_its_lease_key_is_gone() -> None:
    node = NodeRecord("id", "n1", "10.0.0.1", "dc1")
    check = Check(definition=CheckDefinition(check_id="c", name="c", service_id="web-1"), status=PASSING)
    doc = InstanceDoc(node=node, service=Service(id="web-1", name="web"), agent=True, checks=[check])
    decoded = DECODE_INSTANCE.decode(ENCODE.encode(doc))
    assert [c.status for c in instance_of(decoded, alive=True).checks] == ["passing", "passing"]
    assert [c.status for c in instance_of(decoded, alive=False).checks] == ["critical", "passing"]
    external = InstanceDoc(node=node, service=Service(id="x", name="x"), checks=[check])
    assert [c.definition.check_id for c in instance_of(external, alive=False).checks] == ["c"]


def test_endpoints_become_one_failover_target() -> None:
    assert channel_target(["http://127.0.0.1:1", "127.0.0.2:2"]) == ("ipv4:127.0.0.1:1,127.0.0.2:2", False)
    assert channel_target(["https://etcd.example:2379"]) == ("dns:///etcd.example:2379", True)
    with pytest.raises(ConfigError, match="mix http and https"):
        channel_target(["http://127.0.0.1:1", "https://127.0.0.1:2"])
    with pytest.raises(ConfigError, match="use http://host:port"):
        channel_target(["unix:///x"])


def test_catalog_settings_are_validated() -> None:
    config = catalog_config({"etcd": {"lease_ttl": "15s"}, "reconnect_timeout": "1h"}, {"catalog": "etcd"})
    assert (config.backend, config.etcd.lease_ttl, config.reconnect_timeout) == ("etcd", 15.0, 3600.0)
    with pytest.raises(ConfigError, match=r"catalog\.backend"):
        catalog_config({"catalog": {"backend": "raft"}}, {})
    with pytest.raises(ConfigError, match="lease_ttl"):
        catalog_config({"etcd": {"lease_ttl": "1s"}}, {})
    with pytest.raises(ConfigError, match="use http://host:port"):
        catalog_config({"etcd": {"endpoints": ["unix:///run/etcd.sock"]}}, {})
    with pytest.raises(ConfigError, match="invalid duration"):
        catalog_config({"catalog": {"sync_interval": "soon"}}, {})
