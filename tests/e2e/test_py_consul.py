"""End-to-end: the py-consul client (criteo/py-consul) against a real agent (spec Appendix B)."""

from __future__ import annotations

import consul
import pytest
from consul.exceptions import BadRequest

from tests.agentproc import AgentProcess

# As in the other e2e modules: a stray pipe ResourceWarning at garbage collection must not fail a test.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")


@pytest.fixture
def client(agent: AgentProcess) -> consul.Consul:
    return consul.Consul(host="127.0.0.1", port=agent.port)


def test_register_list_and_deregister(client: consul.Consul) -> None:
    assert client.agent.service.register(
        "web", service_id="web1", address="10.0.0.5", port=8080, tags=["a", "b"]
    )
    listed = client.agent.services()
    assert ["web1"] == list(listed)
    web = listed["web1"]
    assert ("web1", "web", ["a", "b"], 8080, "10.0.0.5") == (
        web["ID"],
        web["Service"],
        web["Tags"],
        web["Port"],
        web["Address"],
    )
    assert client.agent.service.deregister("web1")
    assert {} == client.agent.services()


def test_register_without_address_shows_only_given_tagged_addresses(client: consul.Consul) -> None:
    tagged = {"lan": {"address": "10.1.1.1", "port": 80}}
    assert client.agent.service.register("ta", tagged_addresses=tagged)
    assert {"lan": {"Address": "10.1.1.1", "Port": 80}} == client.agent.services()["ta"]["TaggedAddresses"]


def test_register_with_meta_weights_and_tag_override(client: consul.Consul) -> None:
    assert client.agent.service.register(
        "m", meta={"version": "1.2"}, weights={"passing": 7, "warning": 3}, enable_tag_override=True
    )
    svc = client.agent.services()["m"]
    assert ({"version": "1.2"}, {"Passing": 7, "Warning": 3}, True) == (
        svc["Meta"],
        svc["Weights"],
        svc["EnableTagOverride"],
    )


def test_service_definition_returns_content_hash(client: consul.Consul) -> None:
    assert client.agent.service.register("foo", tags=["bar", "baz"], port=8000)
    assert "3e352f348d44f7eb" == client.agent.service_definition("foo")["ContentHash"]


def test_register_with_ttl_check(agent: AgentProcess, client: consul.Consul) -> None:
    assert client.agent.service.register("ttl-svc", service_id="ttl-1", check=consul.Check.ttl("10s"))
    assert ["ttl-1"] == list(client.agent.services())
    reply = agent.get("/v1/agent/checks")
    assert 200 == reply.status, f"GET /v1/agent/checks -> {reply.status} {reply.text!r}"
    check = client.agent.checks()["service:ttl-1"]
    assert ("ttl", "critical", "ttl-1", "ttl-svc") == (
        check["Type"],
        check["Status"],
        check["ServiceID"],
        check["ServiceName"],
    )
    assert client.agent.service.deregister("ttl-1")
    assert {} == client.agent.checks()


def test_register_with_http_check_and_replace_existing_checks(
    client: consul.Consul, agent: AgentProcess
) -> None:
    url = f"http://127.0.0.1:{agent.port}/"
    assert client.agent.service.register(
        "h", check=consul.Check.http(url, "10s", timeout="2s"), extra_checks=[consul.Check.ttl("30s")]
    )
    assert ["service:h:1", "service:h:2"] == sorted(client.agent.checks())
    assert client.agent.service.register("h", check=consul.Check.ttl("30s"), replace_existing_checks=True)
    assert ["service:h"] == sorted(client.agent.checks())


def test_script_check_is_refused_as_bad_request(client: consul.Consul) -> None:
    with pytest.raises(consul.ConsulException) as caught:
        client.agent.service.register("s", check=consul.Check.script(["/bin/true"], "10s"))
    assert "Scripts are disabled on this agent" in str(caught.value)
    assert isinstance(caught.value, BadRequest)
    assert {} == client.agent.services()


def test_docker_check_payload_is_rejected_like_consul(client: consul.Consul) -> None:
    with pytest.raises(BadRequest) as caught:
        client.agent.service.register("d", check=consul.Check.docker("cid", "/bin/sh", "true", "10s"))
    assert 'unknown field "script"' in str(caught.value)


def test_deregister_unknown_returns_false(client: consul.Consul) -> None:
    assert client.agent.service.deregister("nope") is False


def test_special_characters_in_service_id(client: consul.Consul) -> None:
    service_id = "api:v2/eu#1"
    assert client.agent.service.register("api", service_id=service_id)
    assert [service_id] == list(client.agent.services())
    assert service_id == client.agent.service_definition(service_id)["ID"]
    assert client.agent.service.deregister(service_id)
    assert {} == client.agent.services()


def test_self_members_and_status_agree(client: consul.Consul) -> None:
    document = client.agent.self()
    assert {"Member", "xDS", "Stats", "Config", "Coord", "DebugConfig", "Meta"} == set(document)
    assert document["Member"] in client.agent.members()
    leader = client.status.leader()
    assert document["Stats"]["consul"]["leader_addr"] == leader
    assert leader in client.status.peers()


def test_catalog_and_health_reads_with_node_meta_filter_near_and_tags(make_agent: type[AgentProcess]) -> None:
    """py-consul's catalog.* and health.* with the parameters Muster honours (issue 15)."""
    agent = make_agent("-node", "meta-node", "-node-meta", "rack:r1").start()
    c = consul.Consul(host="127.0.0.1", port=agent.port)
    assert c.agent.service.register(
        "web", service_id="web-1", tags=["a", "Blue"], check=consul.Check.ttl("60s")
    )
    assert c.agent.service.register("web", service_id="web-2", tags=["b"])
    assert c.agent.check.ttl_pass("service:web-1")
    meta = {"rack": "r1"}

    index, nodes = c.catalog.nodes(node_meta=meta, near="_agent", filter_expr='Node == "meta-node"')
    assert (True, ["meta-node"]) == (int(index) > 0, [n["Node"] for n in nodes])
    assert [] == c.catalog.nodes(node_meta={"rack": "r2"})[1]
    _, services = c.catalog.services(node_meta=meta, filter_expr='ServiceTags contains "b"')
    assert {"web": ["b"]} == services
    _, instances = c.catalog.service("web", tag="blue", node_meta=meta, near="_agent")
    assert ["web-1"] == [i["ServiceID"] for i in instances]
    _, node = c.catalog.node("meta-node", filter_expr='Service == "web"')
    assert {"web-1", "web-2"} == set(node["Services"])
    _, healthy = c.health.service(
        "web", passing=True, node_meta=meta, near="_agent", filter_expr='Service.ID != ""'
    )
    assert ["web-1", "web-2"] == [e["Service"]["ID"] for e in healthy]  # web-2 has no check of its own
    _, tagged = c.health.service("web", tag="A", passing=True, node_meta=meta)
    assert ["web-1"] == [e["Service"]["ID"] for e in tagged]
    assert [] == c.health.service("web", node_meta={"rack": "r2"})[1]
    _, checks = c.health.checks("web", node_meta=meta, near="_agent")
    assert ["service:web-1"] == [check["CheckID"] for check in checks]
    _, passing = c.health.state("passing", node_meta=meta, filter_expr='CheckID == "service:web-1"')
    assert ["service:web-1"] == [check["CheckID"] for check in passing]
    _, on_node = c.health.node("meta-node", filter_expr='Status == "passing"')
    assert {"serfHealth", "service:web-1"} == {check["CheckID"] for check in on_node}
