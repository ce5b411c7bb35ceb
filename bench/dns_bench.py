"""Issue 7's DNS benchmark: dnsperf (one client thread, 100 queries outstanding) against a real agent
with 100 services of 3 instances each, for `<name>.service.consul` A and `_<name>._tcp.service.consul`
SRV over UDP, mostly served from the reply cache; plus the uncached cost (every query a new name).
Goal: 10,000 queries/s.

Run: python bench/dns_bench.py [--seconds 10] [--services 100]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile

from harness import start_agent

DNSPERF = shutil.which("dnsperf") or "/usr/bin/dnsperf"


def dnsperf(port: int, queries: list[str], seconds: int, *, edns: bool = False) -> dict[str, float | str]:
    with tempfile.NamedTemporaryFile("w", prefix="muster-dnsperf-", suffix=".txt") as data:
        data.write("\n".join(queries) + "\n")
        data.flush()
        cmd = [DNSPERF, "-s", "127.0.0.1", "-p", str(port), "-d", data.name, "-l", str(seconds), "-q", "100"]
        out = subprocess.run(
            cmd + (["-e"] if edns else []), capture_output=True, text=True, check=True
        ).stdout

    def figure(label: str) -> float:
        match = re.search(rf"{label}:\s+([\d.]+)", out)
        assert match is not None, out
        return float(match.group(1))

    return {
        "qps": figure("Queries per second"),
        "lost": figure("Queries lost"),
        "avg_latency_ms": figure("Average Latency \\(s\\)") * 1000,
        "rcodes": re.search(r"Response codes:\s+(.*)", out).group(1),  # type: ignore[union-attr]
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--services", type=int, default=100)
    args = parser.parse_args()
    agent = start_agent()
    try:
        for i in range(args.services):
            for n in range(3):
                body = {
                    "Name": f"web-{i}",
                    "ID": f"web-{i}-{n}",
                    "Address": f"10.{i // 250}.{i % 250}.{n + 1}",
                }
                body |= {"Port": 8000 + n, "Check": {"TTL": "3600s", "Status": "passing"}}
                assert agent.put("/v1/agent/service/register", body).status == 200
        names = [f"web-{i}" for i in range(args.services)]
        rows = []
        cases = {
            "A": [f"{name}.service.consul A" for name in names],
            "SRV": [f"_{name}._tcp.service.consul SRV" for name in names],
            "A, EDNS": [f"{name}.service.consul A" for name in names],
            "uncached A (new name each query)": [f"nope-{i}.service.consul A" for i in range(400_000)],
        }
        for label, queries in cases.items():
            result = dnsperf(agent.dns_port, queries, args.seconds, edns="EDNS" in label)
            rows.append({"case": label, **result})
        for row in rows:
            print(
                f"{row['case']:36} {row['qps']:>9,.0f} q/s  avg {row['avg_latency_ms']:6.2f} ms  "
                f"lost {row['lost']:.0f}  {row['rcodes']}"
            )
        metrics = agent.get("/v1/agent/metrics").json()
        counters = {
            c["Name"]: c["Count"] for c in metrics["Counters"] if c["Name"].startswith("muster.dns.cache")
        }
        print(json.dumps({"rows": rows, "cache": counters, "services": args.services}))
    finally:
        agent.close()


if __name__ == "__main__":
    main()
