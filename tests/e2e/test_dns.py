"""End-to-end: the DNS interface of a real agent, asked with dnspython (issue 7).

Every record kind (service A/AAAA, tag, RFC 2782 SRV with additional addresses, node, addr, PTR, apex
SOA/NS), SOA on NXDOMAIN and NODATA, TTLs, shuffling, only healthy instances (critical checks, node
checks, service and node maintenance), only_passing, truncation over UDP and the full answer over TCP,
ACLs, namespaces, the cache following changes, malformed packets, and the DNS metrics.
"""

from __future__ import annotations

import json
import socket
import struct
import subprocess
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import poll, register_service, ttl, write_config

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")


# -- helpers ---------------------------------------------------------------------------------------


def query(
    agent: AgentProcess,
    name: str,
    rdtype: str = "A",
    *,
    tcp: bool = False,
    payload: int | None = None,
    one_rr_per_rrset: bool = False,
) -> dns.message.Message:
    request = dns.message.make_query(name, rdtype, use_edns=payload is not None, payload=payload or 512)
    ask = dns.query.tcp if tcp else dns.query.udp
    return ask(request, "127.0.0.1", timeout=10, port=agent.dns_port, one_rr_per_rrset=one_rr_per_rrset)


def rdatas(reply: dns.message.Message, rdtype: str, section: str = "answer") -> list[Any]:
    wanted = dns.rdatatype.from_text(rdtype)
    return [rd for rrset in getattr(reply, section) if rrset.rdtype == wanted for rd in rrset]


def addresses(reply: dns.message.Message) -> set[str]:
    return {rd.address for rd in rdatas(reply, "A") + rdatas(reply, "AAAA")}


def answer_of(agent: AgentProcess, name: str, rdtype: str = "A") -> set[str]:
    return addresses(query(agent, name, rdtype))


def web(agent: AgentProcess, n: int, *, tags: list[str] | None = None, **extra: Any) -> str:
    """web-n at 10.0.0.n:800n with a passing TTL check `ttl-web-n`."""
    service_id = f"web-{n}"
    body = {
        "Name": "web",
        "ID": service_id,
        "Address": f"10.0.0.{n}",
        "Port": 8000 + n,
        "Tags": tags or [],
        "Check": {"CheckID": f"ttl-{service_id}", "TTL": "600s", "Status": "passing"},
        **extra,
    }
    register_service(agent, body)
    return service_id


def soa_of(reply: dns.message.Message) -> Any:
    found = rdatas(reply, "SOA", "authority")
    assert 1 == len(found), reply.to_text()
    return found[0]


# -- record kinds ----------------------------------------------------------------------------------


def test_service_a_lookup_lists_every_healthy_address_with_aa_set(agent: AgentProcess) -> None:
    for n in (1, 2, 3):
        web(agent, n)
    reply = query(agent, "web.service.consul")
    assert (dns.rcode.NOERROR, {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) == (reply.rcode(), addresses(reply))
    assert reply.flags & dns.flags.AA
    assert {0} == {rrset.ttl for rrset in reply.answer}  # service_ttl defaults to 0, as Consul's
    assert {"10.0.0.1", "10.0.0.2", "10.0.0.3"} == answer_of(agent, "web.service.dc1.consul")
    assert {"10.0.0.1", "10.0.0.2", "10.0.0.3"} == answer_of(agent, "WEB.Service.Consul")


def test_service_without_address_answers_the_node_address(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "api", "Port": 9000})
    assert {"127.0.0.1"} == answer_of(agent, "api.service.consul")


def test_instances_sharing_an_address_give_one_a_record(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "db", "ID": "db-1", "Address": "10.1.0.1", "Port": 1})
    register_service(agent, {"Name": "db", "ID": "db-2", "Address": "10.1.0.1", "Port": 2})
    assert ["10.1.0.1"] == [rd.address for rd in rdatas(query(agent, "db.service.consul"), "A")]


def test_aaaa_lookup_and_nodata_for_the_other_family(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "v6", "Address": "2001:db8::7", "Port": 80})
    assert {"2001:db8::7"} == answer_of(agent, "v6.service.consul", "AAAA")
    nodata = query(agent, "v6.service.consul", "A")
    assert (dns.rcode.NOERROR, []) == (nodata.rcode(), nodata.answer)
    assert "ns.consul." == soa_of(nodata).mname.to_text()


