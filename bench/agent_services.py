"""Issue 2's benchmark: GET /v1/agent/services (100 and 1,000 services) and GET /v1/agent/service/:id
with wrk (1 thread, 50 connections, 10 s), each against nginx serving the identical bytes.

Run: python bench/agent_services.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json

from harness import nginx_serving, rss_mib, start_agent, wrk


def register(agent, count: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        body = {
            "Name": f"svc-{i % 50}",
            "ID": f"svc-{i}",
            "Port": 8000 + i,
            "Address": f"10.0.{i // 250}.{i % 250}",
            "Tags": ["primary", f"v{i % 3}"],
            "Meta": {"env": "prod", "team": f"t{i % 7}"},
        }
        reply = agent.put("/v1/agent/service/register", body)
        assert reply.status == 200, reply.text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    rows = []
    for count in (100, 1000):
        agent = start_agent()
        try:
            register(agent, count)
            paths = {
                "/v1/agent/services": agent.get("/v1/agent/services").body,
                "/v1/agent/service/svc-7": agent.get("/v1/agent/service/svc-7").body,
            }
            with nginx_serving(paths) as nginx:
                for path, body in paths.items():
                    ours = wrk(agent.url + path, seconds=args.seconds)
                    theirs = wrk(nginx + path, seconds=args.seconds)
                    rows.append(
                        {
                            "endpoint": f"GET {path}",
                            "services": count,
                            "bytes": len(body),
                            "muster_rps": round(ours.requests_per_second),
                            "muster_p99_ms": ours.p99_ms,
                            "nginx_rps": round(theirs.requests_per_second),
                            "nginx_p99_ms": theirs.p99_ms,
                            "ratio": round(ours.requests_per_second / theirs.requests_per_second, 3),
                            "agent_rss_mib": round(rss_mib(agent.proc.pid), 1),  # type: ignore[union-attr]
                            "errors": ours.errors,
                        }
                    )
        finally:
            agent.close()
    header = (
        f"{'endpoint':32} {'svcs':>5} {'bytes':>7} {'muster r/s':>10} {'p99 ms':>7} "
        f"{'nginx r/s':>10} {'p99 ms':>7} {'ratio':>6} {'RSS MiB':>8}"
    )
    print(header)
    for r in rows:
        print(
            f"{r['endpoint']:32} {r['services']:>5} {r['bytes']:>7} {r['muster_rps']:>10} "
            f"{r['muster_p99_ms']:>7.2f} {r['nginx_rps']:>10} {r['nginx_p99_ms']:>7.2f} {r['ratio']:>6.3f} "
            f"{r['agent_rss_mib']:>8}"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
