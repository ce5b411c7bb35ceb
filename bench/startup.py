"""Start-up with 10,000 persisted services and 20,000 checks (a TTL and a TCP check each): time from
exec to `HTTP API listening` and a full GET /v1/agent/services, and the RSS then.

Run: python bench/startup.py [--services 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness import AgentProcess, Row, nginx_serving, rss_mib

STARTS = 3  # the best of a few starts: the page cache is warm for all but the first either way


def populate(agent: AgentProcess, services: int, target: str) -> None:
    host_port = target.removeprefix("http://")

    def one(i: int) -> None:
        body = {
            "Name": f"app-{i % 200}",
            "ID": f"app-{i}",
            "Port": 20000 + i % 40000,
            "Address": f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
            "Tags": ["primary", f"v{i % 3}"],
            "Meta": {"env": "prod", "team": f"t{i % 7}"},
            "Checks": [{"TTL": "1h"}, {"TCP": host_port, "Interval": "30s"}],
        }
        reply = agent.put("/v1/agent/service/register", body)
        assert reply.status == 200, reply.text

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(services)))


def timed_start(data_dir: Path, services: int) -> tuple[float, float, float]:
    """Seconds to the listening line, seconds to a complete service list, RSS (MiB) then."""
    agent = AgentProcess("-dns-port", "-1", data_dir=data_dir)
    started = time.monotonic()
    agent.start()
    try:
        listening = time.monotonic() - started
        reply = agent.get("/v1/agent/services")
        serving = time.monotonic() - started
        assert reply.status == 200, reply.status
        assert len(reply.json()) == services
        return listening, serving, rss_mib(agent.proc.pid)  # type: ignore[union-attr]
    finally:
        agent.stop()


def run(services: int = 10_000) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="muster-bench-start-") as tmp, nginx_serving({}) as target:
        data_dir = Path(tmp)
        agent = AgentProcess("-dns-port", "-1", data_dir=data_dir).start()
        try:
            populate(agent, services, target)
            checks = len(agent.get("/v1/agent/checks").json())
        finally:
            agent.stop()
        runs = [timed_start(data_dir, services) for _ in range(STARTS)]
    listening, serving, rss = min(runs, key=lambda r: r[1])
    return [
        Row(
            figure=f"start-up with {services:,} services, {checks:,} checks persisted",
            key="startup seconds",
            value=serving,
            unit="s",
            detail=f"listening after {listening:.2f} s; starts: {', '.join(f'{r[1]:.2f}' for r in runs)} s",
            goal="≤ 2 s",
            met=serving <= 2,
        ),
        Row(
            figure="RSS after start-up",
            key="startup rss",
            value=rss,
            unit="MiB",
            goal="≤ 150 MiB",
            met=rss <= 150,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=10_000)
    args = parser.parse_args()
    for row in run(args.services):
        print(f"{row.figure}: {row.value:.2f} {row.unit} ({row.detail}); goal {row.goal}: {row.met}")


if __name__ == "__main__":
    main()
