"""The DNS hot path's pieces: the cache key read from raw bytes, re-stamping a cached reply, error
replies for unparsable input, UDP trimming, service TTLs and health."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from dns.rdtypes.IN.A import A
from hypothesis import given
from hypothesis import strategies as st

from muster.catalog import Instance, NodeRecord
from muster.dns.cache import ReplyCache, type_name
from muster.dns.config import DNSConfig
from muster.dns.records import Answer, Record, healthy, service_ttl, soa_record, srv_weight
from muster.dns.wire import Packer, cache_key, error_reply, restamp, rrsets
from muster.models import Check, CheckDefinition, Service


def wire(name: str = "web.service.consul", rdtype: str = "A", **edns: int) -> bytes:
    return dns.message.make_query(
        name, rdtype, use_edns=bool(edns), payload=edns.get("payload", 512)
    ).to_wire()


def test_cache_key_is_the_question_and_the_size_limit() -> None:
    plain = wire()
    assert (plain[12:], 512) == cache_key(plain, tcp=False)
    assert (plain[12:], 65535) == cache_key(plain, tcp=True)
    edns = wire(payload=1232)
    key = cache_key(edns, tcp=False)
    assert key is not None
    assert (1232 | 0x10000, plain[12:]) == (key[1], key[0])


def test_cache_key_refuses_what_needs_the_full_parser() -> None:
    good = wire()
    response = good[:2] + bytes([good[2] | 0x80]) + good[3:]
    notify = good[:2] + bytes([good[2] | 0x20]) + good[3:]
    two_questions = good[:5] + b"\x02" + good[6:]
    for data in (response, notify, two_questions, good[:-1], good + b"\x00", good[:12]):
        assert cache_key(data, tcp=False) is None


@given(st.binary(max_size=300))
def test_cache_key_and_error_reply_never_raise(data: bytes) -> None:
    cache_key(data, tcp=False)
    reply = error_reply(data, dns.rcode.FORMERR)
    assert reply is None or (12 == len(reply) and reply[:2] == data[:2])


def test_restamp_takes_the_new_id_and_rd_bit() -> None:
    cached = bytes([0x12, 0x34, 0x85, 0x00]) + b"rest"
    query = bytes([0xAB, 0xCD, 0x00, 0x00])
    assert bytes([0xAB, 0xCD, 0x84, 0x00]) + b"rest" == restamp(cached, query)


def test_error_reply_echoes_id_opcode_and_rd() -> None:
    assert error_reply(b"\x00\x01", dns.rcode.FORMERR) is None
    reply = error_reply(wire(), dns.rcode.FORMERR)
    assert reply is not None
    message = dns.message.from_wire(reply)
    assert (dns.rcode.FORMERR, True) == (message.rcode(), bool(message.flags & dns.flags.RD))


def _a_answer(count: int) -> Answer:
    owner = dns.name.from_text("web.service.consul.")
    records = [
        Record(owner, 0, A(dns.rdataclass.IN, dns.rdatatype.A, f"10.0.{n // 250}.{n % 250}"))
        for n in range(count)
    ]  # type: ignore[no-untyped-call]
    return Answer(records=records, shuffle=True)


def _packer(request: dns.message.Message, answer: Answer, limit: int, **config: object) -> Packer:
    soa = rrsets([soa_record(DNSConfig(), dns.name.from_text("consul."))])[0]
    return Packer(
        request, answer, DNSConfig(**config), soa=soa, limit=limit, udp=True, recursion_available=False
    )  # type: ignore[arg-type]


def test_trimming_cuts_to_the_size_with_tc_and_to_the_udp_answer_limit_without() -> None:
    request = dns.message.make_query("web.service.consul", "A", use_edns=True, payload=1232)
    packed = _packer(request, _a_answer(200), 1232).trimmed(_a_answer(200).records)
    message = dns.message.from_wire(packed)
    assert len(packed) <= 1232
    assert bool(message.flags & dns.flags.TC)
    assert 50 < len(message.answer[0]) < 200
    plain = dns.message.make_query("web.service.consul", "A")
    few = dns.message.from_wire(_packer(plain, _a_answer(10), 512).trimmed(_a_answer(10).records))
    assert (3, False) == (len(few.answer[0]), bool(few.flags & dns.flags.TC))
    flagged = _packer(plain, _a_answer(10), 512, enable_truncate=True)
    assert dns.message.from_wire(flagged.trimmed(_a_answer(10).records)).flags & dns.flags.TC
    limited = _packer(request, _a_answer(10), 1232, a_record_limit=2)
    assert 2 == len(dns.message.from_wire(limited.trimmed(_a_answer(10).records)).answer[0])


def test_service_ttl_exact_then_longest_prefix_then_star() -> None:
    config = DNSConfig(service_ttl={"web": 15, "db*": 9, "db-main*": 7, "*": 5})
    assert [15, 7, 9, 5] == [service_ttl(config, n) for n in ("web", "db-main-1", "db-x", "cache")]
    assert 0 == service_ttl(DNSConfig(), "web")


def _instance(*statuses: str, passing: int = 1, warning: int = 1) -> Instance:
    checks = [
        Check(definition=CheckDefinition(check_id=f"c{i}", name="c"), status=s)
        for i, s in enumerate(statuses)
    ]
    service = Service(id="web-1", name="web", weights_passing=passing, weights_warning=warning)
    return Instance(NodeRecord("id", "n1", "127.0.0.1", "dc1"), service, checks)


def test_health_and_weights() -> None:
    assert healthy(_instance("passing", "warning"), only_passing=False)
    assert not healthy(_instance("passing", "warning"), only_passing=True)
    assert not healthy(_instance("passing", "critical"), only_passing=False)
    assert 10 == srv_weight(_instance("passing", passing=10, warning=2))
    assert 2 == srv_weight(_instance("warning", passing=10, warning=2))
    assert 1 == srv_weight(_instance("warning", passing=10, warning=0))


def test_reply_cache_drops_the_oldest_when_full() -> None:
    cache = ReplyCache(max_entries=10)
    for n in range(12):
        cache.put((bytes([n]), 512), object())  # type: ignore[arg-type]
    assert 10 >= len(cache)
    assert cache.get((b"\x0b", 512)) is not None
    assert cache.get((b"\x00", 512)) is None
    assert ["A", "SRV", "OTHER"] == [type_name(t) for t in (1, 33, 99)]
