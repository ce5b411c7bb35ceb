"""A node name registered through /v1/catalog/register before its agent runs is the agent's once it
starts: entries the agent does not hold are removed at its first full sync, so nothing under its name
keeps reading healthy when the agent dies (a planted instance had no serfHealth and passed forever)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess
from tests.etcdcluster import EtcdCluster


def _wait(condition: Callable[[], Any], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Callable[[str], AgentProcess]]:
    etcd = EtcdCluster(1).start()
    config = tmp_path / "fleet.json"
    config.write_text(json.dumps({"etcd": {"lease_ttl": "3s"}, "catalog": {"sync_interval": "1s"}}))
    prefix = f"/t{time.monotonic_ns()}/"
    started: list[AgentProcess] = []

    def start(name: str) -> AgentProcess:
        args = [*etcd.agent_args(prefix), "-config-file", str(config), "-node", name, "-dns-port", "-1"]
        agent = AgentProcess(*args).start()
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.close()
    etcd.close()


def test_an_agent_takes_its_node_name_over_from_catalog_registrations(
    fleet: Callable[[str], AgentProcess],
) -> None:
    first = fleet("a")
    planted = {
        "Node": "later",
        "Address": "10.0.0.7",
        "Service": {"Service": "payments", "ID": "pay1", "Port": 443},
    }
    reply = first.put("/v1/catalog/register", planted)
    assert (200, "true") == (reply.status, reply.text)
    assert ["pay1"] == [e["ServiceID"] for e in first.get("/v1/catalog/service/payments?consistent").json()]

    fleet("later")

    _wait(lambda: first.get("/v1/catalog/service/payments?consistent").json() == [], 10, "payments gone")
