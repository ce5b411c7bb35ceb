"""The read endpoints under wrk (1 thread, 50 connections), each against nginx serving the identical
bytes: the agent's service list and one service, health (?passing), the load balancer's text form and
the Puppet-style /status/v1/simple, with 100 and 1,000 services."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from harness import AgentProcess, Row, latency_detail, nginx_serving, rss_mib, start_agent, wrk

GOALS = {100: 0.5, 1000: 0.35}


def register(agent: AgentProcess, count: int) -> None:
    """`count` services over 50 names (so a name has count/50 instances), each with a passing TTL check."""

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
        reply = agent.put("/v1/agent/service/register", body)
        assert reply.status == 200, reply.text
        assert agent.put(f"/v1/agent/check/pass/svc-{i}-ttl").status == 200

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))


def paths() -> list[str]:
    return [
        "/v1/agent/services",
        "/v1/agent/service/svc-7",
        "/v1/health/service/svc-7?passing",
        "/v1/agent/health/service/name/svc-7?format=text",
        "/status/v1/simple",
    ]


def run(seconds: float, counts: tuple[int, ...] = (100, 1000)) -> list[Row]:
    rows: list[Row] = []
    for count in counts:
        agent = start_agent("-dns-port", "-1")
        try:
            register(agent, count)
            bodies = {}
            for path in paths():
                reply = agent.get(path)
                assert reply.status == 200, (path, reply.status)
                bodies[path] = reply.body
            files = {path.split("?")[0]: body for path, body in bodies.items()}
            with nginx_serving(files) as nginx:
                for path in paths():
                    ours = wrk(agent.url + path, seconds=seconds)
                    theirs = wrk(nginx + path.split("?")[0], seconds=seconds)
                    assert ours.errors == 0, (path, ours)
                    assert theirs.errors == 0, (path, theirs)
                    ratio = ours.requests_per_second / theirs.requests_per_second
                    rows.append(
                        Row(
                            figure=f"GET {path} ({count:,} svcs, {_size(len(bodies[path]))})",
                            key=f"http {count} {path}",
                            value=ours.requests_per_second,
                            unit="req/s",
                            detail=latency_detail(ours),
                            versus="nginx, same bytes",
                            versus_value=theirs.requests_per_second,
                            versus_detail=latency_detail(theirs),
                            goal=f"≥ {GOALS[count]} of nginx",
                            met=ratio >= GOALS[count],
                        )
                    )
            rows[-1].detail += f"; agent RSS {rss_mib(agent.proc.pid):.0f} MiB"  # type: ignore[union-attr]
        finally:
            agent.close()
    return rows


def _size(n: int) -> str:
    return f"{n} B" if n < 1000 else f"{n / 1000:.0f} KB"
