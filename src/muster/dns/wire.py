"""DNS messages on the wire: the cache key read straight from a query's bytes (no full parse on the
hot path), replies packed with dnspython's renderer, Consul's UDP trimming (trimUDPResponse), and
re-stamping a cached reply with a new query's ID."""

from __future__ import annotations

import random
import struct

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.renderer
import dns.rrset

from muster.dns.config import DNSConfig
from muster.dns.records import Answer, Record

DEFAULT_UDP_SIZE = 512
MAX_MESSAGE = 65535
EDNS_PAYLOAD = 4096  # what Muster tells EDNS clients it accepts
SHUFFLED_VARIANTS = 8  # distinct orders packed per cached answer, served in turn
_HEADER_TAIL = b"\x00\x01\x00\x00\x00\x00"  # QDCOUNT 1, ANCOUNT 0, NSCOUNT 0
_ADDRESS_TYPES = (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.ANY)

Key = tuple[bytes, int]


def cache_key(data: bytes, tcp: bool) -> Key | None:
    """(question bytes, reply size limit, EDNS bit folded in) for a plain query: one question, no
    answers, at most an EDNS0 OPT; None sends the query down the full path (dnspython's parser)."""
    size = len(data)
    if size < 17 or data[2] & 0xFA or data[4:10] != _HEADER_TAIL:
        return None  # a response, an opcode other than QUERY, TC set, or not exactly one question
    additional = data[10] << 8 | data[11]
    pos = 12
    while True:
        if pos >= size:
            return None
        length = data[pos]
        if length == 0:
            break
        if length > 63:
            return None  # a compression pointer in a question: legal but odd, take the full path
        pos += length + 1
    end = pos + 5
    if end > size:
        return None
    limit = MAX_MESSAGE if tcp else DEFAULT_UDP_SIZE
    if additional == 0:
        return (data[12:end], limit) if end == size else None
    if additional != 1 or size < end + 11 or data[end] != 0 or data[end + 1 : end + 3] != b"\x00\x29":
        return None
    if data[end + 6] != 0 or end + 11 + (data[end + 9] << 8 | data[end + 10]) != size:
        return None  # EDNS version other than 0 (BADVERS), or trailing bytes
    if not tcp:
        limit = max(DEFAULT_UDP_SIZE, data[end + 3] << 8 | data[end + 4])
    return data[12:end], limit | 0x10000


def restamp(cached: bytes, query: bytes) -> bytes:
    """A cached reply for a new query: its ID, and its RD bit echoed."""
    return query[:2] + bytes(((cached[2] & 0xFE) | (query[2] & 0x01),)) + cached[3:]


class _NoCompression(dict[dns.name.Name, int]):
    """A compression table that never remembers a name, so every name is written in full."""

    def __setitem__(self, key: dns.name.Name, value: int) -> None:
        return None


def rrsets(records: list[Record]) -> list[dns.rrset.RRset]:
    """Records grouped into RRsets in order of first appearance; order inside an RRset is kept."""
    grouped: dict[tuple[dns.name.Name, int], dns.rrset.RRset] = {}
    for record in records:
        key = (record.name, record.rdata.rdtype)
        rrset = grouped.get(key)
        if rrset is None:
            rrset = grouped[key] = dns.rrset.RRset(record.name, dns.rdataclass.IN, record.rdata.rdtype)
        rrset.add(record.rdata, record.ttl)
    return list(grouped.values())


