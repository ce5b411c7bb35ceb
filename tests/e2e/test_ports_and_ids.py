"""End-to-end: ports out of range and IDs no URL can reach (issue 13, items 7 and 8), against a real
agent: a service port above 65535 is a 400 naming the field (difference 11), negative ports stay
accepted and never reach DNS, and a service or check ID that Go-style path cleaning would rewrite is
refused at registration instead of being stored where it can never be read or deregistered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest

from tests.agentproc import AgentProcess, q
from tests.e2e.targets import register_service

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

UNREACHABLE = 'a URL path cannot carry it (no leading "/", no "//", no "." or ".." between slashes)'


@pytest.fixture(scope="module")
def dev_agent() -> Iterator[AgentProcess]:
    proc = AgentProcess(dev=True).start()
    yield proc
    proc.close()


def _register(agent: AgentProcess, body: dict[str, Any]) -> tuple[int, str]:
    reply = agent.put("/v1/agent/service/register", body)
    return reply.status, reply.text


# -- ports -------------------------------------------------------------------------------------------

_PROXY = {"Kind": "connect-proxy", "Proxy": {"DestinationServiceName": "web"}, "Port": 21000}

PORT_CASES = [
    ({"Port": 70000}, "Port", 70000),
    ({"Port": 99999999999}, "Port", 99999999999),
    ({"TaggedAddresses": {"lan": {"Address": "10.0.0.1", "Port": 65536}}}, "TaggedAddresses.lan.Port", 65536),
    (
        {**_PROXY, "Proxy": {"DestinationServiceName": "web", "LocalServicePort": 70000}},
        "Proxy.LocalServicePort",
        70000,
    ),
    (
        {
            **_PROXY,
            "Proxy": {
                "DestinationServiceName": "web",
                "Upstreams": [
                    {"DestinationName": "db", "LocalBindPort": 9000},
                    {"DestinationName": "c", "LocalBindPort": 80000},
                ],
            },
        },
        "Proxy.Upstreams[1].LocalBindPort",
        80000,
    ),
    (
        {
            **_PROXY,
            "Proxy": {
                "DestinationServiceName": "web",
                "Expose": {"Paths": [{"Path": "/h", "ListenerPort": 70000}]},
            },
        },
        "Proxy.Expose.Paths[0].ListenerPort",
        70000,
    ),
    ({"Port": 80, "Connect": {"SidecarService": {"Port": 70000}}}, "Connect.SidecarService.Port", 70000),
    (
        {
            "Port": 80,
            "Connect": {
                "SidecarService": {
                    "Proxy": {"Upstreams": [{"DestinationName": "db", "LocalBindPort": 70000}]}
                }
            },
        },
        "Connect.SidecarService.Proxy.Upstreams[0].LocalBindPort",
        70000,
    ),
]


@pytest.mark.parametrize(("fields", "name", "port"), PORT_CASES)
def test_a_port_above_65535_is_a_400_naming_the_field(
    dev_agent: AgentProcess, fields: dict[str, Any], name: str, port: int
) -> None:
    body = {"Name": "big", "ID": "big", **fields}
    expected = (400, f"Invalid {name}: {port} is not a port (the largest is 65535)")
    assert expected == _register(dev_agent, body)
    assert 404 == dev_agent.get("/v1/agent/service/big").status


def test_ports_at_the_edges_and_negative_ports_are_accepted_as_in_consul(dev_agent: AgentProcess) -> None:
    register_service(dev_agent, {"Name": "edge", "ID": "edge-max", "Port": 65535})
    register_service(dev_agent, {"Name": "edge", "ID": "edge-neg", "Port": -1})
    services = dev_agent.get("/v1/agent/services").json()
    assert (65535, -1) == (services["edge-max"]["Port"], services["edge-neg"]["Port"])


# -- DNS never publishes a port outside 0-65535 -----------------------------------------------------


def _srv(agent: AgentProcess, name: str) -> list[tuple[int, str]]:
    request = dns.message.make_query(name, "SRV")
    reply = dns.query.udp(request, "127.0.0.1", timeout=10, port=agent.dns_port)
    return sorted(
        (rd.port, rd.target.to_text())
        for rrset in reply.answer
        if rrset.rdtype == dns.rdatatype.SRV
        for rd in rrset
    )


def test_a_negative_port_gets_no_srv_record_and_keeps_its_address_records(dev_agent: AgentProcess) -> None:
    register_service(dev_agent, {"Name": "negport", "ID": "neg-a", "Port": -1, "Address": "10.0.0.1"})
    register_service(dev_agent, {"Name": "negport", "ID": "neg-b", "Port": 8080, "Address": "10.0.0.2"})
    assert [(8080, "0a000002.addr.dc1.consul.")] == _srv(dev_agent, "negport.service.consul")
    request = dns.message.make_query("negport.service.consul", "A")
    reply = dns.query.udp(request, "127.0.0.1", timeout=10, port=dev_agent.dns_port)
    assert {"10.0.0.1", "10.0.0.2"} == {rd.address for rrset in reply.answer for rd in rrset}


def test_only_negative_ports_answer_srv_with_no_records(dev_agent: AgentProcess) -> None:
    register_service(dev_agent, {"Name": "allneg", "ID": "allneg", "Port": -5})
    assert [] == _srv(dev_agent, "allneg.service.consul")


# -- IDs no URL can reach ----------------------------------------------------------------------------

UNREACHABLE_IDS = ["../../evil", "a/../b", "./x", "a/./b", "a//b", "/lead", "..", ".", "a/..", "x/."]


@pytest.mark.parametrize("service_id", UNREACHABLE_IDS)
def test_a_service_id_no_url_can_reach_is_a_400(dev_agent: AgentProcess, service_id: str) -> None:
    status, text = _register(dev_agent, {"Name": "web", "ID": service_id})
    assert (400, f'Invalid service ID "{service_id}": {UNREACHABLE}') == (status, text)
    assert service_id not in dev_agent.get("/v1/agent/services").json()


def test_a_name_used_as_the_id_is_checked_too(dev_agent: AgentProcess) -> None:
    assert (400, f'Invalid service ID "../n": {UNREACHABLE}') == _register(dev_agent, {"Name": "../n"})


@pytest.mark.parametrize("service_id", ["a/b", "trail/", "sp ace", "q?x#y", "%2e%2e", "a/.b/c..", "http:x"])
def test_ids_with_slashes_that_a_url_can_reach_keep_working(dev_agent: AgentProcess, service_id: str) -> None:
    register_service(dev_agent, {"Name": "reach", "ID": service_id, "Check": {"TTL": "30s"}})
    assert (200, service_id) == (
        dev_agent.get(f"/v1/agent/service/{q(service_id)}").status,
        dev_agent.get(f"/v1/agent/service/{q(service_id)}").json()["ID"],
    )
    assert 200 == dev_agent.put(f"/v1/agent/check/pass/{q('service:' + service_id)}").status
    assert 200 == dev_agent.put(f"/v1/agent/service/deregister/{q(service_id)}").status
    assert service_id not in dev_agent.get("/v1/agent/services").json()


def test_an_embedded_check_id_no_url_can_reach_is_a_400(dev_agent: AgentProcess) -> None:
    body = {
        "Name": "web",
        "ID": "emb",
        "Checks": [{"CheckID": "ok", "TTL": "10s"}, {"CheckID": "c/../d", "TTL": "10s"}],
    }
    assert (400, f'Invalid check ID "c/../d": {UNREACHABLE}') == _register(dev_agent, body)
    assert 404 == dev_agent.get("/v1/agent/service/emb").status


def test_a_sidecar_check_id_no_url_can_reach_is_a_400(dev_agent: AgentProcess) -> None:
    body = {
        "Name": "web",
        "ID": "side",
        "Port": 80,
        "Connect": {"SidecarService": {"Check": {"CheckID": "..", "TTL": "10s"}}},
    }
    assert (400, f'Invalid check ID "..": {UNREACHABLE}') == _register(dev_agent, body)


@pytest.mark.parametrize("fields", [{"ID": "../x", "Name": "c"}, {"Name": "a//b"}])
def test_check_register_refuses_an_id_no_url_can_reach(
    dev_agent: AgentProcess, fields: dict[str, str]
) -> None:
    check_id = fields.get("ID") or fields["Name"]
    reply = dev_agent.put("/v1/agent/check/register", {**fields, "TTL": "10s"})
    assert (400, f'Invalid check ID "{check_id}": {UNREACHABLE}') == (reply.status, reply.text)
    assert check_id not in dev_agent.get("/v1/agent/checks").json()
