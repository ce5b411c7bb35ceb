"""The read endpoints under wrk (1 thread, 50 connections), each against nginx serving the identical
bytes: the agent's service list and one service, health (?passing), the load balancer's text form, the
catalog reads consumers poll and the Puppet-style /status/v1/simple, with 100 and 1,000 services; and
the consumers' reads again with ACLs on and a valid token (issue 15)."""

from __future__ import annotations

import json
import secrets
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import AgentProcess, Row, latency_detail, nginx_serving, rss_mib, start_agent, wrk

GOALS = {100: 0.5, 1000: 0.35}  # the agent's own endpoints (issue 9)
READ_GOALS = {100: 0.6, 1000: 0.4}  # the consumers' catalog, health and status reads (issue 15)
ACL_GOAL = 0.5
CONSUMER_READS = (
    "/v1/health/service/svc-7?passing",
    "/v1/catalog/service/svc-7",
    "/v1/catalog/services",
    "/status/v1/simple",
)
TOKEN = secrets.token_hex(16)  # the management token of the ACL run


def register(agent: AgentProcess, count: int, token: str = "") -> None:
    """`count` services over 50 names (so a name has count/50 instances), each with a passing TTL check."""
    headers = {"X-Consul-Token": token} if token else {}

    def one(i: int) -> None:
        body = {
            "Name": f"svc-{i % 50}",
            "ID": f"svc-{i}",
            "Port": 8000 + i,
            "Address": f"10.0.{i // 250}.{i % 250}",
            "Tags": ["primary", f"v{i % 3}"],
            "Meta": {"env": "prod", "team": f"t{i % 7}"},
            "Check": {"CheckID": f"svc-{i}-ttl", "TTL": "1h"},
        }
        reply = agent.put("/v1/agent/service/register", body, headers=headers)
        assert reply.status == 200, reply.text
        assert agent.put(f"/v1/agent/check/pass/svc-{i}-ttl", headers=headers).status == 200

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def paths() -> list[str]:
    return [
        "/v1/agent/services",
        "/v1/agent/service/svc-7",
        "/v1/agent/health/service/name/svc-7?format=text",
        *CONSUMER_READS,
    ]


def run(seconds: float, counts: tuple[int, ...] = (100, 1000)) -> list[Row]:
    rows: list[Row] = []
    for count in counts:
        agent = start_agent("-dns-port", "-1")
        try:
            register(agent, count)
            rows += _compare(agent, count, paths(), seconds)
            rows[-1].detail += f"; agent RSS {rss_mib(agent.proc.pid):.0f} MiB"  # type: ignore[union-attr]
        finally:
            agent.close()
    with tempfile.TemporaryDirectory(prefix="muster-bench-acl-") as folder:
        config = Path(folder) / "acl.json"
        acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": TOKEN}}
        config.write_text(json.dumps({"acl": acl}))
        agent = start_agent("-dns-port", "-1", "-config-file", str(config))
        try:
            register(agent, 100, TOKEN)
            rows += _compare(agent, 100, list(CONSUMER_READS), seconds, token=TOKEN)
        finally:
            agent.close()
    return rows


def _compare(agent: AgentProcess, count: int, paths: list[str], seconds: float, token: str = "") -> list[Row]:
    """Each path under wrk, then nginx serving its bytes, in the same run."""
    headers = {"X-Consul-Token": token} if token else {}
    bodies = {}
    for path in paths:
        reply = agent.get(path, headers=headers)
        assert reply.status == 200, (path, reply.status)
        bodies[path] = reply.body
    files = {path.split("?")[0]: body for path, body in bodies.items()}
    rows = []
    with nginx_serving(files) as nginx:
        for path in paths:
            ours = wrk(agent.url + path, seconds=seconds, headers=headers)
            theirs = wrk(nginx + path.split("?")[0], seconds=seconds)
            assert ours.errors == 0, (path, ours)
            assert theirs.errors == 0, (path, theirs)
            goal = ACL_GOAL if token else (READ_GOALS if path in CONSUMER_READS else GOALS)[count]
            ratio = ours.requests_per_second / theirs.requests_per_second
            acl = ", ACLs on, a token" if token else ""
            rows.append(
                Row(
                    figure=f"GET {path} ({count:,} svcs{acl}, {_size(len(bodies[path]))})",
                    key=f"http {count}{' acl' if token else ''} {path}",
                    value=ours.requests_per_second,
                    unit="req/s",
                    detail=latency_detail(ours),
                    versus="nginx, same bytes",
                    versus_value=theirs.requests_per_second,
                    versus_detail=latency_detail(theirs),
                    goal=f"≥ {goal} of nginx",
                    met=ratio >= goal,
                )
            )
    return rows


def _size(n: int) -> str:
    return f"{n} B" if n < 1000 else f"{n / 1000:.0f} KB"
