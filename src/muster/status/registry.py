"""The status registry: service name -> one status callback per status-format version, called with a
detail level under a per-callback timeout, all in parallel for the rollup (trapperkeeper-status's
`register-status` / `get-status`, spec §0 and §4). One instance, owned by the Agent."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, cast

from muster.status.levels import (
    DEFAULT_TIMEOUTS,
    Level,
    State,
    aggregate_state,
    all_running,
    format_int,
    to_level,
)
from muster.status.response import CallbackResult, check_response, threw, timed_out

log = logging.getLogger("muster.status")

# A callback takes the level and returns {state, status[, alerts]}, or an awaitable of it.
StatusCallback = Callable[[Level], Any]

SERVICE_INFO_NOT_FOUND = "service-info-not-found"
STATUS_VERSION_NOT_FOUND = "service-status-version-not-found"


CRITICAL_CACHE_SECONDS = 0.05


class StatusError(Exception):
    """A lookup the registry cannot answer, with the original's error kind and message."""

    def __init__(self, kind: str, msg: str) -> None:
        super().__init__(msg)
        self.kind = kind
        self.msg = msg


class RegistrationError(ValueError):
    """A `register_status` call the original refuses."""


class Background(Protocol):
    """Work that runs while the agent runs (the CPU sampler, the gc timer)."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Registration:
    name: str
    service_version: str
    status_version: int
    callback: StatusCallback
    inline: bool  # called on the event loop: async callbacks, and sync ones that never block
    rollup: bool = True  # counted in the rollup unless the owner opted out (catalog-sync)


class StatusRegistry:
    """Register with `register_status`; read with `get_status` (raw) or `call_latest` (the rollup).

    Sync callbacks run in the registry's own thread pool so that a slow one can be abandoned at its
    timeout; `inline=True` promises the callback never blocks, and is then called on the loop (the
    built-in subsystems: a load balancer polling `critical` should not pay for a thread hop). Async
    callbacks always run on the loop as tasks and are cancelled at their timeout.
    """

    def __init__(
        self,
        *,
        exclude_from_rollup: Iterable[str] = (),
        include_in_rollup: Iterable[str] = (),
        max_threads: int = 8,
    ) -> None:
        self.exclude_from_rollup = frozenset(exclude_from_rollup)
        # Services registered with `rollup=False` that the operator wants counted after all.
        self.include_in_rollup = frozenset(include_in_rollup)
        # Set by the server when it starts to drain (SIGTERM): `http-api` answers `stopping` so
        # balancers take this agent out while requests in flight finish.
        self.draining = False
        self._phase = State.STARTING
        self._services: dict[str, dict[int, Registration]] = {}
        self._latest: tuple[Registration, ...] = ()  # rebuilt on registration, read on every rollup
        self._lock = threading.Lock()  # registration may come from any thread; reads take a snapshot
        self._max_threads = max_threads
        self._pool: ThreadPoolExecutor | None = None
        # A sync callback abandoned at its timeout keeps its thread; the next call waits for it
        # instead of starting another, so a balancer polling every second cannot exhaust the pool.
        self._stuck: dict[tuple[str, int], asyncio.Future[Any]] = {}
        self._background: list[Background] = []
        # (expires, change marker, results) of the last default critical-level rollup: load balancers
        # poll it hard. The owner sets `change_marker` to something that moves whenever a subsystem's
        # state could (the agent's change index, store errors), so the cache never hides a change.
        self.change_marker: Callable[[], object] = lambda: None
        self._critical: tuple[float, object, list[tuple[Registration, CallbackResult]]] | None = None
        # The HTTP layer's encoding of a rollup, reused while `call_latest` returns the same list.
        self.rendered: dict[Level, tuple[object, bytes]] = {}

    # -- lifecycle ---------------------------------------------------------------
    @property
    def phase(self) -> State:
        """The agent's lifecycle as the subsystems report it: starting, running, then stopping."""
        return self._phase

    def mark_running(self) -> None:
        self._phase = State.RUNNING
        self._critical = None

    def mark_stopping(self) -> None:
        self._phase = State.STOPPING
        self.draining = True
        self._critical = None  # a drain must show at once, not after the cache expires

    def add_background(self, work: Background) -> None:
        self._background.append(work)

    async def start(self) -> None:
        for work in self._background:
            await work.start()

    async def stop(self) -> None:
        for work in reversed(self._background):
            await work.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    # -- registration --------------------------------------------------------------
    def register_status(
        self,
        name: str,
        service_version: str,
        status_version: int,
        callback: StatusCallback,
        *,
        inline: bool = False,
        rollup: bool = True,
    ) -> None:
        """Add a callback; a second one for the same name offers another status-format version.
        `rollup=False` leaves the service out of the rollup unless `include_in_rollup` names it: for
        a subsystem whose failure is not this agent's (the fleet's etcd) and must not take every
        agent out of its load balancer at once."""
        inline = inline or inspect.iscoroutinefunction(callback)
        with self._lock:
            versions = self._services.get(name, {})
            if any(reg.service_version != service_version for reg in versions.values()):
                raise RegistrationError(
                    "Cannot register multiple callbacks for a single service with different service versions."
                )
            if status_version in versions:
                raise RegistrationError(
                    f"Service function already exists for service {name} with status version {status_version}"
                )
            registration = Registration(name, service_version, status_version, callback, inline, rollup)
            self._services[name] = {**versions, status_version: registration}
            self._latest = tuple(
                self._services[each][max(self._services[each])] for each in sorted(self._services)
            )
            self._critical = None
        log.info("Registering status callback function for service '%s', version %s", name, service_version)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._services)

    def __contains__(self, name: object) -> bool:
        return name in self._services

    def latest(self) -> tuple[Registration, ...]:
        """Each service's highest status version, by name: what the rollup reports."""
        return self._latest

    def registration(self, name: str, status_version: int | None = None) -> Registration:
        with self._lock:
            versions = self._services.get(name)
            if versions is None:
                raise StatusError(SERVICE_INFO_NOT_FOUND, f"No service info found for service {name}")
            if status_version is None:
                return versions[max(versions)]
            registration = versions.get(status_version)
        if registration is None:
            raise StatusError(
                STATUS_VERSION_NOT_FOUND,
                f"No status function with version {format_int(status_version)} found for service {name}",
            )
        return registration

    # -- calling ---------------------------------------------------------------------
    async def get_status(
        self,
        name: str,
        level: str,
        status_version: int | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 - the spec's signature; a per-callback limit
    ) -> dict[str, Any]:
        """The raw guarded answer: state, status, and alerts if the callback gave them."""
        registration = self.registration(name, status_version)
        result = await self.call(registration, to_level(level), timeout)
        return result.raw()

    async def call(self, registration: Registration, level: Level, limit: int | None) -> CallbackResult:
        """One guarded call; `limit` is whole seconds, None for the level's default."""
        started = self._begin(registration, level, _seconds(level, limit))
        return started if isinstance(started, CallbackResult) else await started

    async def call_latest(self, level: Level, limit: int | None) -> list[tuple[Registration, CallbackResult]]:
        """Every service's latest callback, all concurrently against one deadline (§7 trap 14).

        The default critical-level rollup is reused for at most CRITICAL_CACHE_SECONDS while nothing
        changed: at balancer polling rates that keeps `/status/v1/simple` as cheap as the agent's list.
        """
        cacheable = level is Level.CRITICAL and limit is None
        now = time.monotonic()
        marker = self.change_marker() if cacheable else None
        cached = self._critical
        if cacheable and cached is not None and cached[0] > now and cached[1] == marker and not self.draining:
            return cached[2]
        results = await self._call_latest(level, limit)
        if cacheable:
            self._critical = (now + CRITICAL_CACHE_SECONDS, marker, results)
        return results

    async def _call_latest(
        self, level: Level, limit: int | None
    ) -> list[tuple[Registration, CallbackResult]]:
        seconds = _seconds(level, limit)
        registrations = self.latest()
        started = [self._begin(registration, level, seconds) for registration in registrations]
        pending = [item for item in started if not isinstance(item, CallbackResult)]
        if pending:  # only slow callbacks are awaited; the rest answered already
            finished = iter(await asyncio.gather(*pending))
            started = [item if isinstance(item, CallbackResult) else next(finished) for item in started]
        results = cast("list[CallbackResult]", started)
        return list(zip(registrations, results, strict=True))

    def still_latest(self, results: list[tuple[Registration, CallbackResult]]) -> bool:
        """Whether `results` is still the default critical-level rollup call_latest would return."""
        cached = self._critical
        return (
            cached is not None
            and cached[2] is results
            and cached[0] > time.monotonic()
            and not self.draining
            and cached[1] == self.change_marker()
        )

    def counts(self, registration: Registration) -> bool:
        """Whether a service's state counts in the rollup."""
        if registration.name in self.exclude_from_rollup:
            return False
        return registration.rollup or registration.name in self.include_in_rollup

    def rollup(self, results: list[tuple[Registration, CallbackResult]]) -> tuple[State, bool]:
        """(aggregate state, every counted service running) over the services counted."""
        counted = {result.state for reg, result in results if self.counts(reg)}
        return aggregate_state(counted), all_running(counted)

    def _begin(
        self, registration: Registration, level: Level, seconds: int
    ) -> CallbackResult | Awaitable[CallbackResult]:
        """Call at once when the callback runs on the loop and answers without awaiting; otherwise
        return the awaitable that finishes the call, so the rollup can run the slow ones together."""
        if not registration.inline:
            return self._in_thread(registration, level, seconds)
        try:
            value = registration.callback(level)
        except Exception as exc:
            log.exception("Status check for %s threw an exception", registration.name)
            return threw(registration.name, exc)
        if type(value) is not dict and inspect.isawaitable(value):
            return self._await(registration.name, value, seconds)
        return check_response(registration.name, value)

    async def _await(self, name: str, awaitable: Awaitable[Any], seconds: int) -> CallbackResult:
        task = asyncio.ensure_future(awaitable)
        try:
            done, _ = await asyncio.wait({task}, timeout=seconds)
        except asyncio.CancelledError:
            task.cancel()  # the client went away: stop the callback's work too
            raise
        if not done:
            log.error("Status callback for %s timed out, shutting down background task", name)
            task.cancel()
            task.add_done_callback(_consume)
            return timed_out(seconds)
        if task.cancelled():
            return threw(name, asyncio.CancelledError())
        exc = task.exception()
        if exc is not None:
            log.error("Status check for %s threw an exception", name, exc_info=exc)
            return threw(name, exc)
        return check_response(name, task.result())

    async def _in_thread(self, registration: Registration, level: Level, seconds: int) -> CallbackResult:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        key = (registration.name, registration.status_version)
        stuck = self._stuck.get(key)
        if stuck is not None:
            await asyncio.wait({stuck}, timeout=seconds)
            if not stuck.done():
                log.error(
                    "Status callback for %s timed out, shutting down background task", registration.name
                )
                return timed_out(seconds)
            self._stuck.pop(key, None)
        future = loop.run_in_executor(self._executor(), registration.callback, level)
        try:
            done, _ = await asyncio.wait({future}, timeout=max(0.0, deadline - loop.time()))
        except asyncio.CancelledError:
            self._stuck[key] = future  # the client went away; the thread still runs to its end
            future.add_done_callback(_consume)
            raise
        if not done:
            # Threads cannot be interrupted: the call is abandoned, not stopped (§7 trap 13).
            log.error("Status callback for %s timed out, shutting down background task", registration.name)
            self._stuck[key] = future
            future.add_done_callback(_consume)
            return timed_out(seconds)
        exc = future.exception()
        if exc is not None:
            log.error("Status check for %s threw an exception", registration.name, exc_info=exc)
            return threw(registration.name, exc)
        value = future.result()
        if inspect.isawaitable(value):
            return await self._await(registration.name, value, max(1, round(deadline - loop.time())))
        return check_response(registration.name, value)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._max_threads, thread_name_prefix="muster-status")
        return self._pool


def _seconds(level: Level, limit: int | None) -> int:
    if limit is None:
        return DEFAULT_TIMEOUTS[level]
    if limit <= 0:
        raise ValueError(f"Invalid timeout. Timeout must be greater than zero but was {format_int(limit)}")
    return limit


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned call's outcome so asyncio does not log it as never retrieved."""
    with contextlib.suppress(BaseException):
        future.exception()
