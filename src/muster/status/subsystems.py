"""The status callbacks of Muster's own subsystems: `status-service`, `http-api`, `store` and
`check-runner`. Each reports a real state, and content that grows with the level: `critical` costs
next to nothing (load balancers poll it), `info` is the glance a person wants, `debug` the detail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from muster import __version__
from muster.models import (
    CRITICAL,
    DEFAULT_NAMESPACE,
    MAINTENANCE,
    NODE_MAINTENANCE_ID,
    PASSING,
    WARNING,
    Check,
    aggregate_status,
)
from muster.status.levels import Level, Severity, State, level_to_int
from muster.status.process import ProcessMetrics
from muster.status.registry import StatusCallback, StatusRegistry
from muster.store import Store

if TYPE_CHECKING:
    from muster.agent.state import LocalState
    from muster.checks.runner import CheckRunner
    from muster.quarantine import Quarantine

STATUS_VERSION = 1  # the format version of every built-in subsystem's `status`
_NODE_MAINTENANCE = (DEFAULT_NAMESPACE, NODE_MAINTENANCE_ID)
_INFO_RANK, _DEBUG_RANK = level_to_int(Level.INFO), level_to_int(Level.DEBUG)


def register_subsystems(
    registry: StatusRegistry,
    *,
    state: LocalState,
    store: Store,
    runner: CheckRunner,
    quarantine: Quarantine,
    requests_by_route: Mapping[str, int],
    cpu_interval_seconds: float = 5.0,
) -> ProcessMetrics:
    """Register the four built-in services over the parts they report on.

    `requests_by_route` is read, never written: the HTTP dispatcher counts into it.
    """
    metrics = ProcessMetrics(cpu_interval_seconds=cpu_interval_seconds)
    registry.add_background(metrics)
    callbacks: dict[str, StatusCallback] = {
        "status-service": StatusServiceStatus(registry, metrics),
        "http-api": HttpApiStatus(registry, state, requests_by_route),
        "store": StoreStatus(registry, store, quarantine),
        "check-runner": CheckRunnerStatus(registry, state, runner),
    }
    for name, callback in callbacks.items():
        # These never block: called on the loop, no thread hop for a balancer's poll.
        registry.register_status(name, __version__, STATUS_VERSION, callback, inline=True)
    return metrics


def _answer(state: State, status: Any, alerts: list[dict[str, str]] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"state": state, "status": status}
    if alerts:
        answer["alerts"] = alerts
    return answer


class StatusServiceStatus:
    """The status service itself: `{}` at critical and info, process metrics at debug (§0, §5)."""

    def __init__(self, registry: StatusRegistry, metrics: ProcessMetrics) -> None:
        self.registry = registry
        self.metrics = metrics

    def __call__(self, level: Level) -> dict[str, Any]:
        state = State.STOPPING if self.registry.phase is State.STOPPING else State.RUNNING
        if level != Level.DEBUG:
            return _answer(state, {})
        experimental = {
            "jvm-metrics": self.metrics.jvm_metrics(),
            "python-metrics": self.metrics.python_metrics(),
        }
        return _answer(state, {"experimental": experimental})


class HttpApiStatus:
    """`stopping` as soon as the agent drains (`registry.draining`, set on SIGTERM) or the node is in
    maintenance, so `/status/v1/simple` turns 503 and balancers take the agent out while requests in
    flight and blocking queries still finish. Node maintenance is read from the state, so it holds
    across restarts without anyone setting a flag."""

    def __init__(
        self, registry: StatusRegistry, state: LocalState, requests_by_route: Mapping[str, int]
    ) -> None:
        self.registry = registry
        self.state = state
        self.requests_by_route = requests_by_route

    def __call__(self, level: Level) -> dict[str, Any]:
        registry, rank = self.registry, level_to_int(level)
        maintenance = _NODE_MAINTENANCE in self.state.checks
        state = State.STOPPING if registry.draining or maintenance else registry.phase
        status: dict[str, Any] = {}
        if rank >= _INFO_RANK:
            status["draining"] = registry.draining
            status["node-maintenance"] = maintenance
            status["blocking-waiters"] = len(self.state.waiters)
            status["requests-total"] = sum(self.requests_by_route.values())
        if rank >= _DEBUG_RANK:
            status["requests-by-route"] = dict(sorted(self.requests_by_route.items()))
        return _answer(state, status)


class StoreStatus:
    """`error` while the latest batch of writes had one fail, or while the disk is too full for the
    store's reserve (then only deletions are accepted); set by every batch, so the state follows the
    latest outcome however the polls fall. Size at info, write statistics at debug."""

    def __init__(self, registry: StatusRegistry, store: Store, quarantine: Quarantine) -> None:
        self.registry = registry
        self.store = store
        self.quarantine = quarantine

    def __call__(self, level: Level) -> dict[str, Any]:
        store, rank = self.store, level_to_int(level)
        stats = store.stats
        alerts = []
        if stats.failing:
            message = f"The last write to the store failed: {stats.last_error}"
            alerts.append({"severity": Severity.ERROR.value, "message": message})
        if stats.disk_full:
            message = "The data dir's disk is full: only deletions are accepted until space is freed"
            alerts.append({"severity": Severity.ERROR.value, "message": message})
        state = State.ERROR if alerts else self.registry.phase
        if self.quarantine.rows:  # set aside at this start; the agent itself is fine
            alerts.append({"severity": Severity.WARNING.value, "message": self.quarantine.summary()})
        status: dict[str, Any] = {}
        if rank >= _INFO_RANK:
            status["backend"] = store.backend
            status["size-bytes"] = store.size_bytes()
        if rank >= _DEBUG_RANK:
            status.update(
                {
                    "commits": stats.commits,
                    "ops": stats.ops,
                    "batches": stats.batches,
                    "last-commit-ms": round(stats.last_commit_seconds * 1000, 3),
                    "errors": stats.errors,
                    "last-error": stats.last_error,
                }
            )
        return _answer(state, status, alerts)


class CheckRunnerStatus:
    """Services and checks by health at info; per-kind runs and start lateness at debug."""

    def __init__(self, registry: StatusRegistry, state: LocalState, runner: CheckRunner) -> None:
        self.registry = registry
        self.state = state
        self.runner = runner

    def __call__(self, level: Level) -> dict[str, Any]:
        runner, rank = self.runner, level_to_int(level)
        state = self.registry.phase
        if state is State.RUNNING and runner.context is None:  # marked running before the runner started
            state = State.STARTING
        status: dict[str, Any] = {}
        if rank >= _INFO_RANK:
            status["services"], status["checks"] = health_counts(self.state)
        if rank >= _DEBUG_RANK:
            status["kinds"] = {
                kind: kind_stats(s.runs, s.lateness) for kind, s in sorted(runner.stats.items())
            }
            status["interval-checks"] = len(runner.tasks)
            status["ttl-checks"] = len(runner.ttl_timers)
            status["alias-checks"] = len(runner.aliases)
        return _answer(state, status)


def health_counts(state: LocalState) -> tuple[dict[str, int], dict[str, int]]:
    """({total, passing, warning, critical, maintenance} of service instances, the same of checks),
    in one pass over the checks: a service's health is its checks' plus its node's (§2.7)."""
    checks = {"total": len(state.checks), PASSING: 0, WARNING: 0, CRITICAL: 0}
    by_service: dict[tuple[str, str], list[Check]] = {}
    node_checks: dict[str, list[Check]] = {}
    for (namespace, _), check in state.checks.items():
        checks[check.status] = checks.get(check.status, 0) + 1
        service_id = check.definition.service_id
        if service_id:
            by_service.setdefault((namespace, service_id), []).append(check)
        else:
            node_checks.setdefault(namespace, []).append(check)
    services = {"total": len(state.services), PASSING: 0, WARNING: 0, CRITICAL: 0, MAINTENANCE: 0}
    for key in state.services:
        health = aggregate_status(by_service.get(key, []) + node_checks.get(key[0], []))
        services[health] += 1
    return services, checks


def kind_stats(runs: int, lateness: list[float]) -> dict[str, Any]:
    """Runs, and start lateness p50/p99 in ms over the runner's recent window (as /v1/agent/self)."""
    out: dict[str, Any] = {"runs": runs}
    if lateness:
        ordered = sorted(lateness)
        out["lateness-p50-ms"] = round(ordered[len(ordered) // 2] * 1000, 3)
        out["lateness-p99-ms"] = round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3)
    return out
