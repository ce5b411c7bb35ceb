"""Answers from the catalog, as Consul's agent/dns builds them: healthy instances only (a critical check,
the node's included, removes one; with `only_passing` a warning does too), A/AAAA with addresses
deduplicated, SRV with an address record per SRV record in the additional section, node and addr lookups,
PTR for known addresses, the apex SOA/NS, and SOA in the authority section of NXDOMAIN and NODATA."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.NS import NS
from dns.rdtypes.ANY.PTR import PTR
from dns.rdtypes.ANY.SOA import SOA
from dns.rdtypes.ANY.TXT import TXT
from dns.rdtypes.IN.A import A
from dns.rdtypes.IN.AAAA import AAAA
from dns.rdtypes.IN.SRV import SRV

from muster.acl.authorizer import Authorizer
from muster.catalog import Catalog, Instance, NodeRecord, Scope
from muster.dns.config import DNSConfig
from muster.dns.names import ADDR, APEX, NODE, SERVICE, Lookup, addr_from_hex, addr_to_hex, ip_of
from muster.models import CRITICAL, DEFAULT_NAMESPACE, WARNING

IN = dns.rdataclass.IN
T_A, T_AAAA, T_ANY, T_SRV = dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.ANY, dns.rdatatype.SRV
T_TXT, T_SOA, T_NS = dns.rdatatype.TXT, dns.rdatatype.SOA, dns.rdatatype.NS
MAX_PORT = 65535


@dataclass
class Record:
    name: dns.name.Name
    ttl: int
    rdata: dns.rdata.Rdata


@dataclass
class Answer:
    """What to say before shuffling, limits and truncation. `additional` is keyed by SRV target, so
    cutting an SRV record also cuts its target's addresses. `scopes`: the catalog scopes it was read
    from, whose indexes say when it is stale (none: it depends on no catalog data)."""

    rcode: int = dns.rcode.NOERROR
    records: list[Record] = field(default_factory=list)
    additional: dict[dns.name.Name, list[Record]] = field(default_factory=dict)
    soa: bool = False  # an SOA in the authority section (NXDOMAIN, NODATA)
    shuffle: bool = False
    scopes: tuple[Scope, ...] = ()

    def finish(self) -> Answer:
        if not self.records:
            self.soa = True  # NXDOMAIN or NODATA: negative caching needs the SOA (RFC 2308)
        return self


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    authz: Authorizer
    config: DNSConfig
    datacenter: str
    node_name: str
    node_address: str
    domain: dns.name.Name  # the domain the query came in (domain or alt_domain)
    qname: dns.name.Name
    qtype: int

    def fqdn(self, text: str) -> dns.name.Name:
        return dns.name.from_text(text, origin=self.domain)

    def wants(self, rdtype: int) -> bool:
        return self.qtype in (rdtype, T_ANY)


def nxdomain(scopes: tuple[Scope, ...] = ()) -> Answer:
    return Answer(dns.rcode.NXDOMAIN, soa=True, scopes=scopes)


def soa_record(config: DNSConfig, domain: dns.name.Name) -> Record:
    mname = dns.name.from_text("ns", origin=domain)
    rname = dns.name.from_text("hostmaster", origin=domain)
    rdata = SOA(  # type: ignore[no-untyped-call]
        IN,
        T_SOA,
        mname,
        rname,
        int(time.time()) & 0xFFFFFFFF,
        config.soa_refresh,
        config.soa_retry,
        config.soa_expire,
        config.soa_min_ttl,
    )
    return Record(domain, config.soa_min_ttl, rdata)


def service_ttl(config: DNSConfig, name: str) -> int:
    """`service_ttl`: the exact name, else the longest `prefix*`, else `*`, else 0 (Consul 1.21)."""
    ttls = config.service_ttl
    if name in ttls:
        return int(ttls[name])
    prefixes = [key for key in ttls if key.endswith("*") and name.startswith(key[:-1])]
    return int(ttls[max(prefixes, key=len)]) if prefixes else 0


def healthy(instance: Instance, only_passing: bool) -> bool:
    for check in instance.checks:
        if check.status == CRITICAL or (only_passing and check.status == WARNING):
            return False
    return True


def srv_weight(instance: Instance) -> int:
    """Weights.Warning when a check warns, else Weights.Passing; at least 1, since resolvers such as
    HAProxy's take an SRV weight of 0 to mean "send nothing"."""
    service = instance.service
    warning = any(check.status == WARNING for check in instance.checks)
    return min(65535, max(1, service.weights_warning if warning else service.weights_passing))


