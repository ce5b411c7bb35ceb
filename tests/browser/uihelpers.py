"""Shared by the browser tests and scripts/ui-screenshots: Debian's chromium and sample services."""

from __future__ import annotations

import time

from tests.agentproc import AgentProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def register(agent: AgentProcess, body: dict[str, object], headers: dict[str, str] | None = None) -> None:
    reply = agent.put("/v1/agent/service/register", body, headers=headers)
    assert 200 == reply.status, reply.text


def ttl_state(agent: AgentProcess, check_id: str, state: str, note: str = "") -> None:
    reply = agent.put(f"/v1/agent/check/{state}/{check_id}?note={note.replace(' ', '+')}")
    assert 200 == reply.status, reply.text


def seed_sample_services(agent: AgentProcess) -> None:
    """A small, varied registry: several instances, each kind of status, tags, meta, maintenance."""
    leader = f"{agent.url}/v1/status/leader"
    for n, (state, note) in enumerate(
        [("pass", "200 OK in 3 ms"), ("pass", "200 OK in 4 ms"), ("warn", "p99 latency 870 ms > 500 ms")], 1
    ):
        register(
            agent,
            {
                "Name": "web",
                "ID": f"web-{n}",
                "Address": f"10.0.1.{10 + n}",
                "Port": 8080,
                "Tags": ["http", "v2" if n < 3 else "v1"],
                "Meta": {"version": "2.4.1" if n < 3 else "2.3.9", "zone": "eu-west-1a"},
                "Checks": [
                    {"CheckID": f"web-{n}-ttl", "Name": "Latency probe", "TTL": "24h"},
                    {"Name": "HTTP /status", "HTTP": leader, "Interval": "2s"},
                ],
            },
        )
        ttl_state(agent, f"web-{n}-ttl", state, note)
    register(
        agent,
        {
            "Name": "api",
            "ID": "api-1",
            "Address": "10.0.2.20",
            "Port": 9000,
            "Tags": ["grpc", "internal"],
            "Meta": {"version": "1.8.0"},
            "Check": {"CheckID": "api-ttl", "Name": "Queue depth", "TTL": "24h"},
        },
    )
    ttl_state(agent, "api-ttl", "fail", "queue depth 12408 > 10000")
    register(
        agent,
        {
            "Name": "db",
            "ID": "db-primary",
            "Address": "10.0.3.5",
            "Port": 5432,
            "Tags": ["postgres", "primary"],
            "Meta": {"version": "16.4"},
            "Check": {"CheckID": "db-ttl", "Name": "Replication lag", "TTL": "24h"},
        },
    )
    ttl_state(agent, "db-ttl", "pass", "lag 0.2 s")
    register(agent, {"Name": "cache", "ID": "cache-1", "Port": 6379, "Tags": ["redis"]})
    reply = agent.put("/v1/agent/service/maintenance/cache-1?enable=true&reason=memory+upgrade")
    assert 200 == reply.status, reply.text


def wait_for_http_checks(agent: AgentProcess, timeout: float = 60.0) -> None:
    """Block (on the catalog index) until every HTTP check has run once and passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = agent.get("/v1/health/state/any")
        if all(c["Status"] == "passing" for c in reply.json() if c["Type"] == "http"):
            return
        agent.get(f"/v1/health/state/any?index={reply.header('X-Consul-Index')}&wait=5s")
    raise TimeoutError("HTTP checks did not pass")
