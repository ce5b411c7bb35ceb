"""What a query name asks for, parsed as Consul's agent/dns does: `[tag.]name.service[.locality]`,
`_name._tag.service…` (RFC 2782), `node`, `addr`, the domain apex, and reverse (`in-addr.arpa`,
`ip6.arpa`) names. Pure: no I/O."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from muster.golang import is_decimal
from muster.models import DEFAULT_NAMESPACE

SERVICE, NODE, ADDR, APEX, INVALID = "service", "node", "addr", "apex", "invalid"
# Query kinds Consul knows; those Muster does not answer (prepared queries, Connect) are NXDOMAIN.
_KINDS = frozenset({"service", "connect", "virtual", "ingress", "node", "query", "addr"})
_LOCALITY_KEYS = frozenset({"dc", "ns", "ap", "peer"})


@dataclass(frozen=True)
class Lookup:
    """One parsed name inside the domain. `datacenter` None means the agent's own."""

    kind: str
    name: str = ""  # service or node name as typed, or the hex of an addr lookup
    tag: str = ""  # lowercased; "" matches every instance
    datacenter: str | None = None
    namespace: str = DEFAULT_NAMESPACE


INVALID_LOOKUP = Lookup(INVALID)


def parse_lookup(labels: list[str], srv: bool) -> Lookup:
    """`labels`: the labels left of the domain, as typed. `srv`: the query type is SRV, which makes the
    `service` label optional (`_web._tcp.consul`), as in Consul. Names keep the case they were typed in
    (see records.py); everything else is compared lowercased."""
    if not labels:
        return Lookup(APEX)
    lowered = [label.lower() for label in labels]
    for i in range(len(labels) - 1, -1, -1):
        label = lowered[i]
        if label in _KINDS:
            return _dispatch(label, labels[:i], lowered[i + 1 :])
        if srv and label.startswith("_"):
            return _dispatch("service", labels[: i + 1], labels[i + 1 :])
    return INVALID_LOOKUP


def _dispatch(kind: str, parts: list[str], suffixes: list[str]) -> Lookup:
    locality = _locality(suffixes)
    if locality is None or not parts:
        return INVALID_LOOKUP
    datacenter, namespace = locality
    if kind == "service":
        if len(parts) == 2 and parts[0].startswith("_") and parts[1].startswith("_"):
            tag = parts[1][1:]
            # `_web._tcp` asks for every instance; any other `_tag` filters on that tag (Consul).
            tag = tag.lower()
            return Lookup(SERVICE, parts[0][1:], "" if tag == "tcp" else tag, datacenter, namespace)
        return Lookup(SERVICE, parts[-1], ".".join(parts[:-1]).lower(), datacenter, namespace)
    if kind == "node":
        return Lookup(NODE, ".".join(parts), "", datacenter, namespace)
    if kind == "addr" and len(parts) == 1:
        return Lookup(ADDR, parts[0].lower(), "", datacenter, namespace)
    return INVALID_LOOKUP


def _locality(suffixes: list[str]) -> tuple[str | None, str] | None:
    """`[.dc]` or pairs `<value>.<dc|ns|ap|peer>`; None when malformed or asking for what Muster lacks
    (a partition other than default, a cluster peer)."""
    if not suffixes:
        return None, DEFAULT_NAMESPACE
    if len(suffixes) == 1:
        return suffixes[0], DEFAULT_NAMESPACE
    if len(suffixes) % 2:
        return None
    datacenter: str | None = None
    namespace = DEFAULT_NAMESPACE
    for value, key in zip(suffixes[::2], suffixes[1::2], strict=True):
        if key not in _LOCALITY_KEYS or key == "peer" or (key == "ap" and value != "default"):
            return None
        if key == "dc":
            datacenter = value
        elif key == "ns":
            namespace = value
    return datacenter, namespace


def addr_from_hex(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`7f000001` -> 127.0.0.1, 32 hex digits -> an IPv6 address; None for anything else."""
    if len(text) not in (8, 32):
        return None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    return ipaddress.IPv4Address(raw) if len(raw) == 4 else ipaddress.IPv6Address(raw)


def addr_to_hex(address: str) -> str | None:
    """The `<hex>.addr` label of an IP address; None when `address` is not one."""
    ip = ip_of(address)
    return None if ip is None else ip.packed.hex()


def ip_of(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def reverse_address(labels: list[str]) -> str | None:
    """The address a reverse name stands for (labels lowercased, without the root); None otherwise."""
    if labels[-2:] == ["in-addr", "arpa"] and len(labels) == 6:
        octets = labels[3::-1]
        if all(is_decimal(o) and len(o) <= 3 and int(o) <= 255 for o in octets):
            return str(ipaddress.IPv4Address(".".join(octets)))
        return None
    if labels[-2:] == ["ip6", "arpa"] and len(labels) == 34:
        nibbles = labels[31::-1]
        if all(len(n) == 1 and n in "0123456789abcdef" for n in nibbles):
            return str(ipaddress.IPv6Address(bytes.fromhex("".join(nibbles))))
    return None