def test_tag_lookup_answers_only_tagged_instances(agent: AgentProcess) -> None:
    web(agent, 1, tags=["v1", "primary"])
    web(agent, 2, tags=["v2"])
    assert {"10.0.0.1"} == answer_of(agent, "v1.web.service.consul")
    assert {"10.0.0.1"} == answer_of(agent, "Primary.web.service.consul")
    assert dns.rcode.NXDOMAIN == query(agent, "v3.web.service.consul").rcode()


def test_rfc2782_srv_has_ports_weights_and_an_address_per_target(agent: AgentProcess) -> None:
    web(agent, 1, tags=["v1"])
    web(agent, 2)
    register_service(agent, {"Name": "web", "ID": "web-3", "Address": "10.0.0.2", "Port": 8099})
    register_service(agent, {"Name": "web", "ID": "web-node", "Port": 8100})  # the node's address
    reply = query(agent, "_web._tcp.service.consul", "SRV", payload=4096)
    srvs = rdatas(reply, "SRV")
    assert {8001, 8002, 8099, 8100} == {srv.port for srv in srvs}
    assert {1} == {srv.priority for srv in srvs}
    assert all(srv.weight >= 1 for srv in srvs)
    targets = {srv.port: srv.target.to_text() for srv in srvs}
    assert "0a000001.addr.dc1.consul." == targets[8001]
    assert targets[8002] == targets[8099] == "0a000002.addr.dc1.consul."
    assert "test-node.node.dc1.consul." == targets[8100]
    extra = {
        rrset.name.to_text(): {rd.address for rd in rrset} for rrset in reply.additional if rrset.rdtype == 1
    }
    assert {
        "0a000001.addr.dc1.consul.": {"10.0.0.1"},
        "0a000002.addr.dc1.consul.": {"10.0.0.2"},
        "test-node.node.dc1.consul.": {"127.0.0.1"},
    } == extra
    # One A per SRV record, repeated when targets repeat: HAProxy pairs each SRV with its own.
    each = query(agent, "_web._tcp.service.consul", "SRV", payload=4096, one_rr_per_rrset=True)
    assert 4 == sum(1 for rrset in each.additional if rrset.rdtype == dns.rdatatype.A)
    tagged = rdatas(query(agent, "_web._v1.service.consul", "SRV"), "SRV")
    assert [8001] == [srv.port for srv in tagged]
    assert {8001, 8002, 8099, 8100} == {
        s.port for s in rdatas(query(agent, "web.service.consul", "SRV", tcp=True), "SRV")
    }


def test_srv_weight_follows_weights_and_is_never_zero(agent: AgentProcess) -> None:
    web(agent, 1, Weights={"Passing": 10, "Warning": 3})
    web(agent, 2, Weights={"Passing": 5, "Warning": 0})

    def weights() -> dict[int, int]:
        return {
            srv.port: srv.weight for srv in rdatas(query(agent, "_web._tcp.service.consul", "SRV"), "SRV")
        }

    assert {8001: 10, 8002: 5} == weights()
    assert 200 == ttl(agent, "warn", "ttl-web-1").status
    assert 200 == ttl(agent, "warn", "ttl-web-2").status
    assert {8001: 3, 8002: 1} == poll(weights, lambda w: w.get(8001) == 3)


def test_node_lookup_answers_address_and_meta(agent: AgentProcess) -> None:
    reply = query(agent, "test-node.node.consul")
    assert (dns.rcode.NOERROR, {"127.0.0.1"}) == (reply.rcode(), addresses(reply))
    assert {"127.0.0.1"} == answer_of(agent, "test-node.node.dc1.consul")
    texts = {
        b"".join(rd.strings).decode() for rd in rdatas(query(agent, "test-node.node.consul", "TXT"), "TXT")
    }
    assert "consul-version=1.21.0" in texts
    missing = query(agent, "other-node.node.consul")
    assert (dns.rcode.NXDOMAIN, "hostmaster.consul.") == (missing.rcode(), soa_of(missing).rname.to_text())


