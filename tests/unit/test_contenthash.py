from __future__ import annotations

from muster.models import Service, ServiceAddress, content_hash


def test_content_hash_matches_upstream_go_client_vector() -> None:
    service = Service(id="foo", name="foo", tags=["bar", "baz"], port=8000)
    assert "3e352f348d44f7eb" == content_hash(service)


def test_content_hash_matches_vector_with_every_field_kind() -> None:
    address = ServiceAddress("10.0.0.1", 80)
    service = Service(
        id="web1",
        name="web",
        tags=["a"],
        port=80,
        address="10.0.0.1",
        weights_passing=10,
        weights_warning=1,
        meta={"k": "v", "x": "y"},
        enable_tag_override=True,
        tagged_addresses={"lan_ipv4": address, "wan_ipv4": address},
        connect_native=True,
    )
    assert "24121cb1a15fc243" == content_hash(service)


def test_content_hash_ignores_namespace_and_changes_with_tags() -> None:
    base = Service(id="a", name="a", tags=["x"])
    assert content_hash(base) == content_hash(Service(id="a", name="a", tags=["x"], namespace="team"))
    assert content_hash(base) != content_hash(Service(id="a", name="a", tags=["y"]))