def address_records(
    owner: dns.name.Name, address: str, ttl: int, qtype: int, cname: bool = True
) -> list[Record]:
    """A or AAAA for an IP, CNAME for a host name; only the kinds `qtype` asks for."""
    ip = ip_of(address)
    if ip is None:
        if not cname or not address or qtype not in (T_A, T_AAAA, T_ANY, dns.rdatatype.CNAME):
            return []
        try:
            return [Record(owner, ttl, CNAME(IN, dns.rdatatype.CNAME, dns.name.from_text(address)))]  # type: ignore[no-untyped-call]
        except dns.exception.DNSException:
            return []
    if ip.version == 4:
        return [Record(owner, ttl, A(IN, T_A, str(ip)))] if qtype in (T_A, T_ANY) else []  # type: ignore[no-untyped-call]
    return [Record(owner, ttl, AAAA(IN, T_AAAA, str(ip)))] if qtype in (T_AAAA, T_ANY) else []  # type: ignore[no-untyped-call]


async def answer_lookup(ctx: Context, lookup: Lookup) -> Answer:
    if lookup.kind == SERVICE:
        return await _service(ctx, lookup)
    if lookup.kind == NODE:
        return await _node(ctx, lookup)
    if lookup.kind == ADDR:
        return _addr(ctx, lookup)
    if lookup.kind == APEX:
        return _apex(ctx)
    return nxdomain()


async def _service_instances(ctx: Context, lookup: Lookup) -> tuple[tuple[Scope, ...], list[Instance]]:
    """The instances of a service: its name lowercased, else as typed. (Consul's catalog matches any
    case; doing that here would mean reading every service name of the namespace on each miss.)"""
    catalog, namespace = ctx.catalog, lookup.namespace
    scopes: tuple[Scope, ...] = ()
    for name in dict.fromkeys((lookup.name.lower(), lookup.name)):
        scope = Scope(namespace, name)
        await catalog.open(scope)
        scopes += (scope,)
        instances = catalog.instances(namespace, name)
        if instances:
            return scopes, instances
    return scopes, []


def _visible(ctx: Context, instance: Instance, datacenter: str, tag: str) -> bool:
    service, node = instance.service, instance.node
    if node.datacenter != datacenter or not healthy(instance, ctx.config.only_passing):
        return False
    if tag and not any(tag == each.lower() for each in service.tags):
        return False
    authz = ctx.authz
    return authz.allowed("service", service.name, "read", service.namespace) and authz.allowed(
        "node", node.name, "read"
    )


async def _service(ctx: Context, lookup: Lookup) -> Answer:
    datacenter = lookup.datacenter or ctx.datacenter
    scopes, instances = await _service_instances(ctx, lookup)
    found = [i for i in instances if _visible(ctx, i, datacenter, lookup.tag)]
    if not found:
        return nxdomain(scopes)
    ttl = service_ttl(ctx.config, found[0].service.name)
    answer = Answer(scopes=scopes, shuffle=True)
    if ctx.qtype == T_SRV:
        for instance in found:
            _add_srv(ctx, answer, instance, datacenter, ttl)
    elif ctx.qtype in (T_A, T_AAAA, T_ANY):
        seen: set[str] = set()
        for instance in found:
            address = instance.service.address or instance.node.address
            if address not in seen:
                seen.add(address)
                answer.records += address_records(ctx.qname, address, ttl, ctx.qtype)
    return answer.finish()


def _add_srv(ctx: Context, answer: Answer, instance: Instance, datacenter: str, ttl: int) -> None:
    """The target is the node's name when the instance uses the node's address, `<hex>.addr` for another
    IP, or the host name itself; each target gets its address records in the additional section. An
    instance whose port is outside 0-65535 gets no SRV record (Consul wraps it: -1 became 65535)."""
    service, node = instance.service, instance.node
    if not 0 <= service.port <= MAX_PORT:
        return  # no SRV record for a port that is none (negative, or stored before ports were checked)
    address = service.address or node.address
    try:
        if address == node.address:
            target = ctx.fqdn(f"{node.name}.node.{datacenter}")
        elif (hex_label := addr_to_hex(address)) is not None:
            target = ctx.fqdn(f"{hex_label}.addr.{datacenter}")
        else:
            target = dns.name.from_text(address)
    except dns.exception.DNSException:
        return  # a node name that is no DNS name cannot be a target
    srv = SRV(IN, T_SRV, 1, srv_weight(instance), service.port, target)  # type: ignore[no-untyped-call]
    answer.records.append(Record(ctx.qname, ttl, srv))
    if target not in answer.additional and ip_of(address) is not None:
        answer.additional[target] = address_records(target, address, ttl, T_ANY, cname=False)


