"""One query in, one reply out (Consul's agent/dns handleQuery): the cached fast path, then the full
path: parse, route to the domain, reverse or recursor, build, pack, cache. A malformed query is
answered FORMERR (or dropped when it has no header); it never stops the server."""

from __future__ import annotations

import logging
import struct
import time
from typing import TYPE_CHECKING

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset

from muster.acl.authorizer import Authorizer
from muster.catalog import Catalog, Scope
from muster.dns.cache import REOPEN_SECONDS, DNSStats, Entry, ReplyCache
from muster.dns.config import DNSConfig
from muster.dns.names import parse_lookup, reverse_address
from muster.dns.records import Answer, Context, answer_lookup, answer_reverse, soa_record
from muster.dns.recursor import forward
from muster.dns.wire import Packer, cache_key, error_reply, message_reply, restamp, rrsets
from muster.errors import MusterError

if TYPE_CHECKING:
    from muster.acl.manager import ACLManager
    from muster.agent.identity import NodeIdentity

log = logging.getLogger("muster.dns")
REVERSE_ZONES = (dns.name.from_text("in-addr.arpa."), dns.name.from_text("ip6.arpa."))
_UNPARSABLE = (dns.exception.DNSException, ValueError, IndexError, KeyError, TypeError, struct.error)
_NO_TRANSFER = (dns.rdatatype.AXFR, dns.rdatatype.IXFR)


def _domain(text: str) -> dns.name.Name | None:
    try:
        return dns.name.from_text(text) if text else None
    except dns.exception.DNSException:
        return None


