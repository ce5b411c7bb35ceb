"""End-to-end: a Prometheus-compatible scraper discovers the fleet through Consul's API (issue 7).

Debian's `victoria-metrics` with `consul_sd_configs` pointed at one Muster agent of a fleet on etcd:
it calls /v1/agent/self, then /v1/catalog/services and /v1/health/service/:name as blocking queries
(`dc`, bare `stale`, `index`, `wait`) and drops answers without X-Consul-Index. Every instance is a
real HTTP server with its own metric value, registered on one of two agents; each must be discovered
and scraped, and instances registered or deregistered later must appear or go.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import free_port
from tests.etcdcluster import EtcdCluster

VICTORIA_METRICS = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
DEADLINE = 60.0  # discovery refresh (1 s) + scrape (1 s) + a loaded 2-core machine
METRIC = "muster_sd_probe"

pytestmark = [
    pytest.mark.skipif(not Path(VICTORIA_METRICS).exists(), reason="needs Debian's victoria-metrics"),
    pytest.mark.skipif(not Path("/usr/bin/etcd").exists() and not shutil.which("etcd"), reason="needs etcd"),
]


class MetricsTarget:
    """A tiny real HTTP server answering GET /metrics with one gauge in Prometheus text format."""

    def __init__(self, value: int) -> None:
        body = f"# TYPE {METRIC} gauge\n{METRIC} {value}\n".encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = 200 if self.path.split("?")[0] == "/metrics" else 404
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body) if status == 200 else 0))
                self.end_headers()
                if status == 200:
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.value = value
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class VictoriaMetrics:
    """victoria-metrics scraping what Consul discovery at `consul` finds, every second."""

    def __init__(self, consul: str) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="muster-vm-")
        root = Path(self._tmp.name)
        self.port = free_port()
        self.log = root / "vm.log"
        config = root / "scrape.yml"
        config.write_text(
            json.dumps(  # JSON is YAML
                {
                    "scrape_configs": [
                        {
                            "job_name": "muster",
                            "scrape_interval": "1s",
                            "consul_sd_configs": [{"server": consul}],
                            "relabel_configs": [
                                {"source_labels": ["__meta_consul_service"], "target_label": "service"},
                                {"source_labels": ["__meta_consul_service_id"], "target_label": "sid"},
                                {"source_labels": ["__meta_consul_node"], "target_label": "node"},
                            ],
                        }
                    ]
                }
            )
        )
        cmd = [
            VICTORIA_METRICS,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={root / 'data'}",
            f"-promscrape.config={config}",
            "-promscrape.consulSDCheckInterval=1s",
            "-search.latencyOffset=0s",  # answer queries with samples as soon as they are stored
            "-search.disableCache",
        ]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if self.get("/health") == "OK":
                    return
            time.sleep(0.1)
        raise RuntimeError(f"victoria-metrics not ready:\n{self.log_tail()}")

    def get(self, path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as reply:
            return str(reply.read().decode())

    def targets(self) -> dict[str, str]:
        """sid label -> health ("up", "down", "unknown") of each active target."""
        data = json.loads(self.get("/api/v1/targets"))["data"]["activeTargets"]
        return {t["labels"].get("sid", ""): t["health"] for t in data}

    def scraped(self) -> dict[str, tuple[str, str, int]]:
        """sid -> (service, node, the metric's latest value) as VictoriaMetrics stored it."""
        query = urllib.parse.quote(f"last_over_time({METRIC}[5s])")
        result = json.loads(self.get(f"/api/v1/query?query={query}"))["data"]["result"]
        return {
            r["metric"]["sid"]: (r["metric"]["service"], r["metric"]["node"], int(float(r["value"][1])))
            for r in result
        }

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._tmp.cleanup()


@pytest.fixture
def etcd() -> Iterator[EtcdCluster]:
    cluster = EtcdCluster(1)
    try:
        yield cluster.start()
    finally:
        cluster.close()


@pytest.fixture
def fleet(etcd: EtcdCluster) -> Iterator[tuple[AgentProcess, AgentProcess]]:
    agents: list[AgentProcess] = []
    try:
        for name in ("node-a", "node-b"):
            # No DNS server: discovery here is the HTTP API's.
            args = (*etcd.agent_args("/sd/"), "-node", name, "-dns-port", "-1")
            agents.append(AgentProcess(*args).start())
        yield agents[0], agents[1]
    finally:
        for agent in agents:
            agent.close()


@pytest.fixture
def targets() -> Iterator[dict[str, MetricsTarget]]:
    made: dict[str, MetricsTarget] = {}
    try:
        yield made
    finally:
        for target in made.values():
            target.close()


def register(agent: AgentProcess, targets: dict[str, MetricsTarget], name: str, sid: str, value: int) -> None:
    target = targets[sid] = MetricsTarget(value)
    body = {"Name": name, "ID": sid, "Address": "127.0.0.1", "Port": target.port}
    reply = agent.put("/v1/agent/service/register", body)
    assert 200 == reply.status, reply.text


def wait_for(what: str, probe: Any, expected: Any, vm: VictoriaMetrics, agent: AgentProcess) -> None:
    deadline = time.monotonic() + DEADLINE
    actual: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, KeyError, ValueError):
            actual = probe()
            if expected == actual:
                return
        time.sleep(0.5)
    services = agent.get("/v1/catalog/services")
    raise AssertionError(
        f"{what}: expected {expected}, still {actual} after {DEADLINE:.0f}s\n"
        f"catalog/services on {agent.address}: {services.status} "
        f"X-Consul-Index={services.header('X-Consul-Index')} {services.text[:500]}\n"
        f"victoria-metrics log:\n{vm.log_tail()}"
    )


