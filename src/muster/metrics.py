"""Agent telemetry for Consul's `/v1/agent/metrics`: per-route HTTP timings the dispatcher keeps as plain
numbers, and the agent's own counters, read only at scrape time into Consul's JSON summary or, through a
prometheus-client Collector, Prometheus' text format. Names and units: docs/metrics.md."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from muster.dns.cache import DNSStats
from muster.models import CRITICAL, PASSING, WARNING
from muster.status.subsystems import health_counts
from muster.store import Store

if TYPE_CHECKING:
    from muster.agent.state import LocalState
    from muster.checks.runner import CheckRunner
    from muster.http.answers import KeptAnswers
    from muster.status.registry import StatusRegistry

GAUGE, COUNTER, SAMPLE = "gauge", "counter", "sample"
# HTTP accepts any token as a method; the rest share one series so a client cannot grow the table.
KNOWN_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"})
LATENESS_QUANTILES = (0.5, 0.99)
HEALTH = (PASSING, WARNING, CRITICAL)


class RouteTiming:
    """Running figures of one (route, method): enough for count, sum, min, max, mean and stddev."""

    __slots__ = ("count", "high", "low", "squares", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.squares = 0.0
        self.high = 0.0
        self.low = math.inf


class HttpStats:
    """Seconds spent per (route path, method), added by the dispatcher as each request ends."""

    def __init__(self) -> None:
        self.timings: dict[tuple[str, str], RouteTiming] = {}

    def observe(self, path: str, method: str, seconds: float) -> None:
        timing = self.timings.get((path, method))
        if timing is None:
            if method not in KNOWN_METHODS:
                method = "OTHER"
            timing = self.timings.setdefault((path, method), RouteTiming())
        timing.count += 1
        timing.total += seconds
        timing.squares += seconds * seconds
        if seconds > timing.high:
            timing.high = seconds
        if seconds < timing.low:
            timing.low = seconds


@dataclass(frozen=True)
class Aggregate:
    """go-metrics' AggregateSample: what Consul's JSON shows for counters and samples."""

    count: int
    total: float
    low: float
    high: float
    squares: float

    @classmethod
    def of_timing(cls, timing: RouteTiming, scale: float) -> Aggregate:
        return cls(
            timing.count,
            timing.total * scale,
            timing.low * scale,
            timing.high * scale,
            timing.squares * scale * scale,
        )

    @classmethod
    def of_increments(cls, count: int) -> Aggregate:
        """A counter bumped by one `count` times."""
        one = 1.0 if count else 0.0
        return cls(count, float(count), one, one, float(count))

    def stddev(self) -> float:
        divisor = self.count * (self.count - 1)
        if divisor == 0:
            return 0.0
        return math.sqrt(max(0.0, self.count * self.squares - self.total * self.total) / divisor)


@dataclass(frozen=True)
class Series:
    """One labelled series. `name` is Consul's dotted spelling; Prometheus' has `_` for `.`."""

    name: str
    help: str
    kind: str  # GAUGE, COUNTER or SAMPLE
    labels: dict[str, str] = field(default_factory=dict)
    value: float = 0.0  # a gauge's value or a counter's total
    aggregate: Aggregate | None = None  # a sample's figures

    @property
    def prometheus_name(self) -> str:
        return self.name.replace(".", "_")


def path_label(route_path: str) -> str:
    """Consul's `path` label: the route pattern without its leading slash, `/` as `_` (v1_agent_service_)."""
    return route_path[1:].replace("/", "_")