class Packer:
    """Packs one Answer for one request; `variants()` gives the shuffled wire forms to serve in turn."""

    def __init__(
        self,
        request: dns.message.Message,
        answer: Answer,
        config: DNSConfig,
        *,
        soa: dns.rrset.RRset,
        limit: int,
        udp: bool,
        recursion_available: bool,
    ) -> None:
        self.request = request
        self.answer = answer
        self.config = config
        self.soa = soa
        self.limit = limit
        self.udp = udp
        flags = dns.flags.QR | dns.flags.AA | (request.flags & dns.flags.RD)
        if recursion_available:
            flags |= dns.flags.RA
        self.flags = flags | answer.rcode

    def variants(self) -> list[bytes]:
        records = self.answer.records
        if not self.answer.shuffle or len(records) < 2:
            return [self.trimmed(list(records))]
        out = []
        for _ in range(SHUFFLED_VARIANTS):
            order = list(records)
            random.shuffle(order)
            out.append(self.trimmed(order))
        return out

    def trimmed(self, records: list[Record]) -> bytes:
        """Consul's limits: `a_record_limit` always; without EDNS (or with EDNS ≤ 512) over UDP at
        most `udp_answer_limit` records; then as many records as fit in the client's size. A cut for
        size sets TC (RFC 1035) so the client asks again over TCP; the count cut sets TC only with
        `enable_truncate`, as in Consul."""
        config, limit = self.config, self.limit
        truncated = False
        if config.a_record_limit > 0 and self.request.question[0].rdtype in _ADDRESS_TYPES:
            records = records[: config.a_record_limit]
        if self.udp and limit == DEFAULT_UDP_SIZE and len(records) > config.udp_answer_limit:
            records = records[: max(0, config.udp_answer_limit)]
            truncated = config.enable_truncate
        wire = self.pack(records, self.answer.soa, truncated)
        if len(wire) <= limit:
            return wire
        low, high = 0, len(records) - 1  # the most records that fit lies in [low, high]
        while low < high:
            middle = (low + high + 1) // 2
            if len(self.pack(records[:middle], False, True)) <= limit:
                low = middle
            else:
                high = middle - 1
        return self.pack(records[:low], False, True)

    def pack(self, records: list[Record], soa: bool, truncated: bool) -> bytes:
        request = self.request
        question = request.question[0]
        flags = self.flags | (dns.flags.TC if truncated else 0)
        renderer = dns.renderer.Renderer(request.id, flags, MAX_MESSAGE)  # type: ignore[no-untyped-call]
        if self.config.disable_compression:
            renderer.compress = _NoCompression()
        renderer.add_question(question.name, question.rdtype, question.rdclass)  # type: ignore[no-untyped-call]
        for rrset in rrsets(records):
            renderer.add_rrset(dns.renderer.ANSWER, rrset)  # type: ignore[no-untyped-call]
        if soa:
            renderer.add_rrset(dns.renderer.AUTHORITY, self.soa)  # type: ignore[no-untyped-call]
        for record in self._additional(records):  # one RRset each: repeats must not merge
            renderer.add_rrset(dns.renderer.ADDITIONAL, rrsets([record])[0])  # type: ignore[no-untyped-call]
        if request.edns >= 0:
            renderer.add_edns(0, 0, EDNS_PAYLOAD)  # type: ignore[no-untyped-call]
        renderer.write_header()  # type: ignore[no-untyped-call]
        return renderer.get_wire()  # type: ignore[no-any-return, no-untyped-call]

    def _additional(self, records: list[Record]) -> list[Record]:
        """The address records of each SRV record still answered (Consul's syncExtra), one set per SRV
        record even when several share a target: HAProxy pairs each SRV with its own additional record."""
        additional = self.answer.additional
        if not additional:
            return []
        out: list[Record] = []
        for record in records:
            target = getattr(record.rdata, "target", None)
            if isinstance(target, dns.name.Name):
                out += additional.get(target, [])
        return out


def error_reply(data: bytes, rcode: int) -> bytes | None:
    """FORMERR/SERVFAIL/NOTIMP/REFUSED for a query that may not parse: the header echoed with no
    sections; None when there is not even a header to answer (the datagram is dropped)."""
    if len(data) < 12 or data[2] & 0x80:
        return None
    flags = 0x8000 | (data[2] & 0x79) << 8 | rcode  # QR, the opcode and RD echoed
    return struct.pack("!HHHHHH", data[0] << 8 | data[1], flags, 0, 0, 0, 0)


def message_reply(request: dns.message.Message, rcode: int, recursion_available: bool) -> bytes:
    """A reply with no records, carrying `rcode` (extended ones such as BADVERS through EDNS)."""
    response = dns.message.make_response(request)
    if recursion_available:
        response.flags |= dns.flags.RA
    response.set_rcode(dns.rcode.Rcode(rcode))
    try:
        return response.to_wire()
    except dns.exception.DNSException:
        return error_reply(request.to_wire(), dns.rcode.SERVFAIL) or b""
