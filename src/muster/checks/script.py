"""Script checks (Consul's CheckMonitor): run ScriptArgs without a shell in the runner's thread pool;
exit 0 passing, 1 warning, anything else critical. On timeout the whole process group is killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import time

from muster.checks.base import (
    DEFAULT_SCRIPT_TIMEOUT_NS,
    MAX_TIMEOUT_SECONDS,
    SECOND,
    CheckResult,
    Probe,
    ProbeContext,
    TailBuffer,
    output_cap,
)
from muster.golang import format_duration, quote
from muster.models import CRITICAL, PASSING, WARNING, CheckDefinition

DEFAULT_OUTPUT_MAX = 4096  # Consul's DefaultBufSize, used when no cap is configured
DRAIN_GRACE_SECONDS = 2.0
READ_CHUNK = 65536  # one pipe buffer


def start_error_text(path: str, exc: OSError) -> str:
    """os/exec's wording for a process that could not start."""
    reason = os.strerror(exc.errno) if exc.errno is not None else str(exc)
    return f"fork/exec {path}: {reason[:1].lower()}{reason[1:]}"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # start_new_session made the script a group leader; its pid names the group, and the group
    # outlives the leader, so forked children that hold the output pipe die with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _read_until(fd: int, buffer: TailBuffer, deadline: float) -> bool:
    """Read the pipe in chunks into the ring until it closes (True) or the deadline passes."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if not selector.select(min(remaining, 3600.0)):  # epoll's timeout is int32 ms
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                return True
            buffer.write(chunk)


def _wait_until(proc: subprocess.Popen[bytes], deadline: float) -> bool:
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return False
    return True


def _collect(proc: subprocess.Popen[bytes], buffer: TailBuffer, timeout: float) -> bool:
    """Blocking: read the output until the pipe closes and the process exits, as Go's cmd.Wait does.
    False on timeout, after the group is killed and the rest drained: a writer that escaped the group
    (setsid) could hold the pipe open forever, so the drain stops after a grace period."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    if _read_until(fd, buffer, deadline) and _wait_until(proc, deadline):
        return True
    _kill_group(proc)
    _read_until(fd, buffer, time.monotonic() + DRAIN_GRACE_SECONDS)
    proc.wait()
    return False


def run_script(argv: list[str], timeout_ns: int, cap: int) -> CheckResult:
    """Blocking: runs in a pool thread. Memory is bounded by `cap` plus one read, whatever it prints."""
    if not argv:
        return CheckResult(CRITICAL, "exec: no command")
    path = argv[0]
    if "/" not in path:  # exec.Command looks a bare name up in PATH before starting anything
        found = shutil.which(path)
        if found is None:
            return CheckResult(CRITICAL, f"exec: {quote(path)}: executable file not found in $PATH")
        path = found
    try:
        proc = subprocess.Popen(
            argv,
            executable=path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return CheckResult(CRITICAL, start_error_text(path, exc))
    buffer = TailBuffer(cap)
    try:
        finished = _collect(proc, buffer, min(timeout_ns / SECOND, MAX_TIMEOUT_SECONDS))
    finally:
        if proc.returncode is None:  # an unexpected error above: never leak the group
            _kill_group(proc)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    text = buffer.text()
    if not finished:
        message = f"Timed out ({format_duration(timeout_ns)}) running check"
        return CheckResult(CRITICAL, f"{message}\n\n{text}" if text else message)
    if proc.returncode == 0:
        return CheckResult(PASSING, text)
    if proc.returncode == 1:
        return CheckResult(WARNING, text)
    return CheckResult(CRITICAL, text)


def make_script_probe(definition: CheckDefinition, ctx: ProbeContext) -> Probe:
    argv = list(definition.script_args)
    timeout_ns = definition.timeout if definition.timeout > 0 else DEFAULT_SCRIPT_TIMEOUT_NS
    cap = output_cap(definition, ctx.output_max_size) or DEFAULT_OUTPUT_MAX

    async def probe() -> CheckResult:
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(ctx.script_pool, run_script, argv, timeout_ns, cap)
        except Exception as exc:  # noqa: BLE001 - a probe reports every failure as a status
            return CheckResult(CRITICAL, f"Check failed to invoke: {exc!r}")

    return probe
