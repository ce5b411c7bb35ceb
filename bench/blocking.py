"""10,000 hash-blocking waiters on GET /v1/agent/service/:id?hash=H&wait=5m, held by client processes
(asyncio streams): the agent's RSS per waiter, and the time from a change (a re-registration with a new
tag) to the last waiter's answer.

Run: python bench/blocking.py [--waiters 10000]   (client mode: --client URL COUNT, used by the bench)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time

import psutil

from harness import Row, rss_mib, start_agent

CLIENTS = 2  # client processes; each holds its share of the waiters on its own connections
SERVICE = {"Name": "web", "ID": "web-1", "Port": 8080, "Tags": ["v1"]}


def raise_nofile() -> None:
    """Children (the agent, the clients) inherit the raised soft limit."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def _get(host: str, port: int, path: str) -> tuple[bytes, float]:
    """One GET on its own connection, by hand: an HTTP client library would cost more CPU per answer
    than the agent spends, and the figure is the agent's. Returns the head and when it arrived."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        return head, time.time()
    finally:
        writer.close()


def _content_hash(head: bytes) -> str:
    assert head.startswith(b"HTTP/1.1 200"), head[:80]
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "x-consul-contenthash":
            return value.strip()
    raise AssertionError(f"no content hash in {head!r}")


async def _client(url: str, count: int) -> None:
    address, path = url.removeprefix("http://").split("/", 1)
    host, port = address.rsplit(":", 1)
    content_hash = _content_hash((await _get(host, int(port), f"/{path}"))[0])
    blocking = f"/{path}?hash={content_hash}&wait=5m"
    answered: list[float] = []
    errors: list[str] = []

    async def wait() -> None:
        for attempt in range(5):  # a connect can be refused while 10,000 arrive at once: retry it
            try:
                head, at = await _get(host, int(port), blocking)
            except OSError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            assert _content_hash(head) != content_hash
            answered.append(at)
            return

    await asyncio.gather(*(wait() for _ in range(count)))
    report = {"answered": len(answered), "first": min(answered), "last": max(answered)}
    print(json.dumps(dict(report, retries=len(errors), sample_errors=errors[:3])), flush=True)


def _queries_blocking(agent) -> int:  # type: ignore[no-untyped-def]
    gauges = agent.get("/v1/agent/metrics").json()["Gauges"]
    return int(next(g["Value"] for g in gauges if g["Name"] == "consul.rpc.queries_blocking"))


def run(waiters: int) -> list[Row]:
    raise_nofile()
    agent = start_agent("-dns-port", "-1")
    clients: list[subprocess.Popen[str]] = []
    try:
        assert agent.put("/v1/agent/service/register", SERVICE).status == 200
        url = f"{agent.url}/v1/agent/service/web-1"
        for _ in range(20):  # warm the paths the waiters use, so the baseline holds their code
            agent.get("/v1/agent/service/web-1")
        time.sleep(1)
        pid = agent.proc.pid  # type: ignore[union-attr]
        before = rss_mib(pid)
        share = waiters // CLIENTS
        for _ in range(CLIENTS):
            cmd = [sys.executable, __file__, "--client", url, str(share)]
            clients.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
        deadline = time.monotonic() + 120
        while _queries_blocking(agent) < share * CLIENTS:
            assert time.monotonic() < deadline, f"only {_queries_blocking(agent)} waiters parked"
            time.sleep(0.5)
        time.sleep(2)  # let the allocator settle
        after = rss_mib(pid)
        cpu_before = psutil.Process(pid).cpu_times()
        changed_at = time.time()
        reply = agent.put("/v1/agent/service/register", dict(SERVICE, Tags=["v2"]))
        assert reply.status == 200
        results = []
        for client in clients:
            out, _ = client.communicate(timeout=120)
            results.append(json.loads(out.strip().splitlines()[-1]))
        cpu_after = psutil.Process(pid).cpu_times()
        agent_cpu = sum(cpu_after[:2]) - sum(cpu_before[:2])
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
        agent.close()
    answered = sum(r["answered"] for r in results)
    first = min(r["first"] for r in results) - changed_at
    retries = sum(r["retries"] for r in results)
    last = max(r["last"] for r in results) - changed_at
    per_waiter_kib = (after - before) * 1024 / (share * CLIENTS)
    return [
        Row(
            figure=f"agent RSS per hash-blocking waiter ({answered:,} waiters)",
            key="blocking rss per waiter",
            value=per_waiter_kib,
            unit="KiB",
            detail=f"RSS {before:.0f} → {after:.0f} MiB",
            goal="≤ 15 KiB",
            met=per_waiter_kib <= 15,
        ),
        Row(
            figure=f"change → last of {answered:,} waiters answered",
            key="blocking last answer",
            value=last * 1000,
            unit="ms",
            detail=f"{retries} connects retried; first after {first * 1000:.0f} ms; "
            f"agent CPU meanwhile {agent_cpu:.2f} s",
            goal="≤ 1,000 ms, all answered",
            met=last <= 1.0 and answered == share * CLIENTS,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--waiters", type=int, default=10_000)
    parser.add_argument("--client", nargs=2, metavar=("URL", "COUNT"))
    args = parser.parse_args()
    if args.client:
        import uvloop

        uvloop.run(_client(args.client[0], int(args.client[1])))
        return
    for row in run(args.waiters):
        print(f"{row.figure}: {row.value:.1f} {row.unit} ({row.detail}); goal {row.goal}: {row.met}")


if __name__ == "__main__":
    main()
