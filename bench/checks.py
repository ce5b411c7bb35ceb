"""Issue 3's benchmark: 5,000 HTTP and 5,000 TCP checks at a 10 s interval against nginx on loopback.
Prints the agent's CPU share of one core, its RSS, how late check runs start (p50/p99 vs schedule),
and wrk on the load-balancer path (/v1/agent/health/service/name/:name?format=text) meanwhile.

Run: python bench/checks.py [--http 5000] [--tcp 5000] [--measure 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil

from harness import AgentProcess, Row, nginx_serving, rss_mib, wrk


def register_checks(agent: AgentProcess, target: str, http: int, tcp: int) -> None:
    """Service checks, ten per service (half HTTP, half TCP where the counts allow), as apps register them."""
    host_port = target.removeprefix("http://")
    kinds = [
        item
        for pair in zip([{"HTTP": f"{target}/health"}] * http, [{"TCP": host_port}] * tcp, strict=False)
        for item in pair
    ]
    per_service = 10

    def one(start: int) -> None:
        checks = [dict(kind, Interval="10s") for kind in kinds[start : start + per_service]]
        body = {"Name": f"app-{start // per_service % 50}", "ID": f"app-{start}", "Checks": checks}
        reply = agent.put("/v1/agent/service/register", body)
        assert reply.status == 200, reply.text

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(0, len(kinds), per_service)))


def measure(http: int = 5000, tcp: int = 5000, seconds: float = 60) -> dict[str, Any]:
    """Register the checks, let one interval pass, then measure the agent doing nothing but checks."""
    with nginx_serving({"/health": b"ok"}) as target:
        agent = AgentProcess("-dns-port", "-1", dev=True).start()
        try:
            agent.put("/v1/agent/service/register", {"Name": "lb", "ID": "lb-1", "Check": {"TTL": "1h"}})
            agent.put("/v1/agent/check/pass/service:lb-1")
            started = time.monotonic()
            register_checks(agent, target, http, tcp)
            registered_in = time.monotonic() - started
            time.sleep(12)  # one full interval: every check has had its staggered first run
            proc = psutil.Process(agent.proc.pid)  # type: ignore[union-attr]
            cpu_before = proc.cpu_times()
            wall_before = time.monotonic()
            time.sleep(seconds)  # checks only: nothing else asks the agent anything
            cpu_after = proc.cpu_times()
            wall = time.monotonic() - wall_before
            busy = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
            stats = agent.get("/v1/agent/self").json()["Stats"]["checks"]
            lb = wrk(agent.url + "/v1/agent/health/service/name/lb?format=text", seconds=10, connections=10)
            return {
                "checks": http + tcp,
                "registered_in_s": round(registered_in, 1),
                "cpu_share_of_one_core": round(busy / wall, 3),
                "rss_mib": round(rss_mib(proc.pid), 1),
                "lateness_ms": stats,
                "lb_text_rps_during_checks": round(lb.requests_per_second),
                "lb_text_p50_ms_during_checks": lb.p50_ms,
                "lb_text_p99_ms_during_checks": lb.p99_ms,
            }
        finally:
            agent.close()


def run(seconds: float = 60, http: int = 5000, tcp: int = 5000) -> list[Row]:
    """The suite's rows: CPU share and the worse p99 start lateness of the two kinds."""
    result = measure(http, tcp, seconds)
    lateness = result["lateness_ms"]
    print(json.dumps(lateness), file=sys.stderr)
    p99 = max(_p99_ms(lateness, kind) for kind in ("http", "tcp"))
    cpu = result["cpu_share_of_one_core"]
    return [
        Row(
            figure=f"checks: {http:,} HTTP + {tcp:,} TCP at 10 s, agent CPU",
            key="checks cpu",
            value=cpu,
            unit="core",
            detail=f"RSS {result['rss_mib']:.0f} MiB",
            goal="≤ 0.6 core",
            met=cpu <= 0.6,
        ),
        Row(
            figure="checks: p99 start lateness (worse of HTTP, TCP)",
            key="checks p99 lateness",
            value=p99,
            unit="ms",
            detail=f"{_lateness_detail(lateness)}",
            goal="≤ 100 ms",
            met=p99 <= 100,
        ),
    ]


def _p99_ms(lateness: dict[str, str], kind: str) -> float:
    return float(lateness.get(f"{kind}_lateness_p99_ms", "nan"))


def _lateness_detail(lateness: dict[str, str]) -> str:
    parts = []
    for kind in ("http", "tcp"):
        p50, p99 = (lateness.get(f"{kind}_lateness_{q}_ms") for q in ("p50", "p99"))
        parts.append(f"{kind.upper()} p50 {p50} / p99 {p99} ms")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int, default=5000)
    parser.add_argument("--tcp", type=int, default=5000)
    parser.add_argument("--measure", type=int, default=60)
    args = parser.parse_args()
    print(json.dumps(measure(args.http, args.tcp, args.measure), indent=2))


if __name__ == "__main__":
    main()
