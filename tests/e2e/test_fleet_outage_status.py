"""End-to-end: an etcd outage is reported, not turned into every agent leaving its load balancer
(issue 13, item 10). A real etcd member is killed and started again under a real agent."""

from __future__ import annotations

import time
from pathlib import Path

from tests.agentproc import AgentProcess
from tests.e2e.test_fleet import Fleet, register, wait_for
from tests.etcdcluster import EtcdCluster

PREFIX = "catalog not in sync with etcd: "


def sync_status(agent: AgentProcess) -> tuple[str, list[str]]:
    body = agent.get("/status/v1/services/catalog-sync").json()
    return body["state"], [alert["message"] for alert in body["active_alerts"]]


def log_lines(agent: AgentProcess, text: str) -> list[str]:
    return [line for line in agent.stderr_lines if text in line]


def test_etcd_outage_leaves_simple_running_names_the_cause_and_logs_break_and_recovery(
    tmp_path: Path,
) -> None:
    cluster = EtcdCluster(1).start()
    fleet = Fleet(cluster, tmp_path)
    try:
        fleet.start("a")
        agent = fleet["a"]
        register(agent, "web", "web-a", 80)
        wait_for(lambda: sync_status(agent)[0] == "running", 10.0, "catalog-sync running")
        assert (200, "running") == (
            agent.get("/status/v1/simple").status,
            agent.get("/status/v1/simple").text,
        )

        cluster.stop_all()
        messages: set[str] = set()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:  # every alert seen while etcd is gone, from the first on
            state, alerts = sync_status(agent)
            messages.update(alerts)
            time.sleep(0.05)
        simple = agent.get("/status/v1/simple")
        one = agent.get("/status/v1/simple/catalog-sync")
        local = agent.get("/v1/agent/service/web-a")
        assert ("error", [], (200, "running"), (503, "error"), 200) == (
            state,
            [m for m in messages if not m.startswith(PREFIX) or not m[len(PREFIX) :].strip()],
            (simple.status, simple.text),
            (one.status, one.text),
            local.status,
        ), messages
        assert 1 == len(log_lines(agent, "catalog sync with etcd broken: ")), agent.stderr_lines

        cluster.start_member(cluster.members[0])
        wait_for(lambda: sync_status(agent) == ("running", []), 30.0, "catalog-sync running again")
        restored = log_lines(agent, "catalog sync with etcd restored after ")
        assert (1, 1) == (len(restored), len(log_lines(agent, "catalog sync with etcd broken: "))), restored
    finally:
        fleet.close()
        cluster.close()
