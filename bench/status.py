"""Issue 5's benchmark: wrk on /status/v1/simple and /status/v1/services?level=critical, against
GET /v1/agent/services with 10 services (the goal: the critical level costs no more than that).

Run: python bench/status.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import json

from harness import start_agent, wrk


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    agent = start_agent()
    try:
        for i in range(10):
            assert (
                agent.put("/v1/agent/service/register", {"Name": f"svc-{i}", "Port": 8000 + i}).status == 200
            )
        rows = []
        baseline = wrk(agent.url + "/v1/agent/services", seconds=args.seconds)
        for path in ("/v1/agent/services", "/status/v1/simple", "/status/v1/services?level=critical"):
            result = baseline if path == "/v1/agent/services" else wrk(agent.url + path, seconds=args.seconds)
            rows.append(
                {
                    "endpoint": f"GET {path}",
                    "rps": round(result.requests_per_second),
                    "p50_ms": result.p50_ms,
                    "p99_ms": result.p99_ms,
                    "vs_agent_services": round(result.requests_per_second / baseline.requests_per_second, 3),
                }
            )
        for row in rows:
            print(
                f"{row['endpoint']:45} {row['rps']:>7} r/s  p50 {row['p50_ms']:6.2f} ms  "
                f"p99 {row['p99_ms']:6.2f} ms  x{row['vs_agent_services']}"
            )
        print(json.dumps(rows))
    finally:
        agent.close()


if __name__ == "__main__":
    main()