def test_addr_lookup_decodes_hex_addresses(agent: AgentProcess) -> None:
    assert {"10.0.0.2"} == answer_of(agent, "0a000002.addr.dc1.consul")
    assert {"2001:db8::1"} == answer_of(agent, "20010db8000000000000000000000001.addr.dc1.consul", "AAAA")
    assert dns.rcode.NXDOMAIN == query(agent, "0a0000.addr.dc1.consul").rcode()


def test_ptr_names_known_nodes_and_service_addresses(agent: AgentProcess) -> None:
    web(agent, 4)
    node = rdatas(query(agent, "1.0.0.127.in-addr.arpa", "PTR"), "PTR")
    assert ["test-node.node.dc1.consul."] == [rd.target.to_text() for rd in node]
    service = rdatas(query(agent, "4.0.0.10.in-addr.arpa", "PTR"), "PTR")
    assert ["web.service.consul."] == [rd.target.to_text() for rd in service]
    assert dns.rcode.NXDOMAIN == query(agent, "9.9.9.10.in-addr.arpa", "PTR").rcode()


def test_apex_answers_soa_and_ns(agent: AgentProcess) -> None:
    soa = rdatas(query(agent, "consul.", "SOA"), "SOA")
    assert [("ns.consul.", "hostmaster.consul.", 3600, 600, 86400, 0)] == [
        (rd.mname.to_text(), rd.rname.to_text(), rd.refresh, rd.retry, rd.expire, rd.minimum) for rd in soa
    ]
    ns = query(agent, "consul.", "NS")
    assert ["test-node.node.dc1.consul."] == [rd.target.to_text() for rd in rdatas(ns, "NS")]
    assert {"127.0.0.1"} == {rd.address for rd in rdatas(ns, "A", "additional")}