@pytest.fixture
def scraper(fleet: tuple[AgentProcess, AgentProcess]) -> Iterator[VictoriaMetrics]:
    vm = VictoriaMetrics(fleet[0].address)
    try:
        yield vm
    finally:
        vm.close()


def test_every_instance_on_the_fleet_is_discovered_and_scraped(
    fleet: tuple[AgentProcess, AgentProcess], targets: dict[str, MetricsTarget], scraper: VictoriaMetrics
) -> None:
    a, b = fleet
    register(a, targets, "web", "web-a1", 101)
    register(a, targets, "web", "web-a2", 102)
    register(b, targets, "web", "web-b1", 201)  # on the agent the scraper does not ask
    register(b, targets, "api", "api-b1", 202)
    expected = {
        "web-a1": ("web", "node-a", 101),
        "web-a2": ("web", "node-a", 102),
        "web-b1": ("web", "node-b", 201),
        "api-b1": ("api", "node-b", 202),
    }
    wait_for("scraped values", scraper.scraped, expected, scraper, a)
    # The `consul` service of each agent is discovered too (as in Consul), on a port nothing serves.
    up = {sid: health for sid, health in scraper.targets().items() if sid != "consul"}
    assert dict.fromkeys(expected, "up") == up


def test_a_service_added_later_is_scraped_and_a_deregistered_one_dropped(
    fleet: tuple[AgentProcess, AgentProcess], targets: dict[str, MetricsTarget], scraper: VictoriaMetrics
) -> None:
    a, b = fleet
    register(a, targets, "web", "web-a1", 11)
    register(b, targets, "db", "db-b1", 21)

    def sids() -> set[str]:
        return set(scraper.targets()) - {"consul"}

    wait_for("first targets", sids, {"web-a1", "db-b1"}, scraper, a)
    register(b, targets, "cache", "cache-b1", 31)  # a new service name, on the other agent
    register(b, targets, "web", "web-b2", 12)  # a new instance of a service already watched
    wait_for("added targets", sids, {"web-a1", "db-b1", "cache-b1", "web-b2"}, scraper, a)
    wait_for(
        "added values",
        lambda: {sid: value for sid, (_, _, value) in scraper.scraped().items()},
        {"web-a1": 11, "db-b1": 21, "cache-b1": 31, "web-b2": 12},
        scraper,
        a,
    )
    assert 200 == b.put("/v1/agent/service/deregister/db-b1").status  # the last instance of `db`
    assert 200 == a.put("/v1/agent/service/deregister/web-a1").status  # one of two `web` instances
    wait_for("after deregistration", sids, {"cache-b1", "web-b2"}, scraper, a)
