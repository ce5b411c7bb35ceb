"""Query names parsed as Consul's agent/dns does, reverse names, hex addresses, and recursor addresses."""

from __future__ import annotations

import pytest

from muster.dns.names import (
    ADDR,
    APEX,
    INVALID_LOOKUP,
    NODE,
    SERVICE,
    Lookup,
    addr_from_hex,
    addr_to_hex,
    parse_lookup,
    reverse_address,
)
from muster.dns.recursor import recursor_address


@pytest.mark.parametrize(
    ("name", "srv", "expected"),
    [
        ("web.service", False, Lookup(SERVICE, "web")),
        ("Web.Service.DC2", False, Lookup(SERVICE, "Web", "", "dc2")),
        ("v1.web.service", False, Lookup(SERVICE, "web", "v1")),
        ("a.b.web.service", False, Lookup(SERVICE, "web", "a.b")),
        ("_web._tcp.service", True, Lookup(SERVICE, "web", "")),
        ("_web._V1.service.dc1", True, Lookup(SERVICE, "web", "v1", "dc1")),
        ("_web._udp.service", True, Lookup(SERVICE, "web", "udp")),
        ("_web._tcp", True, Lookup(SERVICE, "web", "")),  # SRV: the "service" label is optional
        ("web.service.team.ns", False, Lookup(SERVICE, "web", "", None, "team")),
        ("web.service.team.ns.dc3.dc", False, Lookup(SERVICE, "web", "", "dc3", "team")),
        ("web.service.default.ap.dc3.dc", False, Lookup(SERVICE, "web", "", "dc3")),
        ("n1.node", False, Lookup(NODE, "n1")),
        ("my.host.node.dc1", False, Lookup(NODE, "my.host", "", "dc1")),
        ("0A000001.addr.dc1", False, Lookup(ADDR, "0a000001", "", "dc1")),
        ("", False, Lookup(APEX)),
    ],
)
def test_names_parse_as_consul_does(name: str, srv: bool, expected: Lookup) -> None:
    assert expected == parse_lookup(name.split(".") if name else [], srv)


@pytest.mark.parametrize(
    "name",
    [
        "service",  # nothing before the kind
        "web.query",  # prepared queries
        "web.connect",
        "what.is.this",
        "_web._tcp",  # without SRV the underscore form needs "service"
        "web.service.x.peer",
        "web.service.team.ns.other.ap",
        "web.service.a.b.c",
        "web.service.a.zz",
        "a.b.addr",
    ],
)
def test_unanswerable_names_are_invalid(name: str) -> None:
    assert INVALID_LOOKUP == parse_lookup(name.split("."), False)


def test_hex_addresses_both_ways() -> None:
    assert "7f000001" == addr_to_hex("127.0.0.1")
    assert "20010db8000000000000000000000001" == addr_to_hex("2001:db8::1")
    assert addr_to_hex("example.com") is None
    assert "10.0.0.2" == str(addr_from_hex("0a000002"))
    assert "2001:db8::1" == str(addr_from_hex("20010db8000000000000000000000001"))
    assert [None, None, None] == [addr_from_hex(text) for text in ("0a0000", "zz000001", "")]


def test_reverse_names() -> None:
    assert "10.0.0.2" == reverse_address(["2", "0", "0", "10", "in-addr", "arpa"])
    nibbles = [*list("1000000000000000000000008bd01002"), "ip6", "arpa"]
    assert "2001:db8::1" == reverse_address(nibbles)
    for bad in ("0.10.in-addr.arpa", "2.0.0.300.in-addr.arpa", "x.0.0.10.in-addr.arpa", "1.ip6.arpa"):
        assert reverse_address(bad.split(".")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8.8.8.8", ("8.8.8.8", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("dns.example", ("dns.example", 53)),
    ],
)
def test_recursor_addresses(text: str, expected: tuple[str, int]) -> None:
    assert expected == recursor_address(text)
