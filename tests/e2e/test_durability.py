"""End-to-end: acknowledged changes survive kill -9; -dev keeps nothing (spec §5, README decision 8)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.agentproc import AgentProcess, q

# As in the other e2e modules: a stray pipe ResourceWarning at garbage collection must not fail a test.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

REGISTER = "/v1/agent/service/register"


def register(agent: AgentProcess, body: Any, query: str = "") -> None:
    reply = agent.put(REGISTER + query, body)
    assert (200, b"") == (reply.status, reply.body), reply.text


def snapshot(agent: AgentProcess, ids: list[str], query: str = "") -> dict[str, bytes]:
    shot = {"__list__": agent.get("/v1/agent/services" + query).body}
    for service_id in ids:
        reply = agent.get("/v1/agent/service/" + q(service_id) + query)
        assert 200 == reply.status, reply.text
        shot[service_id] = reply.body + b"|" + (reply.header("X-Consul-ContentHash") or "").encode()
    return shot


def varied_services() -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    for i in range(24):
        body: dict[str, Any] = {"Name": f"svc-{i % 5}", "ID": f"svc-{i}", "Port": 8000 + i}
        if i % 2:
            body["Tags"] = [f"t{i}", "common"]
        if i % 3 == 0:
            body["Meta"] = {"idx": str(i), "team": "core"}
        if i % 4 == 0:
            body["Address"] = f"10.0.{i}.1"
        if i % 4 == 1:
            body["Address"] = f"2001:db8::{i}"
        if i % 4 == 2:
            body["Address"] = f"host-{i}.example.com"
        if i % 5 == 0:
            body["Weights"] = {"Passing": 3, "Warning": 0}
        if i % 6 == 0:
            body["EnableTagOverride"] = True
        if i % 7 == 0:
            body["Check"] = {"TTL": "30s", "Notes": f"ttl {i}"}
        if i % 8 == 0:
            body["Checks"] = [
                {"CheckID": f"c{i}a", "TTL": "1m"},
                {"CheckID": f"c{i}b", "TCP": "127.0.0.1:1", "Interval": "30s"},
            ]
        bodies.append(body)
    bodies.append({"Name": "odd id", "ID": "a:b/c#d é", "Tags": ["<&>"]})
    bodies.append({"Name": "native", "Port": 443, "Connect": {"Native": True}, "Kind": "custom-kind"})
    return bodies


def test_services_survive_kill9_byte_identical(agent: AgentProcess) -> None:
    bodies = varied_services()
    for body in bodies:
        register(agent, body)
    ids = [body.get("ID", body["Name"]) for body in bodies]
    before = snapshot(agent, ids)
    assert len(ids) == len(agent.get("/v1/agent/services").json())

    agent.kill9()
    agent.start()
    assert before == snapshot(agent, ids)


def test_service_checks_survive_kill9(agent: AgentProcess) -> None:
    register(
        agent,
        {
            "Name": "web",
            "Checks": [{"CheckID": "a", "TTL": "30s"}, {"CheckID": "b", "TTL": "1m", "Notes": "n"}],
        },
    )
    register(agent, {"Name": "db", "Check": {"TTL": "30s"}})
    before = agent.get("/v1/agent/checks")
    assert 200 == before.status, f"GET /v1/agent/checks -> {before.status} {before.text!r}"
    agent.kill9()
    agent.start()
    after = agent.get("/v1/agent/checks")
    assert 200 == after.status
    assert ["a", "b", "service:db"] == sorted(after.json())
    assert before.json()["b"]["Notes"] == after.json()["b"]["Notes"] == "n"


def test_deregistered_services_stay_gone_after_kill9(agent: AgentProcess) -> None:
    for name in ("keep", "drop", "drop-too"):
        register(agent, {"Name": name, "Check": {"TTL": "10s"}})
    for name in ("drop", "drop-too"):
        assert 200 == agent.put(f"/v1/agent/service/deregister/{name}").status
    agent.kill9()
    agent.start()
    assert ["keep"] == list(agent.get("/v1/agent/services").json())
    assert 404 == agent.get("/v1/agent/service/drop").status


def test_latest_reregistration_is_what_survives(agent: AgentProcess) -> None:
    for port in range(1, 11):
        register(agent, {"Name": "web", "Port": port, "Tags": [f"v{port}"]})
    agent.kill9()
    agent.start()
    service = agent.get("/v1/agent/service/web").json()
    assert (10, ["v10"]) == (service["Port"], service["Tags"])


def test_reregistered_after_deregister_survives(agent: AgentProcess) -> None:
    register(agent, {"Name": "web", "Port": 1})
    assert 200 == agent.put("/v1/agent/service/deregister/web").status
    register(agent, {"Name": "web", "Port": 2})
    agent.kill9()
    agent.start()
    assert 2 == agent.get("/v1/agent/service/web").json()["Port"]


def test_namespaced_services_survive_kill9(agent: AgentProcess) -> None:
    register(agent, {"Name": "web", "Port": 1})
    register(agent, {"Name": "web", "Port": 2}, "?ns=team-a")
    before_default = snapshot(agent, ["web"])
    before_team = snapshot(agent, ["web"], "?ns=team-a")
    agent.kill9()
    agent.start()
    assert before_default == snapshot(agent, ["web"])
    assert before_team == snapshot(agent, ["web"], "?ns=team-a")


def test_concurrent_acknowledged_writes_all_survive_kill9(agent: AgentProcess) -> None:
    failures: list[str] = []

    def writer(worker: int) -> None:
        for i in range(25):
            reply = agent.put(REGISTER, {"Name": f"w{worker}", "ID": f"w{worker}-{i}", "Port": i})
            if reply.status != 200:
                failures.append(reply.text)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert [] == failures
    agent.kill9()
    agent.start()
    expected = sorted(f"w{worker}-{i}" for worker in range(4) for i in range(25))
    assert expected == sorted(agent.get("/v1/agent/services").json())


def test_graceful_stop_exits_zero_and_keeps_state(agent: AgentProcess) -> None:
    register(agent, {"Name": "web", "Port": 1})
    assert 0 == agent.stop()
    agent.start()
    assert ["web"] == list(agent.get("/v1/agent/services").json())


def test_dev_agent_loses_state_on_restart(make_agent: type[AgentProcess]) -> None:
    agent = make_agent(dev=True).start()
    register(agent, {"Name": "ephemeral", "Check": {"TTL": "10s"}})
    assert ["ephemeral"] == list(agent.get("/v1/agent/services").json())
    agent.kill9()
    agent.start()
    assert b"{}" == agent.get("/v1/agent/services").body.strip()
    assert 404 == agent.get("/v1/agent/service/ephemeral").status


def test_second_agent_on_the_same_data_dir_is_refused(
    agent: AgentProcess, make_agent: type[AgentProcess]
) -> None:
    other = make_agent(data_dir=agent.data_dir)
    with pytest.raises(RuntimeError):
        other.start()
    assert other.proc is not None
    assert other.proc.returncode not in (None, 0)
    assert 200 == agent.get("/v1/agent/services").status
