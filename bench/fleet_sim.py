"""Issue 7's scale test, by simulation: many lightweight agents on one etcd, running the real sync and
watch code (CatalogSync, EtcdCatalog, PrefixView) over a real LocalState and LocalCatalog each.

Each simulated agent has its own etcd lease, registers `--services` services (names drawn from
`--names`) and asks about `--watch` names (one live view each, as a client's blocking query would
open). Agents are spread over `--workers` processes, each with one shared EtcdClient (one gRPC
channel). Then services are changed at `--rate` per second for `--duration` seconds: each change
carries a probe (id and send time) in its Meta, and every view counts the etcd events it applies.

Figures: events delivered per change (and whether exactly the watching agents got each change),
propagation p50/p99 (put_service on one agent -> the event applied in a watcher's view), etcd CPU and
RSS idle and under changes, and the workers' CPU and event-loop lag (does Python keep up?).

Run: python bench/fleet_sim.py [--agents 1000] [--workers 2] [--rate 20] [--duration 30]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import os
import random
import re
import statistics
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.etcdcluster import EtcdCluster  # noqa: E402

from muster.agent.identity import NodeIdentity  # noqa: E402
from muster.agent.state import LocalState  # noqa: E402
from muster.catalog import Scope  # noqa: E402 - after the path is set
from muster.catalog.config import CatalogConfig, EtcdConfig  # noqa: E402
from muster.catalog.etcd import EtcdCatalog  # noqa: E402
from muster.catalog.etcd_client import EtcdClient, Event  # noqa: E402
from muster.catalog.local import LocalCatalog  # noqa: E402
from muster.catalog.sync import CatalogSync  # noqa: E402
from muster.catalog.view import PrefixView  # noqa: E402
from muster.config import AgentConfig  # noqa: E402
from muster.models import Service  # noqa: E402

PREFIX = "/sim/"
PROBE = re.compile(rb'"probe":"(\d+)\|([\d.]+)"')


@dataclass(frozen=True)
class Plan:
    """Who registers and who watches what: the same in every process (seeded)."""

    agents: int
    services: int
    names: int
    watch: int
    seed: int = 7

    def name(self, n: int) -> str:
        return f"svc-{n:03d}"

    def registered(self, agent: int) -> list[str]:
        return [self.name((agent * self.services + j) % self.names) for j in range(self.services)]

    def watched(self, agent: int) -> list[str]:
        rng = random.Random(self.seed * 1_000_003 + agent)
        return [self.name(n) for n in rng.sample(range(self.names), self.watch)]

    def watchers(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for agent in range(self.agents):
            for name in self.watched(agent):
                out.setdefault(name, set()).add(node_name(agent))
        return out


def node_name(agent: int) -> str:
    return f"sim-{agent:05d}"


@dataclass
class Tally:
    events: int = 0  # every event applied in any view of this process
    alive_events: int = 0  # of which on `alive` keys: a lease granted again, or expired
    receipts: list[tuple[int, str, float]] = field(default_factory=list)  # (probe, agent, latency s)


class SimAgent:
    """One simulated agent: its state, its node, and the real LocalCatalog and CatalogSync over them."""

    def __init__(self, index: int, plan: Plan, catalog_config: CatalogConfig, client: EtcdClient) -> None:
        self.index = index
        self.name = node_name(index)
        self.plan = plan
        self.config = AgentConfig(node_name=self.name, dev=True, catalog=catalog_config)
        self.state = LocalState(self.name, self.config.datacenter)
        node = NodeIdentity(
            self.name, self.config.datacenter, self.config.bind_addr, id=str(uuid.UUID(int=index + 1))
        )
        self.local_catalog = LocalCatalog(self.state, node)
        self.catalog = EtcdCatalog(catalog_config, self.config.datacenter, client=client)
        self.sync = CatalogSync(self.state, self.local_catalog, catalog_config, self.catalog)
        for j, name in enumerate(plan.registered(index)):
            self.state.put_service(self.service(j, name, {}))

    def service(self, j: int, name: str, meta: dict[str, str]) -> Service:
        return Service(
            id=f"{name}-{self.name}-{j}",
            name=name,
            port=10000 + j,
            address="10.9.0.1",
            tags=["sim"],
            meta=meta,
        )

    async def start(self) -> None:
        await self.catalog.start()
        await self.sync.start()

    async def stop(self) -> None:
        await self.sync.stop()
        # Not catalog.stop(): it closes the client, which the other agents of this process share.
        if self.catalog._sweeper is not None:
            self.catalog._sweeper.cancel()
        for view in list(self.catalog.views.values()):
            await view.stop()

    def count_into(self, tally: Tally) -> None:
        for view in self.catalog.views.values():
            count_view(view, self.name, tally)


def instance_count(agent: SimAgent, name: str) -> int:
    view = agent.catalog.views[agent.catalog.layout.service("default", name)]
    return sum(b"/i/" in key for key in view.values)


def count_view(view: PrefixView, agent: str, tally: Tally) -> None:
    original = view.apply

    def apply(events: list[Event]) -> None:
        now = time.time()
        tally.events += len(events)
        for event in events:
            if event.key.endswith(b"/alive"):
                tally.alive_events += 1
            match = PROBE.search(event.value)
            if match:
                tally.receipts.append((int(match.group(1)), agent, now - float(match.group(2))))
        original(events)

    view.apply = apply  # type: ignore[method-assign]


async def fleet_wide_read(agent: SimAgent) -> dict[str, float]:
    """What one fleet-wide question costs an agent: /v1/catalog/services reads every node's record."""
    started = time.perf_counter()
    scope = Scope("default", nodes_only=True)
    await agent.catalog.open(scope)
    opened = time.perf_counter()
    names = agent.catalog.services("default")
    first = time.perf_counter()
    agent.catalog.services("default")
    again = time.perf_counter()
    view = agent.catalog.views[agent.catalog.layout.nodes()]
    return {
        "keys": len(view.values),
        "bytes": sum(len(v) for v in view.values.values()),
        "services": len(names),
        "open_ms": round(1000 * (opened - started), 1),
        "first_read_ms": round(1000 * (first - opened), 1),
        "read_ms": round(1000 * (again - first), 1),
    }


