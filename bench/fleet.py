"""Issue 7's fleet benchmark: three agents on a three-member etcd, 1,000 services each.

- Propagation: register an instance on one agent and time until a blocking query
  (`/v1/health/service/NAME?index=I`) already waiting on another agent answers with it. The clock
  starts before the PUT is sent, so the register's own fsync'd commit is included; the agents take
  turns (A -> B, B -> C, C -> A). The service names are the preloaded ones, so each watched range
  holds the three agents' instances.
- Read throughput: wrk on `/v1/health/service/NAME` (the fleet catalog, served from the agent's
  live etcd view) against `/v1/agent/health/service/name/NAME` (the agent's own state) on the same
  agent in the same run, as a ratio; and the consumers' reads (health, catalog service, catalog
  services) against nginx serving the same bytes, as bench/http_endpoints.py does on one agent.

Run: python bench/fleet.py [--services 1000] [--samples 300] [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.agentproc import AgentProcess, Reply
from tests.etcdcluster import EtcdCluster

from harness import nginx_serving, rss_mib, wrk

AGENTS = ("node-a", "node-b", "node-c")


def register_many(agent: AgentProcess, count: int, node: str) -> None:
    def one(i: int) -> None:
        body = {
            "Name": f"svc-{i:04d}",
            "ID": f"svc-{i:04d}-{node}",
            "Address": "10.1.0.1",
            "Port": 8000 + i % 1000,
            "Tags": ["primary", f"v{i % 3}"],
            "Meta": {"team": f"t{i % 7}"},
        }
        reply = agent.put("/v1/agent/service/register", body)
        assert reply.status == 200, reply.text

    with ThreadPoolExecutor(16) as pool:  # concurrent registrations share the store's group commit
        list(pool.map(one, range(count)))


def wait_converged(agents: list[AgentProcess], count: int, timeout: float = 300.0) -> float:
    """Seconds until every agent's /v1/catalog/services lists every preloaded service."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if all(len(agent.get("/v1/catalog/services").json()) >= count + 1 for agent in agents):
            return time.monotonic() - start
        time.sleep(0.2)
    raise RuntimeError("the fleet did not converge")


def index_of(reply: Reply) -> int:
    return int(reply.header("X-Consul-Index") or 0)


def propagation(source: AgentProcess, reader: AgentProcess, name: str, sid: str) -> tuple[float, float]:
    """(seconds from sending the PUT, seconds from its 200) until `reader` answers with `sid`."""
    first = reader.get(f"/v1/health/service/{name}")  # opens (or refreshes) the reader's view
    index = index_of(first)
    assert sid not in {e["Service"]["ID"] for e in first.json()}
    seen = threading.Event()
    seen_at = [0.0]

    def block() -> None:
        nonlocal index
        while not seen.is_set():
            reply = reader.get(f"/v1/health/service/{name}?index={index}&wait=30s", timeout=60)
            now = time.perf_counter()
            if sid in {e["Service"]["ID"] for e in reply.json()}:
                seen_at[0] = now
                seen.set()
            index = index_of(reply)

    waiter = threading.Thread(target=block, daemon=True)
    waiter.start()
    time.sleep(0.02)  # let the blocking query reach the agent (it answers at once if it comes late)
    sent = time.perf_counter()
    body = {"Name": name, "ID": sid, "Address": "10.2.0.1", "Port": 9000}
    reply = source.put("/v1/agent/service/register", body)
    acked = time.perf_counter()
    assert reply.status == 200, reply.text
    if not seen.wait(30):
        raise RuntimeError(f"{sid} never reached {reader.address}")
    waiter.join()
    return seen_at[0] - sent, seen_at[0] - acked


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=8)
    args = parser.parse_args()
    etcd = EtcdCluster(3)
    agents: list[AgentProcess] = []
    try:
        etcd.start()
        for node in AGENTS:
            agents.append(AgentProcess(*etcd.agent_args("/bench/"), "-node", node, "-dns-port", "-1").start())
        started = time.monotonic()
        for agent, node in zip(agents, AGENTS, strict=True):
            register_many(agent, args.services, node)
        registered = time.monotonic() - started
        converged = wait_converged(agents, args.services)
        print(
            f"preload: {len(agents)} x {args.services} services registered in {registered:.1f} s, "
            f"every agent lists them {converged:.1f} s later"
        )

        from_send: list[float] = []
        from_ack: list[float] = []
        for k in range(args.samples):
            source, reader = agents[k % 3], agents[(k + 1) % 3]
            name = f"svc-{(k * 7) % args.services:04d}"
            sent, acked = propagation(source, reader, name, f"probe-{k}")
            from_send.append(sent)
            from_ack.append(acked)
        prop = {
            "samples": args.samples,
            "p50_ms": round(1000 * statistics.median(from_send), 1),
            "p99_ms": round(1000 * pct(from_send, 0.99), 1),
            "max_ms": round(1000 * max(from_send), 1),
            "p50_from_200_ms": round(1000 * statistics.median(from_ack), 1),
            "p99_from_200_ms": round(1000 * pct(from_ack, 0.99), 1),
        }
        print(
            f"propagation ({prop['samples']} samples, register on one agent -> blocking query on another): "
            f"p50 {prop['p50_ms']} ms, p99 {prop['p99_ms']} ms, max {prop['max_ms']} ms "
            f"(from the register's 200: p50 {prop['p50_from_200_ms']} ms, p99 {prop['p99_from_200_ms']} ms)"
        )

        reader = agents[1]
        name = "svc-0001"
        rows: list[dict[str, Any]] = []
        paths = {
            "fleet": f"/v1/health/service/{name}",
            "fleet ?passing": f"/v1/health/service/{name}?passing",
            "fleet catalog": f"/v1/catalog/service/{name}",
            "fleet services": "/v1/catalog/services",
            "local agent": f"/v1/agent/health/service/name/{name}",
        }
        results = {label: wrk(reader.url + path, seconds=args.seconds) for label, path in paths.items()}
        bodies = {path.split("?")[0]: reader.get(path).body for path in paths.values()}
        with nginx_serving(bodies) as nginx:
            served = {
                label: wrk(nginx + path.split("?")[0], seconds=args.seconds) for label, path in paths.items()
            }
        base = results["local agent"].requests_per_second
        for label, path in paths.items():
            result = results[label]
            rows.append(
                {
                    "read": label,
                    "path": path,
                    "bytes": len(reader.get(path).body),
                    "rps": round(result.requests_per_second),
                    "p99_ms": result.p99_ms,
                    "errors": result.errors,
                    "vs_local": round(result.requests_per_second / base, 3),
                    "vs_nginx": round(result.requests_per_second / served[label].requests_per_second, 3),
                }
            )
        for row in rows:
            print(
                f"{row['read']:15} GET {row['path']:45} {row['bytes']:>6} B {row['rps']:>7} r/s  "
                f"p99 {row['p99_ms']:6.2f} ms  x{row['vs_local']} of the local agent, "
                f"x{row['vs_nginx']} of nginx"
            )
        rss = {node: round(rss_mib(agent.proc.pid), 1) for node, agent in zip(AGENTS, agents, strict=True)}
        print(f"agent RSS (MiB): {rss}")
        print(json.dumps({"propagation": prop, "reads": rows, "rss_mib": rss, "converged_s": converged}))
    finally:
        for agent in agents:
            agent.close()
        etcd.close()


if __name__ == "__main__":
    main()
