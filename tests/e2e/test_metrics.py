"""End-to-end: `GET /v1/agent/metrics` on the real agent, in Consul's JSON shape and, with
`?format=prometheus`, in Prometheus' text format read back with prometheus-client's own parser;
`agent:read` enforced when ACLs are on (consul-agent.md §6)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.agentproc import AgentProcess, Reply

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
REGISTER = "/v1/agent/service/register"
ROOT = "root"
AGGREGATE_KEYS = ["Name", "Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels"]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def agent() -> Iterator[AgentProcess]:
    proc = AgentProcess("-drain-grace-seconds", "0").start()
    yield proc
    proc.close()


def scrape(agent: AgentProcess, **headers: str) -> Samples:
    reply = agent.get("/v1/agent/metrics?format=prometheus", headers=headers)
    assert (200, PROMETHEUS_TEXT) == (reply.status, reply.header("Content-Type"))
    return parse(reply)


def parse(reply: Reply) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(reply.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_json_has_consuls_shape(agent: AgentProcess) -> None:
    agent.get("/v1/agent/services")
    reply = agent.get("/v1/agent/metrics")
    assert (200, "application/json") == (reply.status, reply.header("Content-Type"))
    document = reply.json()
    assert ["Timestamp", "Gauges", "Points", "Counters", "Samples"] == list(document)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC", document["Timestamp"])
    assert [] == document["Points"]
    assert {("Name", "Value", "Labels")} == {tuple(gauge) for gauge in document["Gauges"]}
    for entry in document["Counters"] + document["Samples"]:
        assert AGGREGATE_KEYS == list(entry)
    http = next(
        sample
        for sample in document["Samples"]
        if sample["Name"] == "consul.api.http"
        and sample["Labels"] == {"method": "GET", "path": "v1_agent_services"}
    )
    assert http["Count"] >= 1
    assert 0 < http["Min"] <= http["Mean"] <= http["Max"]
    assert http["Sum"] == pytest.approx(http["Mean"] * http["Count"])
    names = {gauge["Name"] for gauge in document["Gauges"]}
    assert {"consul.rpc.queries_blocking", "consul.state.services", "consul.state.service_instances"} <= names


def test_pretty_json_is_indented(agent: AgentProcess) -> None:
    reply = agent.get("/v1/agent/metrics?pretty")
    assert reply.text.startswith('{\n    "Timestamp": ')
    assert reply.text.endswith("}\n")


def test_prometheus_request_counter_moves_with_requests(agent: AgentProcess) -> None:
    before = scrape(agent)
    for _ in range(3):
        assert 200 == agent.get("/v1/agent/checks").status
    assert 405 == agent.request("PROPFIND", "/v1/agent/checks").status
    after = scrape(agent)
    labels = {"method": "GET", "path": "v1_agent_checks"}
    assert 3 == value(after, "consul_api_http_count", **labels) - value(
        before, "consul_api_http_count", **labels
    )
    assert value(after, "consul_api_http_sum", **labels) > value(before, "consul_api_http_sum", **labels)
    started = "muster_http_requests_total"
    assert 4 == value(after, started, path="v1_agent_checks") - value(before, started, path="v1_agent_checks")
    assert 1 == value(after, "consul_api_http_count", method="OTHER", path="v1_agent_checks")


def test_prometheus_counts_services_checks_and_check_runs(agent: AgentProcess) -> None:
    body = {"Name": "metrics-web", "ID": "metrics-web-1", "Check": {"TTL": "30s"}}
    assert 200 == agent.put(REGISTER, body).status
    assert 200 == agent.put(REGISTER, dict(body, ID="metrics-web-2")).status
    tcp = {"Name": "self", "TCP": agent.address, "Interval": "1s"}
    assert 200 == agent.put("/v1/agent/check/register", tcp).status
    deadline = time.monotonic() + 10
    samples = scrape(agent)
    while value(samples, "muster_check_runs_total", kind="tcp") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        samples = scrape(agent)
    assert value(samples, "muster_check_runs_total", kind="tcp") >= 2
    assert 0 <= value(samples, "muster_check_start_lateness_seconds", kind="tcp", quantile="0.99") < 1
    assert (1, 2) == (
        value(samples, "consul_state_services"),
        value(samples, "consul_state_service_instances"),
    )
    assert 2 == value(samples, "muster_agent_checks", kind="ttl", status="critical")
    assert 2 == value(samples, "muster_agent_services", status="critical")
    assert 0 == value(samples, "consul_rpc_queries_blocking")
    assert value(samples, "muster_store_commits_total") >= 3  # a durable agent: each write is a commit
    assert value(samples, "muster_store_size_bytes") > 0
    assert value(samples, "process_resident_memory_bytes") > 0


def test_a_scraper_accept_header_selects_prometheus(agent: AgentProcess) -> None:
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    reply = agent.get("/v1/agent/metrics", headers={"Accept": accept})
    assert (200, PROMETHEUS_TEXT) == (reply.status, reply.header("Content-Type"))
    assert ("muster_agent_draining", frozenset()) in parse(reply)


def test_metrics_need_agent_read_when_acls_are_on(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = tmp_path / "acl.json"
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": ROOT}}
    config.write_text(json.dumps({"acl": acl}))
    agent = make_agent("-config-file", str(config), "-drain-grace-seconds", "0", dev=True).start()
    denied = (
        "Permission denied: anonymous token lacks permission 'agent:read' on \"test-node\". "
        "The anonymous token is used implicitly when a request does not specify a token."
    )
    for path in ("/v1/agent/metrics", "/v1/agent/metrics?format=prometheus"):
        reply = agent.get(path)
        assert (403, denied) == (reply.status, reply.text)
        assert 200 == agent.get(path, headers={"X-Consul-Token": ROOT}).status
    assert 403 == agent.get("/v1/agent/metrics", headers={"X-Consul-Token": "nope"}).status
    root = scrape(agent, **{"X-Consul-Token": ROOT})
    assert value(root, "consul_api_http_count", method="GET", path="v1_agent_metrics") >= 3