class GcTimer:
    """The longest garbage-collector pause per generation, by wall clock and by this thread's CPU (on a
    loaded machine the two differ by the time the process waited for a core)."""

    def __init__(self) -> None:
        self.started = (0.0, 0.0)
        self.longest = [0.0, 0.0, 0.0]
        self.longest_cpu = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        gc.callbacks.append(self.callback)

    def callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = (time.perf_counter(), time.thread_time())
            return
        generation = info["generation"]
        self.count[generation] += 1
        wall, cpu = time.perf_counter() - self.started[0], time.thread_time() - self.started[1]
        self.longest[generation] = max(self.longest[generation], wall)
        self.longest_cpu[generation] = max(self.longest_cpu[generation], cpu)


async def lag_probe(stop: asyncio.Event, lags: list[float]) -> None:
    """How late the event loop runs a 50 ms timer: a loop that cannot keep up shows it here."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append(time.perf_counter() - before - 0.05)


async def worker_main(
    worker: int,
    agent_ids: list[int],
    plan: Plan,
    endpoints: list[str],
    args: dict[str, Any],
    barrier: Any,
    out: Any,
) -> None:
    config = CatalogConfig(
        backend="etcd",
        sync_interval=args["sync_interval"],
        etcd=EtcdConfig(endpoints=tuple(endpoints), prefix=PREFIX, lease_ttl=args["lease_ttl"]),
    )
    client = EtcdClient(config.etcd)
    phase = lambda: asyncio.to_thread(barrier.wait)  # noqa: E731 - keeps the loop running meanwhile
    started = time.monotonic()
    agents = [SimAgent(i, plan, config, client) for i in agent_ids]
    for agent in agents:
        await agent.start()
    while not all(a.sync.in_sync for a in agents):
        await asyncio.sleep(0.2)
    synced = time.monotonic() - started
    await phase()  # 1: every agent of every worker is in etcd
    opened = time.monotonic()
    if args["stagger"]:  # as clients would ask over a while
        for agent in agents:
            for name in plan.watched(agent.index):
                agent.catalog.view(agent.catalog.layout.service("default", name))
            await asyncio.sleep(args["stagger"] / len(agents))
    else:  # all at once
        await asyncio.gather(
            *(a.catalog.open(Scope("default", n)) for a in agents for n in plan.watched(a.index))
        )
    expected = plan.agents * plan.services // plan.names  # instances per name
    while any(instance_count(a, name) < expected for a in agents for name in plan.watched(a.index)):
        await asyncio.sleep(0.2)
    views_loaded = time.monotonic() - opened
    tally = Tally()
    first_lease = {a.name: a.sync.lease for a in agents}
    for agent in agents:
        agent.count_into(tally)
    await phase()  # 2: views loaded; the coordinator measures etcd idle
    if args["gc_freeze"]:
        gc.collect()
        gc.freeze()  # the agents' long-lived objects leave the collector's generations
    await phase()  # 3: changes begin
    gc_timer = GcTimer()
    stop = asyncio.Event()
    lags: list[float] = []
    lagger = asyncio.create_task(lag_probe(stop, lags))
    rng = random.Random(worker)
    probes: list[tuple[int, str, str]] = []  # (probe, changed agent, service name)
    period = args["workers"] / args["rate"]
    end = time.monotonic() + args["duration"]
    next_at = time.monotonic()
    seq = 0
    while time.monotonic() < end:
        agent = rng.choice(agents)
        j = rng.randrange(plan.services)
        name = plan.registered(agent.index)[j]
        probe = worker * 10_000_000 + seq
        seq += 1
        agent.state.put_service(agent.service(j, name, {"probe": f"{probe}|{time.time():.6f}"}))
        probes.append((probe, agent.name, name))
        next_at += period
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await asyncio.sleep(args["grace"])  # late deliveries still count
    stop.set()
    await lagger
    fleet_wide = await fleet_wide_read(agents[0]) if worker == 0 else {}
    out.put(
        {
            "worker": worker,
            "agents": len(agents),
            "synced_s": synced,
            "views_loaded_s": views_loaded,
            "views": sum(len(a.catalog.views) for a in agents),
            "events": tally.events,
            "alive_events": tally.alive_events,
            "leases_regranted": sum(a.sync.lease != first_lease[a.name] for a in agents),
            "receipts": tally.receipts,
            "probes": probes,
            "lag_p99_ms": 1000 * pct(lags, 0.99) if lags else 0.0,
            "lag_max_ms": 1000 * max(lags) if lags else 0.0,
            "writes": sum(a.sync.writes for a in agents),
            "gc_longest_ms": [round(1000 * t, 1) for t in gc_timer.longest],
            "gc_longest_cpu_ms": [round(1000 * t, 1) for t in gc_timer.longest_cpu],
            "gc_count": gc_timer.count,
            "fleet_wide": fleet_wide,
        }
    )
    await phase()  # 4: results sent
    for agent in agents:
        await agent.stop()
    await client.close()


def worker_entry(*args: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(worker_main(*args))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def etcd_metrics(url: str) -> dict[str, float]:
    """A few of etcd's own gauges, and its gRPC calls started so far by method."""
    wanted = (
        "etcd_debugging_mvcc_watcher_total",
        "etcd_debugging_mvcc_watch_stream_total",
        "etcd_mvcc_db_total_size_in_bytes",
        "etcd_debugging_lease_granted_total",
        "etcd_debugging_mvcc_keys_total",
    )
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        for name in wanted:
            if line.startswith(name + " "):
                out[name.removeprefix("etcd_").removeprefix("debugging_")] = float(line.split()[1])
        match = re.match(r'grpc_server_started_total\{.*grpc_method="(\w+)".*\} (\S+)', line)
        if match and float(match.group(2)):
            out[f"calls:{match.group(1)}"] = out.get(f"calls:{match.group(1)}", 0) + float(match.group(2))
    return out


