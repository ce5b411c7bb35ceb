"""Process metrics for `status-service` at `debug`: the seed document's `experimental.jvm-metrics` keys
filled with the Python process's honest analogues (spec §5), and a `python-metrics` block."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import platform
import resource
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

GENERATIONS = ("gen0", "gen1", "gen2")
_KIB = 1024


class GcTimer:
    """Wall time of every CPython collection, per generation, from a `gc.callbacks` hook.

    Collections before `install()` are counted by `gc.get_stats()` but not timed.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started = 0.0
        self.total = [0.0, 0.0, 0.0]  # seconds
        self.longest = [0.0, 0.0, 0.0]
        self.last: list[float | None] = [None, None, None]
        self.timed = [0, 0, 0]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        # Runs inside the collector, under the GIL; collections never nest, so one start slot is enough.
        if phase == "start":
            self._started = self._clock()
            return
        generation = info.get("generation", 0)
        if not 0 <= generation < len(self.total):
            return
        elapsed = max(0.0, self._clock() - self._started)
        self.total[generation] += elapsed
        self.longest[generation] = max(self.longest[generation], elapsed)
        self.last[generation] = elapsed
        self.timed[generation] += 1

    @property
    def total_seconds(self) -> float:
        return sum(self.total)

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def uninstall(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self)


class CpuSampler:
    """JVisualVM's CPU figures as tk-status computes them: the share of the whole machine (time divided
    by the CPU count) used by the process, and by garbage collection, between two samples.

    -1 before the first sample, 0 at the first, real values from the second on (§5).
    """

    def __init__(
        self,
        ncpu: int,
        gc_seconds: Callable[[], float],
        cpu_seconds: Callable[[], float] = time.process_time,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ncpu = max(1, ncpu)
        self._gc_seconds = gc_seconds
        self._cpu_seconds = cpu_seconds
        self._wall = wall
        self._previous: tuple[float, float, float] | None = None
        self.cpu_usage = -1.0
        self.gc_cpu_usage = -1.0

    def sample(self) -> None:
        now = (self._wall(), self._cpu_seconds() / self._ncpu, self._gc_seconds() / self._ncpu)
        previous, self._previous = self._previous, now
        if previous is None:
            self.cpu_usage = self.gc_cpu_usage = 0.0
            return
        elapsed = now[0] - previous[0]
        if elapsed > 0:
            self.cpu_usage = _percent(now[1] - previous[1], elapsed)
            self.gc_cpu_usage = _percent(now[2] - previous[2], elapsed)


class ProcessMetrics:
    """Owns the gc hook and the CPU sampler (started and stopped with the status registry)."""

    def __init__(self, *, cpu_interval_seconds: float = 5.0) -> None:
        self.cpu_interval_seconds = cpu_interval_seconds
        self._process = psutil.Process()
        self.gc_timer = GcTimer()
        self.ncpu = cpu_count()
        self.sampler = CpuSampler(self.ncpu, lambda: self.gc_timer.total_seconds)
        # start-time-ms is the true process start (constant); up-time-ms counts on from it monotonically.
        self.start_epoch = float(self._process.create_time())
        self._epoch_at_init = time.time()
        self._monotonic_at_init = time.monotonic()
        self.peak_threads = threading.active_count()
        memory = read_proc_status()
        self._heap_init = memory.get("RssAnon", 0)
        self._non_heap_init = memory.get("RssFile", 0) + memory.get("RssShmem", 0)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.gc_timer.install()
        if self.cpu_interval_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._sample_forever())

    async def stop(self) -> None:
        self.gc_timer.uninstall()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _sample_forever(self) -> None:
        while True:
            self.sampler.sample()
            self.note_threads()
            await asyncio.sleep(self.cpu_interval_seconds)

    def note_threads(self) -> int:
        """Python keeps no peak thread count: ours is the maximum seen by the sampler and status calls."""
        count = threading.active_count()
        self.peak_threads = max(self.peak_threads, count)
        return count

    # -- the documents ----------------------------------------------------------------
    def jvm_metrics(self) -> dict[str, Any]:
        """Exactly the 11 keys of tk-status 1.1.1+, integers for bytes, counts and ms (§5)."""
        memory = read_proc_status()
        if memory:
            heap = _usage(memory.get("VmData", 0), self._heap_init, memory_limit(), memory.get("RssAnon", 0))
            non_heap_used = memory.get("RssFile", 0) + memory.get("RssShmem", 0)
            non_heap = _usage(memory.get("VmSize", 0), self._non_heap_init, -1, non_heap_used)
        else:  # no /proc (macOS, BSD): resident and virtual size are what is left
            info = self._process.memory_info()
            heap = _usage(int(info.vms), -1, memory_limit(), int(info.rss))
            non_heap = _usage(-1, -1, -1, -1)
        pools: dict[str, Any] = {
            "anonymous": {"type": "HEAP", "usage": heap},
            "file-backed": {"type": "NON_HEAP", "usage": non_heap},
        }
        if tracemalloc.is_tracing():  # never switched on here: tracing costs CPU and memory
            traced, _ = tracemalloc.get_traced_memory()
            pools["tracemalloc"] = {"type": "HEAP", "usage": _usage(traced, -1, -1, traced)}
        mapped_count, mapped_bytes = mapped_files()
        zero = {"count": 0, "memory-used": 0, "total-capacity": 0}
        mapped = {"count": mapped_count, "memory-used": mapped_bytes, "total-capacity": mapped_bytes}
        return {
            "heap-memory": heap,
            "non-heap-memory": non_heap,
            "memory-pools": pools,
            "file-descriptors": {"max": _soft_limit(resource.RLIMIT_NOFILE), "used": self.open_fds()},
            "nio-buffer-pools": {"direct": zero, "mapped": mapped},
            "threading": {"thread-count": self.note_threads(), "peak-thread-count": self.peak_threads},
            "gc-stats": self._gc_stats(),
            "up-time-ms": self.up_time_ms(),
            "start-time-ms": int(self.start_epoch * 1000),
            "cpu-usage": self.sampler.cpu_usage,
            "gc-cpu-usage": self.sampler.gc_cpu_usage,
        }

    def python_metrics(self) -> dict[str, Any]:
        """The same process in CPython's own words, for people who know it."""
        times = self._process.cpu_times()
        timer = self.gc_timer
        generations = {}
        for index, stats in enumerate(gc.get_stats()[: len(GENERATIONS)]):
            last = timer.last[index]
            generations[GENERATIONS[index]] = {
                "collections": stats["collections"],
                "collected": stats["collected"],
                "uncollectable": stats["uncollectable"],
                "timed-collections": timer.timed[index],
                "pause-total-ms": round(timer.total[index] * 1000, 3),
                "pause-max-ms": round(timer.longest[index] * 1000, 3),
                "pause-last-ms": None if last is None else round(last * 1000, 3),
            }
        try:
            tasks = len(asyncio.all_tasks())
        except RuntimeError:  # no running loop (a status call from a plain thread)
            tasks = 0
        return {
            "runtime": f"{sys.implementation.name}-{platform.python_version()}",
            "gc": {
                "enabled": gc.isenabled(),
                "thresholds": list(gc.get_threshold()),
                "pending": list(gc.get_count()),
                "frozen": gc.get_freeze_count(),
                "garbage": len(gc.garbage),
                "generations": generations,
            },
            "threads": {
                "python": self.note_threads(),
                "python-peak": self.peak_threads,
                "os": int(self._process.num_threads()),
            },
            "open-fds": self.open_fds(),
            "rss-bytes": int(self._process.memory_info().rss),
            "cpu": {
                "cpus": self.ncpu,
                "user-seconds": round(float(times.user), 3),
                "system-seconds": round(float(times.system), 3),
                "usage-percent": self.sampler.cpu_usage,
                "gc-usage-percent": self.sampler.gc_cpu_usage,
            },
            "asyncio-tasks": tasks,
        }

    def up_time_ms(self) -> int:
        since_init = time.monotonic() - self._monotonic_at_init
        return int((self._epoch_at_init - self.start_epoch + since_init) * 1000)

    def open_fds(self) -> int:
        try:
            return int(self._process.num_fds())
        except (AttributeError, psutil.Error):  # num_fds exists on POSIX only
            return max(0, len(os.listdir("/dev/fd")) - 1)  # the listing opens one itself

    def _gc_stats(self) -> dict[str, Any]:
        timer = self.gc_timer
        out: dict[str, Any] = {}
        for index, stats in enumerate(gc.get_stats()[: len(GENERATIONS)]):
            entry: dict[str, Any] = {
                "count": int(stats["collections"]),
                "total-time-ms": round(timer.total[index] * 1000),
            }
            last = timer.last[index]
            if last is not None:  # as the JVM: only once a collection has been timed
                entry["last-gc-info"] = {"duration-ms": round(last * 1000)}
            out[GENERATIONS[index]] = entry
        return out


def cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def read_proc_status() -> dict[str, int]:
    """The `kB` lines of /proc/self/status, in bytes; {} where there is no /proc."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return {}
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if len(fields) == 2 and fields[1] == "kB" and fields[0].isdigit():
            out[key] = int(fields[0]) * _KIB
    return out


def memory_limit() -> int:
    """The effective memory ceiling: this cgroup's memory.max, else the RLIMIT_AS soft limit, else -1."""
    for path in _cgroup_memory_max_paths():
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw.isdigit():
            return int(raw)
        break
    return _soft_limit(resource.RLIMIT_AS)


def _cgroup_memory_max_paths() -> list[Path]:
    paths = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                paths.append(Path("/sys/fs/cgroup") / line[3:].lstrip("/") / "memory.max")
    paths.append(Path("/sys/fs/cgroup/memory.max"))
    return paths


def mapped_files() -> tuple[int, int]:
    """(count, bytes) of file-backed mappings: the nearest thing CPython has to NIO's `mapped` pool."""
    count = size = 0
    try:
        text = Path("/proc/self/maps").read_text()
    except OSError:
        return 0, 0
    for line in text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/"):
            start, _, end = fields[0].partition("-")
            count += 1
            size += int(end, 16) - int(start, 16)
    return count, size


def _soft_limit(which: int) -> int:
    soft, _ = resource.getrlimit(which)
    return -1 if soft == resource.RLIM_INFINITY else int(soft)


def _usage(committed: int, init: int, maximum: int, used: int) -> dict[str, int]:
    return {"committed": committed, "init": init, "max": maximum, "used": used}


def _percent(part: float, whole: float) -> float:
    return min(100.0, max(0.0, 100.0 * part / whole))
