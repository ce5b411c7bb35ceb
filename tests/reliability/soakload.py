"""Soak: mixed traffic at a fixed rate against a real agent (register and deregister churn, TTL flaps,
filtered reads, blocking queries held open), sampling RSS, open file descriptors and asyncio tasks.
Used by tests/reliability/test_soak.py (short form) and bench/soak.py (full form)."""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from tests.agentproc import AgentProcess

STABLE, CHURN, BLOCKERS = 50, 200, 8
FILTERS = (
    "/v1/agent/services?filter=" + quote('Service == "stable"'),
    "/v1/agent/checks?filter=" + quote('Status == "critical"'),
    "/v1/health/service/stable?filter=" + quote('Service.Tags contains "t1"'),
)


@dataclass
class Sample:
    at: float
    rss_kib: int
    fds: int
    tasks: int


@dataclass
class SoakResult:
    ops: int = 0
    errors: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    blocking_answers: int = 0
    late_ticks: int = 0

    def window(self, since: float) -> list[Sample]:
        return [s for s in self.samples if s.at >= since]


def sample(agent: AgentProcess, started: float) -> Sample:
    assert agent.proc is not None
    pid = agent.proc.pid
    with open(f"/proc/{pid}/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    debug = agent.get("/status/v1/services/status-service?level=debug").json()
    tasks = debug["status"]["experimental"]["python-metrics"]["asyncio-tasks"]
    return Sample(time.monotonic() - started, rss, fds, tasks)


class Load:
    def __init__(self, agent: AgentProcess, session: aiohttp.ClientSession, seed: int) -> None:
        self.agent = agent
        self.url = agent.url
        self.session = session
        self.rng = random.Random(seed)
        self.result = SoakResult()
        self.churned: set[int] = set()
        self.busy: set[int] = set()  # churn IDs with an op in flight: ops on one ID stay ordered

    async def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> None:
        try:
            async with self.session.request(method, self.url + path, json=body) as response:
                await response.read()
                if response.status not in ok:
                    self.result.errors.append(f"{method} {path}: {response.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.result.errors.append(f"{method} {path}: {exc!r}")
        self.result.ops += 1

    async def setup(self) -> None:
        for n in range(STABLE):
            body = {"ID": f"stable-{n}", "Name": "stable", "Tags": [f"t{n % 3}"], "Check": {"TTL": "10m"}}
            await self.call("PUT", "/v1/agent/service/register", body)

    async def one_op(self) -> None:
        roll = self.rng.random()
        if roll < 0.35:
            n = self.rng.randrange(STABLE)
            verb = self.rng.choice(("pass", "fail", "warn"))
            await self.call("PUT", f"/v1/agent/check/{verb}/service:stable-{n}?note=soak")
        elif roll < 0.65:
            n = self.rng.randrange(CHURN)
            if n in self.busy:
                return
            self.busy.add(n)
            try:
                if n in self.churned:
                    self.churned.discard(n)
                    await self.call("PUT", f"/v1/agent/service/deregister/churn-{n}")
                else:
                    self.churned.add(n)
                    body = {
                        "ID": f"churn-{n}",
                        "Name": "churn",
                        "Meta": {"n": str(n)},
                        "Check": {"TTL": "5m"},
                    }
                    await self.call("PUT", "/v1/agent/service/register", body)
            finally:
                self.busy.discard(n)
        elif roll < 0.9:
            await self.call("GET", self.rng.choice(FILTERS))
        else:
            await self.call("GET", "/v1/agent/services")

    async def blocker(self, n: int, stop: float) -> None:
        """A long-poll client: index-blocking on the health of `stable`, or hash-blocking on one."""
        index, content_hash = "1", ""
        while time.monotonic() < stop:
            if n % 2:
                path = f"/v1/health/service/stable?index={index}&wait=2s"
            else:
                path = f"/v1/agent/service/stable-{n}?hash={content_hash}&wait=2s"
            try:
                async with self.session.get(self.url + path) as response:
                    await response.read()
                    if response.status != 200:
                        self.result.errors.append(f"GET {path}: {response.status}")
                        return
                    index = response.headers.get("X-Consul-Index", index)
                    content_hash = response.headers.get("X-Consul-ContentHash", content_hash)
                    self.result.blocking_answers += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.result.errors.append(f"GET {path}: {exc!r}")
                return

    async def drive(self, seconds: float, rate: float, sample_every: float, report: bool) -> None:
        started = time.monotonic()
        stop = started + seconds
        blockers = [asyncio.create_task(self.blocker(n, stop)) for n in range(BLOCKERS)]
        running: set[asyncio.Task[None]] = set()
        next_sample, tick = 0.0, 0
        while (now := time.monotonic()) < stop:
            due = started + tick / rate
            if due > now:
                await asyncio.sleep(due - now)
            elif now - due > 1.0:
                self.result.late_ticks += 1
            task = asyncio.create_task(self.one_op())
            running.add(task)
            task.add_done_callback(running.discard)
            tick += 1
            if now - started >= next_sample:
                snapshot = await asyncio.to_thread(sample, self.agent, started)
                self.result.samples.append(snapshot)
                next_sample += sample_every
                if report:
                    print(
                        f"{snapshot.at:6.0f} s: ops {self.result.ops}, errors {len(self.result.errors)}, "
                        f"RSS {snapshot.rss_kib / 1024:.1f} MiB, fds {snapshot.fds}, tasks {snapshot.tasks}",
                        flush=True,
                    )
        await asyncio.gather(*running, *blockers)
        self.result.samples.append(await asyncio.to_thread(sample, self.agent, started))


def run(seconds: float, rate: float = 150.0, sample_every: float = 5.0, report: bool = False) -> SoakResult:
    agent = AgentProcess().start()
    try:

        async def main() -> SoakResult:
            timeout = aiohttp.ClientTimeout(total=30)
            connector = aiohttp.TCPConnector(limit=64)
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                load = Load(agent, session, seed=9)
                await load.setup()
                await load.drive(seconds, rate, sample_every, report)
                return load.result

        result = asyncio.run(main())
        assert agent.proc is not None
        assert agent.proc.poll() is None, "the agent died during the soak"
        return result
    finally:
        agent.close()


def verdict(result: SoakResult, warm_up: float) -> dict[str, Any]:
    """Growth after warm-up: the largest of the first three samples after it against the largest of
    the last three (RSS moves in steps as allocator arenas come and go; maxima compare like with like)."""
    after = result.window(warm_up)
    base, end = after[:3], after[-3:]
    return {
        "ops": result.ops,
        "errors": len(result.errors),
        "blocking_answers": result.blocking_answers,
        "rss_start_kib": max(s.rss_kib for s in base),
        "rss_end_kib": max(s.rss_kib for s in end),
        "rss_growth": max(s.rss_kib for s in end) / max(s.rss_kib for s in base) - 1,
        "fds_start": max(s.fds for s in base),
        "fds_end": max(s.fds for s in end),
        "tasks_start": max(s.tasks for s in base),
        "tasks_end": max(s.tasks for s in end),
        "late_ticks": result.late_ticks,
    }