def rates(before: dict[str, float], after: dict[str, float], seconds: float) -> dict[str, float]:
    """gRPC calls per second by method between two etcd_metrics() readings."""
    return {
        key.removeprefix("calls:"): round((after[key] - before.get(key, 0)) / seconds, 1)
        for key in after
        if key.startswith("calls:") and after[key] != before.get(key, 0)
    }


class CpuMeter:
    def __init__(self, procs: list[psutil.Process]) -> None:
        self.procs = procs
        self.start = time.monotonic()
        self.cpu = [sum(p.cpu_times()[:2]) for p in procs]

    def shares(self) -> list[float]:
        elapsed = time.monotonic() - self.start
        return [
            round((sum(p.cpu_times()[:2]) - c) / elapsed, 3)
            for p, c in zip(self.procs, self.cpu, strict=True)
        ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--services", type=int, default=5)
    parser.add_argument("--names", type=int, default=200)
    parser.add_argument("--watch", type=int, default=2)
    parser.add_argument("--rate", type=float, default=20.0, help="changes per second, fleet-wide")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds of etcd measured with no changes")
    parser.add_argument("--grace", type=float, default=3.0)
    parser.add_argument("--stagger", type=float, default=0.0, help="seconds over which views are opened")
    parser.add_argument("--lease-ttl", type=float, default=10.0)
    parser.add_argument("--sync-interval", type=float, default=60.0)
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() in workers after set-up")
    args = parser.parse_args()
    plan = Plan(args.agents, args.services, args.names, args.watch)
    ctx = mp.get_context("spawn")  # grpc and fork do not mix
    barrier = ctx.Barrier(args.workers + 1)
    out = ctx.Queue()
    etcd = EtcdCluster(1)
    workers: list[Any] = []
    try:
        etcd.start()
        member = etcd.members[0]
        assert member.proc is not None
        etcd_proc = psutil.Process(member.proc.pid)
        settings = {
            k: getattr(args, k)
            for k in (
                *("rate", "duration", "grace", "lease_ttl", "sync_interval"),
                *("workers", "gc_freeze", "stagger"),
            )
        }
        started = time.monotonic()
        for w in range(args.workers):
            ids = list(range(w, args.agents, args.workers))
            proc = ctx.Process(
                target=worker_entry, args=(w, ids, plan, etcd.endpoints, settings, barrier, out), daemon=True
            )
            proc.start()
            workers.append(proc)
        procs = [psutil.Process(p.pid) for p in workers]
        barrier.wait(timeout=600)  # 1
        print(
            f"{args.agents} agents synced to etcd in {time.monotonic() - started:.1f} s "
            f"({args.workers} processes)"
        )
        barrier.wait(timeout=600)  # 2
        print(f"views open and loaded; etcd: {etcd_metrics(member.client_url)}")
        idle = CpuMeter([etcd_proc, *procs])
        before = etcd_metrics(member.client_url)
        time.sleep(args.idle)
        idle_cpu = idle.shares()
        idle_calls = rates(before, etcd_metrics(member.client_url), time.monotonic() - idle.start)
        idle_rss = etcd_proc.memory_info().rss / 2**20
        barrier.wait(timeout=60)  # 3
        busy = CpuMeter([etcd_proc, *procs])
        before = etcd_metrics(member.client_url)
        time.sleep(args.duration)
        busy_cpu = busy.shares()
        busy_calls = rates(before, etcd_metrics(member.client_url), time.monotonic() - busy.start)
        busy_rss = etcd_proc.memory_info().rss / 2**20
        results = [out.get(timeout=600) for _ in workers]
        barrier.wait(timeout=60)  # 4
        metrics = etcd_metrics(member.client_url)
        calls = {"idle": idle_calls, "changes": busy_calls}
        report(plan, args, results, idle_cpu, idle_rss, busy_cpu, busy_rss, metrics, calls)
        for proc in workers:
            proc.join(timeout=60)
    finally:
        for proc in workers:
            if proc.is_alive():
                proc.kill()
                proc.join()
        etcd.close()


def report(
    plan: Plan,
    args: argparse.Namespace,
    results: list[dict[str, Any]],
    idle_cpu: list[float],
    idle_rss: float,
    busy_cpu: list[float],
    busy_rss: float,
    metrics: dict[str, float],
    calls: dict[str, dict[str, float]],
) -> None:
    watchers = plan.watchers()
    probes = {p: name for r in results for p, _, name in r["probes"]}
    got: dict[int, set[str]] = {}
    latencies = []
    for r in results:
        for probe, agent, latency in r["receipts"]:
            got.setdefault(probe, set()).add(agent)
            latencies.append(latency)
    exact = sum(got.get(p, set()) == watchers.get(name, set()) for p, name in probes.items())
    missed = sum(len(watchers.get(name, set()) - got.get(p, set())) for p, name in probes.items())
    extra = sum(len(got.get(p, set()) - watchers.get(name, set())) for p, name in probes.items())
    expected_deliveries = sum(len(watchers.get(name, set())) for name in probes.values())
    events = sum(r["events"] for r in results)
    figures = {
        "agents": plan.agents,
        "processes": len(results),
        "instances": plan.agents * (plan.services + 1),  # + each agent's `consul` instance
        "views": sum(r["views"] for r in results),
        "changes": len(probes),
        "watchers_per_name_mean": round(statistics.mean(len(w) for w in watchers.values()), 2),
        "deliveries_expected": expected_deliveries,
        "probe_receipts": len(latencies),
        "events_applied": events,
        "events_per_change": round(events / max(1, len(probes)), 2),
        "events_on_alive_keys": sum(r["alive_events"] for r in results),
        "leases_granted_again_during_changes": sum(r["leases_regranted"] for r in results),
        "changes_delivered_exactly_to_watchers": exact,
        "missed": missed,
        "extra": extra,
        "propagation_p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "propagation_p99_ms": round(1000 * pct(latencies, 0.99), 1) if latencies else None,
        "propagation_max_ms": round(1000 * max(latencies), 1) if latencies else None,
        "etcd_cpu_idle": idle_cpu[0],
        "etcd_cpu_changes": busy_cpu[0],
        "etcd_rss_idle_mib": round(idle_rss, 1),
        "etcd_rss_changes_mib": round(busy_rss, 1),
        "worker_cpu_idle": idle_cpu[1:],
        "worker_cpu_changes": busy_cpu[1:],
        "worker_loop_lag_p99_ms": [round(r["lag_p99_ms"], 1) for r in results],
        "worker_loop_lag_max_ms": [round(r["lag_max_ms"], 1) for r in results],
        "worker_gc_longest_ms_by_generation": [r["gc_longest_ms"] for r in results],
        "worker_gc_longest_cpu_ms_by_generation": [r["gc_longest_cpu_ms"] for r in results],
        "worker_gc_count_by_generation": [r["gc_count"] for r in results],
        "catalog_services_on_one_agent": next(r["fleet_wide"] for r in results if r["fleet_wide"]),
        "load_average_1m_after": round(os.getloadavg()[0], 1),
        "sync_s": [round(r["synced_s"], 1) for r in results],
        "views_loaded_s": [round(r["views_loaded_s"], 1) for r in results],
        "etcd": {k: v for k, v in metrics.items() if not k.startswith("calls:")},
        "etcd_calls_per_s_idle": calls["idle"],
        "etcd_calls_per_s_changes": calls["changes"],
        "rate": args.rate,
        "duration": args.duration,
    }
    for key, value in figures.items():
        print(f"{key:40} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