def _find_node(ctx: Context, name: str, namespace: str) -> NodeRecord | None:
    """By name as typed, else in any case (the node scope holds every node already)."""
    node = ctx.catalog.node(name)
    if node is None:
        lowered = name.lower()
        node = next((n for n in ctx.catalog.nodes(namespace) if n.name.lower() == lowered), None)
    return node


async def _node(ctx: Context, lookup: Lookup) -> Answer:
    scope = Scope(lookup.namespace)
    await ctx.catalog.open(scope)
    datacenter = lookup.datacenter or ctx.datacenter
    node = _find_node(ctx, lookup.name, lookup.namespace)
    if node is None or node.datacenter != datacenter or not ctx.authz.allowed("node", node.name, "read"):
        return nxdomain((scope,))
    ttl = int(ctx.config.node_ttl)
    answer = Answer(scopes=(scope,))
    answer.records += address_records(ctx.qname, node.address, ttl, ctx.qtype)
    if ctx.wants(T_TXT):
        for key, value in sorted(node.meta.items()):
            text = value if key.startswith("rfc1035-") else f"{key}={value}"
            chunks = [text.encode()[i : i + 255] for i in range(0, max(1, len(text.encode())), 255)]
            answer.records.append(Record(ctx.qname, ttl, TXT(IN, T_TXT, chunks)))
    return answer.finish()


def _addr(ctx: Context, lookup: Lookup) -> Answer:
    ip = addr_from_hex(lookup.name)
    if ip is None:
        return nxdomain()
    return Answer(records=address_records(ctx.qname, str(ip), int(ctx.config.node_ttl), ctx.qtype)).finish()


def _apex(ctx: Context) -> Answer:
    answer = Answer()
    if ctx.wants(T_SOA):
        answer.records.append(soa_record(ctx.config, ctx.domain))
    if ctx.wants(T_NS):
        try:
            target = ctx.fqdn(f"{ctx.node_name}.node.{ctx.datacenter}")
        except dns.exception.DNSException:
            return answer.finish()
        answer.records.append(Record(ctx.domain, int(ctx.config.node_ttl), NS(IN, T_NS, target)))  # type: ignore[no-untyped-call]
        glue = address_records(target, ctx.node_address, int(ctx.config.node_ttl), T_ANY, cname=False)
        answer.additional[target] = glue
    return answer.finish()


async def answer_reverse(ctx: Context, address: str) -> Answer | None:
    """PTR for an address the catalog knows: nodes first, then service addresses (Consul's order);
    None when it knows none, so the caller can ask a recursor."""
    ip = ip_of(address)
    if ip is None or not ctx.wants(dns.rdatatype.PTR):
        return None
    catalog, authz = ctx.catalog, ctx.authz
    scope = Scope(DEFAULT_NAMESPACE)
    await catalog.open(scope)
    answer = Answer(scopes=(scope,))
    node_ttl = int(ctx.config.node_ttl)
    for node in catalog.nodes(DEFAULT_NAMESPACE):
        if (
            ip_of(node.address) == ip
            and node.datacenter == ctx.datacenter
            and authz.allowed("node", node.name)
        ):
            _add_ptr(ctx, answer, f"{node.name}.node.{ctx.datacenter}", node_ttl)
    if not answer.records:
        for instance in catalog.instances(DEFAULT_NAMESPACE):
            service = instance.service
            if not service.address or ip_of(service.address) != ip:
                continue
            if authz.allowed("service", service.name, "read", service.namespace):
                _add_ptr(ctx, answer, f"{service.name}.service", service_ttl(ctx.config, service.name))
    return answer if answer.records else None


def _add_ptr(ctx: Context, answer: Answer, target: str, ttl: int) -> None:
    try:
        rdata = PTR(IN, dns.rdatatype.PTR, ctx.fqdn(target))  # type: ignore[no-untyped-call]
    except dns.exception.DNSException:
        return
    if all(record.rdata != rdata for record in answer.records):
        answer.records.append(Record(ctx.qname, ttl, rdata))
