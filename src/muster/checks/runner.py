"""The check runner: one task per interval check (random first-run stagger, 1 s minimum interval,
no overlapping runs, thresholds), TTL timers, and alias checks re-evaluated on every change.
Every result goes through one notifier (`CheckResults`); the runner reads the local state and nothing else."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import aiohttp

from muster.checks.alias import evaluate_alias
from muster.checks.base import MIN_INTERVAL_NS, SECOND, CheckResult, Probe, ProbeContext
from muster.checks.definition import needs_scripts
from muster.checks.kinds import make_probe
from muster.checks.threshold import Threshold
from muster.models import CRITICAL, CheckDefinition

if TYPE_CHECKING:
    from muster.agent.state import LocalState


class CheckResults(Protocol):
    """Where every probe, timer and alias result goes (the agent's check write service)."""

    def record_check_result(self, namespace: str, check_id: str, status: str, output: str) -> None: ...


log = logging.getLogger("muster.checks")
Key = tuple[str, str]
ALIAS_REFRESH_SECONDS = 60.0


@dataclass
class KindStats:
    runs: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds late, a bounded recent window

    def record(self, late: float) -> None:
        self.runs += 1
        self.lateness.append(late)
        if len(self.lateness) > 4096:
            del self.lateness[:2048]


class CheckRunner:
    def __init__(
        self,
        state: LocalState,
        results: CheckResults,
        output_max_size: int,
        scripts_allowed: Callable[[str], bool],
    ) -> None:
        self.state = state
        self.results = results
        self.scripts_allowed = scripts_allowed
        self.output_max_size = output_max_size  # Consul's check_output_max_size; a reload may change it
        self.tasks: dict[Key, asyncio.Task[None]] = {}
        self.ttl_timers: dict[Key, asyncio.TimerHandle] = {}
        self._ttl_last_output: dict[Key, str] = {}
        # The definition each check runs under: a different one (another owner, TTL, kind) starts
        # afresh, without the old one's last TTL output.
        self.definitions: dict[Key, CheckDefinition] = {}
        self.aliases: dict[Key, CheckDefinition] = {}
        self.stats: dict[str, KindStats] = {}
        self.context: ProbeContext | None = None
        self._alias_pending = False
        self._alias_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(force_close=True, limit=0)  # no keep-alive, as Consul
        session = aiohttp.ClientSession(connector=connector, auto_decompress=True)
        pool = ThreadPoolExecutor(32, "muster-script")
        self.context = ProbeContext(session, pool, self.output_max_size, self.scripts_allowed)
        self.state.on_change(self._schedule_alias_evaluation)
        for check in list(self.state.checks.values()):
            self.update(check.definition, check.definition.namespace, check.definition.check_id)
        self._alias_task = asyncio.create_task(self._refresh_aliases())

    async def stop(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for timer in self.ttl_timers.values():
            timer.cancel()
        if self._alias_task is not None:
            self._alias_task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()
        if self.context is not None:
            if self.context.http_session is not None:
                await self.context.http_session.close()
            self.context.script_pool.shutdown(wait=False, cancel_futures=True)

    def reconfigure(self, output_max_size: int) -> None:
        """A reload's check settings: probes are rebuilt with the new output cap, and script checks
        with the script settings now in force (turned off, they stop running at once)."""
        changed = output_max_size != self.output_max_size
        self.output_max_size = output_max_size
        if self.context is None:
            return
        self.context.output_max_size = output_max_size
        for key in list(self.tasks):
            definition = self.definitions.get(key)
            if definition is not None and (changed or needs_scripts(definition)):
                self._stop(key)
                self._start_interval(key, definition)

    # -- the Agent tells us about every added, replaced or removed check --------
    def update(self, definition: CheckDefinition | None, namespace: str, check_id: str) -> None:
        """Everything kept for a check goes when it is removed or its definition changes; the
        start-up pass repeats the loaded definitions, which keep the TTL output restored with them."""
        key = (namespace, check_id)
        self._stop(key)
        previous = self.definitions.pop(key, None)
        if definition is None or (previous is not None and previous != definition):
            self._ttl_last_output.pop(key, None)
        if definition is None:
            return
        self.definitions[key] = definition
        if self._loop is None:
            return
        if definition.ttl > 0:
            self.arm_ttl(key, definition.ttl)
        elif definition.alias_service or definition.alias_node:
            self.aliases[key] = definition
            self._schedule_alias_evaluation()
        elif definition.interval > 0:
            self._start_interval(key, definition)

    def _stop(self, key: Key) -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            task.cancel()
        timer = self.ttl_timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self.aliases.pop(key, None)

    # -- interval checks -------------------------------------------------------
    def _start_interval(self, key: Key, definition: CheckDefinition) -> None:
        if self.context is None:
            return
        probe = make_probe(definition, self.context)
        if probe is not None:
            self.tasks[key] = asyncio.create_task(self._run_interval(key, definition, probe))

    async def _run_interval(self, key: Key, definition: CheckDefinition, probe: Probe) -> None:
        loop = asyncio.get_running_loop()
        interval = max(definition.interval, MIN_INTERVAL_NS) / SECOND
        threshold = Threshold(definition)
        stats = self.stats.setdefault(definition.type or "unknown", KindStats())
        due = loop.time() + random.uniform(0, interval)
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            stats.record(max(0.0, loop.time() - due))
            try:
                result = await probe()
            except Exception as exc:
                log.exception("check %s probe failed", key[1])
                result = CheckResult(CRITICAL, f"Check failed: {exc}")
            applied = threshold.apply(result)
            if applied is not None:
                self.results.record_check_result(key[0], key[1], applied.status, applied.output)
            due += interval
            now = loop.time()
            if due < now:  # a run longer than the interval: skip, never overlap or burst
                due = now + interval

    # -- TTL checks --------------------------------------------------------------
    def arm_ttl(self, key: Key, ttl_ns: int) -> None:
        timer = self.ttl_timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        if self._loop is not None:
            self.ttl_timers[key] = self._loop.call_later(ttl_ns / SECOND, self._ttl_expired, key)

    def _ttl_expired(self, key: Key) -> None:
        self.ttl_timers.pop(key, None)
        last = self._ttl_last_output.get(key)
        output = "TTL expired" if not last else f"TTL expired (last output before timeout follows): {last}"
        self.results.record_check_result(key[0], key[1], CRITICAL, output)

    def ttl_updated(self, key: Key, ttl_ns: int, output: str) -> None:
        self._ttl_last_output[key] = output
        self.arm_ttl(key, ttl_ns)

    def restore_ttl_output(self, key: Key, output: str) -> None:
        """At start-up, a TTL check's saved output: what "TTL expired" quotes if no update comes."""
        self._ttl_last_output[key] = output

    # -- alias checks --------------------------------------------------------------
    def _schedule_alias_evaluation(self) -> None:
        if self.aliases and not self._alias_pending and self._loop is not None:
            self._alias_pending = True
            self._loop.call_soon(self._evaluate_aliases)

    def _evaluate_aliases(self) -> None:
        self._alias_pending = False
        for key, definition in list(self.aliases.items()):
            result = evaluate_alias(self.state, definition)
            self.results.record_check_result(key[0], key[1], result.status, result.output)

    async def _refresh_aliases(self) -> None:
        while True:
            await asyncio.sleep(ALIAS_REFRESH_SECONDS)
            self._evaluate_aliases()