class DNSHandler:
    def __init__(self, catalog: Catalog, acl: ACLManager, node: NodeIdentity, config: DNSConfig) -> None:
        self.catalog = catalog
        self.acl = acl
        self.node = node
        self.cache = ReplyCache()
        self.stats = DNSStats()
        self.config = config
        self._load(config)

    def reconfigure(self, config: DNSConfig) -> None:
        """A reload's `dns` section: TTLs, recursors, domains; cached replies are dropped."""
        if config is not self.config:
            self._load(config)

    def _load(self, config: DNSConfig) -> None:
        self.config = config
        domains = (_domain(config.domain), _domain(config.alt_domain))
        self.domains = tuple(d for d in domains if d is not None)
        self.cache.clear()
        self._soa: dict[dns.name.Name, tuple[int, dns.rrset.RRset]] = {}

    def soa(self, domain: dns.name.Name) -> dns.rrset.RRset:
        """The domain's SOA RRset, rebuilt once a second (its serial is the time)."""
        now = int(time.time())
        cached = self._soa.get(domain)
        if cached is None or cached[0] != now:
            cached = self._soa[domain] = (now, rrsets([soa_record(self.config, domain)])[0])
        return cached[1]

    def _acl_stamp(self) -> object:
        """What a cached reply's ACL filtering depended on: the ACL writes, the `dns` token and the
        `default` one it falls back to (set without an ACL write), and who they resolve to now (an
        expired token resolves to no one)."""
        acl = self.acl
        if not acl.enabled:
            return None
        who = self._authorizer().accessor_id
        return (acl.index, acl.agent_token("dns"), acl.agent_token("default"), who)

    def _indexes(self, scopes: tuple[Scope, ...]) -> tuple[object, ...]:
        catalog = self.catalog
        return tuple(catalog.marker(scope) for scope in scopes)

    def _current(self, entry: Entry) -> bool:
        return self._indexes(entry.scopes) == entry.indexes and entry.acl_stamp == self._acl_stamp()

    # -- the fast path: a cached reply, still current --------------------------------------------
    def cached(self, data: bytes, tcp: bool) -> bytes | None:
        key = cache_key(data, tcp)
        if key is None:
            return None
        entry = self.cache.get(key)
        if entry is None or time.monotonic() - entry.checked > REOPEN_SECONDS or not self._current(entry):
            return None
        stats = self.stats
        stats.cache_hits += 1
        question = key[0]
        stats.count(question[-4] << 8 | question[-3])
        return restamp(entry.next_variant(), data)

    # -- the full path ---------------------------------------------------------------------------
    async def resolve(self, data: bytes, tcp: bool) -> bytes | None:
        """The reply to send, or None to send nothing (a response, or not even a header)."""
        key = cache_key(data, tcp)
        entry = self.cache.get(key) if key is not None else None
        if entry is not None:
            for scope in entry.scopes:
                await self.catalog.open(scope)  # keep the view alive, then see if it moved
            if self._current(entry):
                entry.checked = time.monotonic()
                self.stats.cache_hits += 1
                self.stats.count(key[0][-4] << 8 | key[0][-3] if key else 0)
                return restamp(entry.next_variant(), data)
        try:
            request = dns.message.from_wire(data)
        except dns.message.ShortHeader:
            self.stats.malformed += 1
            return None
        except _UNPARSABLE:
            self.stats.malformed += 1
            return error_reply(data, dns.rcode.FORMERR)
        if request.flags & dns.flags.QR:
            return None
        self.stats.cache_misses += 1
        return await self._answer(request, data, tcp)

    async def _answer(self, request: dns.message.Message, data: bytes, tcp: bool) -> bytes | None:
        recursion = bool(self.config.recursors)
        if request.opcode() != dns.opcode.QUERY:
            return message_reply(request, dns.rcode.NOTIMP, recursion)
        if len(request.question) != 1:
            return message_reply(request, dns.rcode.FORMERR, recursion)
        if request.edns > 0:
            return message_reply(request, dns.rcode.BADVERS, recursion)
        question = request.question[0]
        qname, qtype = question.name, question.rdtype
        self.stats.count(qtype)
        if qtype in _NO_TRANSFER:
            return message_reply(request, dns.rcode.NOTIMP, recursion)
        domain = next((d for d in self.domains if qname.is_subdomain(d)), None)
        if domain is not None:
            labels = [label.decode(errors="replace") for label in qname.relativize(domain).labels]
            ctx = self._context(domain, qname, qtype)
            answer = await answer_lookup(ctx, parse_lookup(labels, qtype == dns.rdatatype.SRV))
            return self._pack(request, answer, data, tcp, domain)
        if any(qname.is_subdomain(zone) for zone in REVERSE_ZONES):
            labels = [label.decode(errors="replace").lower() for label in qname.labels[:-1]]
            address = reverse_address(labels)
            reverse = await answer_reverse(self._context(self.domains[0], qname, qtype), address or "")
            if reverse is not None:
                return self._pack(request, reverse, data, tcp, self.domains[0])
            if not recursion:
                return message_reply(request, dns.rcode.NXDOMAIN, recursion)
        if not recursion:
            return message_reply(request, dns.rcode.REFUSED, recursion)  # Consul: not ours, no recursor
        self.stats.recursed += 1
        reply = await forward(data, self.config.recursors, self.config.recursor_timeout, tcp=tcp)
        if reply is None:
            self.stats.recursor_failures += 1
            return message_reply(request, dns.rcode.SERVFAIL, recursion)
        return reply

    def _context(self, domain: dns.name.Name, qname: dns.name.Name, qtype: int) -> Context:
        node = self.node
        return Context(
            catalog=self.catalog,
            authz=self._authorizer(),
            config=self.config,
            datacenter=node.datacenter,
            node_name=node.name,
            node_address=node.address,
            domain=domain,
            qname=qname,
            qtype=qtype,
        )

    def _authorizer(self) -> Authorizer:
        """The `dns` agent token, else the default one (authorize falls back), as Consul's DNS reads."""
        acl = self.acl
        try:
            return acl.authorize(acl.agent_token("dns"))
        except MusterError:  # an unknown or expired token: it may read nothing
            return Authorizer(accessor_id="", default_allow=False, has_token=False)

    def _pack(
        self, request: dns.message.Message, answer: Answer, data: bytes, tcp: bool, domain: dns.name.Name
    ) -> bytes:
        key = cache_key(data, tcp)
        indexes = self._indexes(answer.scopes)
        limit = key[1] & 0xFFFF if key is not None else self._limit(request, tcp)
        packer = Packer(
            request,
            answer,
            self.config,
            soa=self.soa(domain),
            limit=limit,
            udp=not tcp,
            recursion_available=bool(self.config.recursors),
        )
        variants = packer.variants()
        if key is not None:
            entry = Entry(variants, answer.scopes, indexes, self._acl_stamp(), time.monotonic())
            self.cache.put(key, entry)
            return restamp(entry.next_variant(), data)
        return variants[0]

    @staticmethod
    def _limit(request: dns.message.Message, tcp: bool) -> int:
        if tcp:
            return 65535
        return max(512, min(65535, request.payload)) if request.edns >= 0 else 512