class AgentMetrics:
    """Reads the parts at scrape time. Nothing here runs per request except HttpStats.observe."""

    def __init__(
        self,
        *,
        state: LocalState,
        store: Store,
        runner: CheckRunner,
        status: StatusRegistry,
        requests_by_route: Mapping[str, int],
        started_at: float,
    ) -> None:
        self.state = state
        self.store = store
        self.runner = runner
        self.status = status
        self.requests_by_route = requests_by_route  # counted by the HTTP dispatcher
        self.started_at = started_at
        self.http = HttpStats()
        self.dns: DNSStats | None = None  # the DNS server's, once it runs (attach_dns)
        self.kept: KeptAnswers | None = None  # the HTTP server's kept answers, once it runs
        self._registry: Any = None  # prometheus-client's, built at the first Prometheus scrape

    def attach_dns(self, stats: DNSStats) -> None:
        self.dns = stats

    def attach_kept(self, kept: KeptAnswers) -> None:
        self.kept = kept

    def series(self) -> list[Series]:
        return [
            *self._http_series(),
            *self._catalog_series(),
            *self._check_series(),
            *self._store_series(),
            *self._dns_series(),
        ]

    def prometheus_text(self) -> bytes:
        # prometheus-client costs ~9 MiB of RSS: loaded by the first scrape that asks for its format.
        from muster.prometheus import exposition_registry, generate_latest

        if self._registry is None:
            self._registry = exposition_registry(self)
        return generate_latest(self._registry)

    def summary(self, now: float | None = None) -> dict[str, Any]:
        """Consul's JSON summary. Figures are totals since the agent started (Consul shows its last
        10-second interval), so `Rate` is per second over the agent's uptime."""
        now = time.time() if now is None else now
        uptime = max(now - self.started_at, 1e-9)
        gauges: list[dict[str, Any]] = []
        counters: list[dict[str, Any]] = []
        samples: list[dict[str, Any]] = []
        for series in self.series():
            if series.kind == GAUGE:
                gauges.append({"Name": series.name, "Value": _number(series.value), "Labels": series.labels})
                continue
            aggregate = series.aggregate or Aggregate.of_increments(int(series.value))
            (counters if series.kind == COUNTER else samples).append(_sampled(series, aggregate, uptime))
        return {
            "Timestamp": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(now)),
            "Gauges": gauges,
            "Points": [],
            "Counters": counters,
            "Samples": samples,
        }

    # -- the series ------------------------------------------------------------------
    def _http_series(self) -> Iterable[Series]:
        for (path, method), timing in sorted(self.http.timings.items()):
            labels = {"method": method, "path": path_label(path)}
            aggregate = Aggregate.of_timing(timing, 1000.0)  # Consul's timers are in milliseconds
            yield Series("consul.api.http", "HTTP requests served, ms", SAMPLE, labels, aggregate=aggregate)
        for path, count in sorted(self.requests_by_route.items()):
            help_text = "HTTP requests received (counted as they start)"
            yield Series("muster.http.requests", help_text, COUNTER, {"path": path_label(path)}, count)
        waiters = len(self.state.waiters)
        help_text = "Blocking queries waiting for a change"
        yield Series("consul.rpc.queries_blocking", help_text, GAUGE, value=waiters)
        if self.kept is not None:
            help_text = "Reads answered from kept bytes below aiohttp"
            yield Series("muster.http.kept_answer_hits", help_text, COUNTER, value=self.kept.hits)
            yield Series("muster.http.kept_answers", "Answers kept for repeats", GAUGE, value=len(self.kept))
        draining = float(self.status.draining)
        yield Series("muster.agent.draining", "1 while the agent drains before exit", GAUGE, value=draining)

    def _catalog_series(self) -> Iterable[Series]:
        state = self.state
        names = {entry.service.name for entry in state.services.values()}
        yield Series("consul.state.services", "Distinct service names registered", GAUGE, value=len(names))
        instances = len(state.services)
        yield Series("consul.state.service_instances", "Service instances registered", GAUGE, value=instances)
        by_health, _ = health_counts(self.state)
        for status, count in by_health.items():
            if status != "total":
                help_text = "Service instances by aggregated health"
                yield Series("muster.agent.services", help_text, GAUGE, {"status": status}, count)

    def _check_series(self) -> Iterable[Series]:
        counts: dict[tuple[str, str], int] = {}
        for check in self.state.checks.values():
            key = (check.definition.type or "unknown", check.status)
            counts[key] = counts.get(key, 0) + 1
        for kind in sorted({kind for kind, _ in counts}):
            for status in HEALTH:
                count = counts.get((kind, status), 0)
                labels = {"kind": kind, "status": status}
                yield Series("muster.agent.checks", "Checks by kind and status", GAUGE, labels, count)
        for kind, stats in sorted(self.runner.stats.items()):
            labels = {"kind": kind}
            yield Series("muster.check.runs", "Interval check runs started", COUNTER, labels, stats.runs)
            ordered = sorted(stats.lateness)
            for quantile in LATENESS_QUANTILES if ordered else ():
                late = ordered[min(len(ordered) - 1, int(len(ordered) * quantile))]
                labels = {"kind": kind, "quantile": str(quantile)}
                help_text = "Seconds a check run started after its due time, over the recent window"
                yield Series("muster.check.start_lateness_seconds", help_text, GAUGE, labels, late)

    def _store_series(self) -> Iterable[Series]:
        store = self.store
        stats = store.stats
        commits = stats.commits
        yield Series("muster.store.commits", "Store transactions committed (fsync'd)", COUNTER, value=commits)
        yield Series("muster.store.ops", "Writes and deletes committed", COUNTER, value=stats.ops)
        yield Series("muster.store.errors", "Store transactions that failed", COUNTER, value=stats.errors)
        latest = stats.last_commit_seconds
        yield Series("muster.store.last_commit_seconds", "Duration of the latest commit", GAUGE, value=latest)
        size = store.size_bytes()
        yield Series("muster.store.size_bytes", "Database and WAL size", GAUGE, value=size)

    def _dns_series(self) -> Iterable[Series]:
        stats = self.dns
        if stats is None:
            return
        for kind, count in sorted(stats.queries.items()):
            yield Series(
                "muster.dns.queries", "DNS queries answered, by type", COUNTER, {"type": kind}, count
            )
        yield Series(
            "muster.dns.cache_hits", "DNS replies served from the cache", COUNTER, value=stats.cache_hits
        )
        yield Series("muster.dns.cache_misses", "DNS replies built afresh", COUNTER, value=stats.cache_misses)
        yield Series("muster.dns.recursed", "DNS queries sent to a recursor", COUNTER, value=stats.recursed)
        failures = stats.recursor_failures
        yield Series(
            "muster.dns.recursor_failures", "Recursed queries no recursor answered", COUNTER, value=failures
        )
        yield Series(
            "muster.dns.malformed", "DNS messages that did not parse", COUNTER, value=stats.malformed
        )


def _number(value: float) -> float | int:
    """Go writes 4, not 4.0, for a whole float."""
    return int(value) if float(value).is_integer() else value


def _sampled(series: Series, aggregate: Aggregate, uptime: float) -> dict[str, Any]:
    count = aggregate.count
    return {
        "Name": series.name,
        "Count": count,
        "Rate": _number(aggregate.total / uptime),
        "Sum": _number(aggregate.total),
        "Min": _number(aggregate.low if count else 0.0),
        "Max": _number(aggregate.high),
        "Mean": _number(aggregate.total / count if count else 0.0),
        "Stddev": _number(aggregate.stddev()),
        "Labels": series.labels,
    }