def test_nxdomain_names_carry_the_soa(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = write_config(tmp_path, dns_config={"soa": {"min_ttl": 7, "retry": 60}})
    agent = make_agent("-config-file", config).start()
    web(agent, 1)
    for name in (
        "nothing.service.consul",
        "web.service.dc2.consul",  # a datacenter with no such instances
        "web.query.consul",  # prepared queries are not answered
        "what.is.this.consul",
        "web.service.x.peer.consul",
    ):
        reply = query(agent, name)
        soa = soa_of(reply)
        assert (name, dns.rcode.NXDOMAIN, 7, 60) == (name, reply.rcode(), soa.minimum, soa.retry)
        assert 7 == reply.authority[0].ttl


# -- health ----------------------------------------------------------------------------------------


def test_a_critical_instance_leaves_the_answer_and_comes_back(agent: AgentProcess) -> None:
    for n in (1, 2):
        web(agent, n)
    assert 200 == ttl(agent, "fail", "ttl-web-1").status
    assert {"10.0.0.2"} == poll(lambda: answer_of(agent, "web.service.consul"), lambda a: a == {"10.0.0.2"})
    srv_ports = {s.port for s in rdatas(query(agent, "_web._tcp.service.consul", "SRV"), "SRV")}
    assert {8002} == srv_ports
    assert 200 == ttl(agent, "fail", "ttl-web-2").status
    gone = poll(lambda: query(agent, "web.service.consul"), lambda r: r.rcode() == dns.rcode.NXDOMAIN)
    assert (dns.rcode.NXDOMAIN, set()) == (gone.rcode(), addresses(gone))
    assert 200 == ttl(agent, "pass", "ttl-web-1").status
    assert {"10.0.0.1"} == poll(lambda: answer_of(agent, "web.service.consul"), lambda a: a == {"10.0.0.1"})


def test_a_critical_node_check_removes_every_instance(agent: AgentProcess) -> None:
    web(agent, 1)
    node_check = {"Name": "disk", "ID": "disk", "TTL": "600s", "Status": "passing"}
    assert 200 == agent.put("/v1/agent/check/register", node_check).status
    assert {"10.0.0.1"} == answer_of(agent, "web.service.consul")
    assert 200 == ttl(agent, "fail", "disk").status
    reply = poll(lambda: query(agent, "web.service.consul"), lambda r: r.rcode() == dns.rcode.NXDOMAIN)
    assert dns.rcode.NXDOMAIN == reply.rcode()


def test_service_maintenance_removes_the_instance(agent: AgentProcess) -> None:
    for n in (1, 2):
        web(agent, n)
    assert 200 == agent.put("/v1/agent/service/maintenance/web-1?enable=true").status
    assert {"10.0.0.2"} == answer_of(agent, "web.service.consul")
    assert {8002} == {s.port for s in rdatas(query(agent, "_web._tcp.service.consul", "SRV"), "SRV")}
    assert 200 == agent.put("/v1/agent/service/maintenance/web-1?enable=false").status
    assert {"10.0.0.1", "10.0.0.2"} == answer_of(agent, "web.service.consul")


def test_node_maintenance_removes_every_instance_unlike_consul_issue_3268(agent: AgentProcess) -> None:
    web(agent, 1)
    register_service(agent, {"Name": "nocheck", "Address": "10.9.0.1", "Port": 1})  # no checks of its own
    assert 200 == agent.put("/v1/agent/maintenance?enable=true&reason=patching").status
    for name in ("web.service.consul", "nocheck.service.consul", "_web._tcp.service.consul"):
        reply = query(agent, name, "SRV" if name.startswith("_") else "A")
        assert (name, dns.rcode.NXDOMAIN, []) == (name, reply.rcode(), reply.answer)
    assert 200 == agent.put("/v1/agent/maintenance?enable=false").status
    assert {"10.9.0.1"} == answer_of(agent, "nocheck.service.consul")


def test_warning_instances_are_answered_unless_only_passing(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    plain = make_agent().start()
    strict = make_agent("-config-file", write_config(tmp_path, dns_config={"only_passing": True})).start()
    for agent in (plain, strict):
        web(agent, 1)
        web(agent, 2)
        assert 200 == ttl(agent, "warn", "ttl-web-1").status
    assert {"10.0.0.1", "10.0.0.2"} == answer_of(plain, "web.service.consul")
    assert {"10.0.0.2"} == answer_of(strict, "web.service.consul")


# -- TTLs, shuffling, truncation -------------------------------------------------------------------


def test_ttls_come_from_service_ttl_and_node_ttl(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    dns_config = {"node_ttl": "30s", "service_ttl": {"web": "15s", "db*": "9s", "*": "5s"}}
    agent = make_agent("-config-file", write_config(tmp_path, dns_config=dns_config)).start()
    web(agent, 1)
    for name in ("db-main", "cache"):
        register_service(agent, {"Name": name, "Address": "10.2.0.1", "Port": 1})
    assert 15 == query(agent, "web.service.consul").answer[0].ttl
    srv = query(agent, "_web._tcp.service.consul", "SRV")
    assert (15, 15) == (srv.answer[0].ttl, srv.additional[0].ttl)
    assert 9 == query(agent, "db-main.service.consul").answer[0].ttl
    assert 5 == query(agent, "cache.service.consul").answer[0].ttl
    assert 30 == query(agent, "test-node.node.consul").answer[0].ttl


def test_answers_are_shuffled(agent: AgentProcess) -> None:
    for n in range(1, 7):
        web(agent, n)
    orders = {
        tuple(rd.address for rd in rdatas(query(agent, "web.service.consul", payload=4096), "A"))
        for _ in range(40)
    }
    assert len(orders) > 1
    assert all(6 == len(order) for order in orders)


def test_udp_without_edns_gets_udp_answer_limit_records(agent: AgentProcess) -> None:
    for n in range(1, 7):
        web(agent, n)
    reply = query(agent, "web.service.consul")
    assert (3, False) == (len(rdatas(reply, "A")), bool(reply.flags & dns.flags.TC))
    assert 6 == len(rdatas(query(agent, "web.service.consul", tcp=True), "A"))


def test_udp_answer_too_big_is_truncated_with_tc_and_tcp_has_it_all(agent: AgentProcess) -> None:
    for n in range(1, 61):
        web(agent, n)
    udp = query(agent, "_web._tcp.service.consul", "SRV", payload=1232)
    assert udp.flags & dns.flags.TC
    assert 0 < len(rdatas(udp, "SRV")) < 60
    assert len(udp.to_wire()) <= 1232
    kept = {srv.target for srv in rdatas(udp, "SRV")}
    assert kept == {rrset.name for rrset in udp.additional if rrset.rdtype == dns.rdatatype.A}
    tcp = query(agent, "_web._tcp.service.consul", "SRV", tcp=True)
    assert (False, 60, 60) == (bool(tcp.flags & dns.flags.TC), len(rdatas(tcp, "SRV")), len(tcp.additional))
    big = query(agent, "_web._tcp.service.consul", "SRV", payload=65000)
    assert (False, 60) == (bool(big.flags & dns.flags.TC), len(rdatas(big, "SRV")))


# -- routing, domains, namespaces, ACLs -------------------------------------------------------------


def test_names_outside_the_domain_are_refused_without_recursors(agent: AgentProcess) -> None:
    reply = query(agent, "example.com")
    assert (dns.rcode.REFUSED, 0) == (reply.rcode(), reply.flags & dns.flags.RA)


def test_domain_and_alt_domain(make_agent: type[AgentProcess]) -> None:
    agent = make_agent("-domain", "muster.internal", "-alt-domain", "sd.example").start()
    web(agent, 1)
    assert {"10.0.0.1"} == answer_of(agent, "web.service.muster.internal")
    assert {"10.0.0.1"} == answer_of(agent, "web.service.sd.example")
    srv = rdatas(query(agent, "_web._tcp.service.sd.example", "SRV"), "SRV")
    assert ["0a000001.addr.dc1.sd.example."] == [rd.target.to_text() for rd in srv]
    assert dns.rcode.REFUSED == query(agent, "web.service.consul").rcode()


def test_namespaced_lookups(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "Address": "10.5.0.1", "Port": 1}, "?ns=team")
    assert {"10.5.0.1"} == answer_of(agent, "web.service.team.ns.consul")
    assert {"10.5.0.1"} == answer_of(agent, "web.service.team.ns.dc1.dc.consul")
    assert dns.rcode.NXDOMAIN == query(agent, "web.service.consul").rcode()
    assert dns.rcode.NXDOMAIN == query(agent, "web.service.team.ns.other.ap.consul").rcode()


def test_the_cache_follows_registrations(agent: AgentProcess) -> None:
    web(agent, 1)
    assert {"10.0.0.1"} == answer_of(agent, "web.service.consul")
    assert {"10.0.0.1"} == answer_of(agent, "web.service.consul")  # now cached
    web(agent, 2)
    assert {"10.0.0.1", "10.0.0.2"} == answer_of(agent, "web.service.consul")
    assert 200 == agent.put("/v1/agent/service/deregister/web-1").status
    assert {"10.0.0.2"} == answer_of(agent, "web.service.consul")


def test_acls_limit_dns_to_what_the_dns_token_may_read(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": "root"}}
    agent = make_agent("-config-file", write_config(tmp_path, acl=acl)).start()
    root = {"X-Consul-Token": "root"}
    register_service(agent, {"Name": "web", "Address": "10.0.0.1", "Port": 1}, "?token=root")
    register_service(agent, {"Name": "db", "Address": "10.0.0.2", "Port": 2}, "?token=root")
    assert dns.rcode.NXDOMAIN == query(agent, "web.service.consul").rcode()  # anonymous: deny
    rules = 'service "web" { policy = "read" } node_prefix "" { policy = "read" }'
    policy = agent.put("/v1/acl/policy", {"Name": "dns", "Rules": rules}, headers=root).json()
    token = agent.put("/v1/acl/token", {"Policies": [{"ID": policy["ID"]}]}, headers=root).json()
    assert 200 == agent.put("/v1/agent/token/dns", {"Token": token["SecretID"]}, headers=root).status
    assert {"10.0.0.1"} == answer_of(agent, "web.service.consul")
    assert dns.rcode.NXDOMAIN == query(agent, "db.service.consul").rcode()
    assert {"127.0.0.1"} == answer_of(agent, "test-node.node.consul")


# -- robustness and metrics ------------------------------------------------------------------------


def test_malformed_packets_get_formerr_or_nothing_and_serving_goes_on(agent: AgentProcess) -> None:
    good = dns.message.make_query("test-node.node.consul", "A").to_wire()
    bad_label = good[:12] + b"\x3fabc"  # a label running past the end
    two_questions = good[:4] + b"\x00\x02" + good[6:] + good[12:]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.connect(("127.0.0.1", agent.dns_port))
        for packet in (bad_label, two_questions, good[:12] + b"\xff" * 40):
            sock.send(packet)
            reply = sock.recv(4096)
            assert (packet[:2], dns.rcode.FORMERR) == (reply[:2], reply[3] & 0x0F)
        sock.send(b"\x01\x02\x03")  # no header: dropped
        sock.send(good[:2] + b"\x80" + good[3:])  # a response: dropped
        sock.send(good)
        assert good[:2] == sock.recv(4096)[:2]  # the next reply is the good query's
    with socket.create_connection(("127.0.0.1", agent.dns_port), timeout=5) as conn:
        conn.sendall(struct.pack("!H", len(bad_label)) + bad_label + struct.pack("!H", len(good)) + good)
        stream = conn.makefile("rb")
        first = stream.read(struct.unpack("!H", stream.read(2))[0])
        second = stream.read(struct.unpack("!H", stream.read(2))[0])
    assert (dns.rcode.FORMERR, dns.rcode.NOERROR) == (first[3] & 0x0F, second[3] & 0x0F)
    assert {"127.0.0.1"} == answer_of(agent, "test-node.node.consul")
    assert 0 == sum("Traceback" in line for line in agent.stderr_lines)


def test_dns_metrics_count_queries_and_cache_hits(agent: AgentProcess) -> None:
    web(agent, 1)
    for _ in range(3):
        query(agent, "web.service.consul")
    query(agent, "_web._tcp.service.consul", "SRV")
    text = agent.get("/v1/agent/metrics?format=prometheus").text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith("muster_dns")
    }
    assert values['muster_dns_queries_total{type="A"}'] >= 3
    assert values['muster_dns_queries_total{type="SRV"}'] >= 1
    assert values["muster_dns_cache_hits_total"] >= 2


def test_a_taken_dns_port_stops_the_agent(make_agent: type[AgentProcess]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        cmd = make_agent("-dns-port", str(port)).command()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert (1, "") == (done.returncode, done.stdout)
    assert f"cannot listen on 127.0.0.1:{port} for DNS: Address already in use" in done.stderr


def test_dns_port_minus_one_turns_dns_off(make_agent: type[AgentProcess]) -> None:
    agent = make_agent("-dns-port", "-1").start()
    assert (-1, 200) == (agent.dns_port, agent.get("/v1/agent/self").status)


def test_a_reload_gives_dns_its_new_ttls(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = tmp_path / "dns.json"
    config.write_text(json.dumps({"dns_config": {"service_ttl": {"*": "5s"}}}))
    agent = make_agent("-config-file", str(config)).start()
    assert 200 == agent.put("/v1/agent/service/register", {"Name": "web", "Address": "10.0.0.1"}).status
    before = query(agent, "web.service.consul", "A")
    config.write_text(json.dumps({"dns_config": {"service_ttl": {"*": "42s"}}}))

    assert 200 == agent.put("/v1/agent/reload").status

    after = query(agent, "web.service.consul", "A")
    assert (5, 42) == (before.answer[0].ttl, after.answer[0].ttl)


def test_cached_dns_answers_follow_the_default_token(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": "root"}}
    agent = make_agent("-config-file", write_config(tmp_path, acl=acl)).start()
    root = {"X-Consul-Token": "root"}
    rules = 'service_prefix "" { policy = "read" }\nnode_prefix "" { policy = "read" }'
    policy = agent.put("/v1/acl/policy", {"Name": "read", "Rules": rules}, headers=root).json()
    token = agent.put("/v1/acl/token", {"Policies": [{"ID": policy["ID"]}]}, headers=root).json()
    assert (
        200
        == agent.put(
            "/v1/agent/service/register", {"Name": "web", "Address": "10.9.9.9"}, headers=root
        ).status
    )
    assert 200 == agent.put("/v1/agent/token/default", {"Token": token["SecretID"]}, headers=root).status
    assert {"10.9.9.9"} == answer_of(agent, "web.service.consul")  # cached now

    assert 200 == agent.put("/v1/agent/token/default", {"Token": ""}, headers=root).status

    assert set() == answer_of(agent, "web.service.consul")  # the anonymous token may read nothing
