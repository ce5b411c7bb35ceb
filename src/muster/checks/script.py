"""Script checks (Consul's CheckMonitor): run ScriptArgs without a shell in the runner's thread pool;
exit 0 passing, 1 warning, anything else critical. On timeout the whole process group is killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess

from muster.checks.base import (
    DEFAULT_SCRIPT_TIMEOUT_NS,
    SECOND,
    CheckResult,
    Probe,
    ProbeContext,
    output_cap,
    script_output,
)
from muster.golang import format_duration, quote
from muster.models import CRITICAL, PASSING, WARNING, CheckDefinition

DEFAULT_OUTPUT_MAX = 4096  # Consul's DefaultBufSize, used when no cap is configured
DRAIN_GRACE_SECONDS = 2.0


def start_error_text(path: str, exc: OSError) -> str:
    """os/exec's wording for a process that could not start."""
    reason = os.strerror(exc.errno) if exc.errno is not None else str(exc)
    return f"fork/exec {path}: {reason[:1].lower()}{reason[1:]}"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # start_new_session made the script a group leader; its pid names the group, and the group
    # outlives the leader, so forked children that hold the output pipe die with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _drain(proc: subprocess.Popen[bytes]) -> bytes:
    """The rest of the output once the group is dead; a writer that escaped the group (setsid)
    could hold the pipe open forever, so stop waiting for it after a grace period."""
    try:
        output, _ = proc.communicate(timeout=DRAIN_GRACE_SECONDS)
    except subprocess.TimeoutExpired as exc:
        output = exc.output or b""
        if proc.stdout is not None:
            proc.stdout.close()
        proc.wait()
    return output


def run_script(argv: list[str], timeout_ns: int, cap: int) -> CheckResult:
    """Blocking: runs in a pool thread. Waits for the output pipe to close, as Go's cmd.Wait does."""
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
    try:
        try:
            output, _ = proc.communicate(timeout=timeout_ns / SECOND)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            output = _drain(proc)
            message = f"Timed out ({format_duration(timeout_ns)}) running check"
            text = script_output(output, cap)
            return CheckResult(CRITICAL, f"{message}\n\n{text}" if text else message)
    finally:
        if proc.returncode is None:  # an unexpected error above: never leak the group
            _kill_group(proc)
            proc.wait()
    text = script_output(output, cap)
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
