"""Real faulty disks for the fault-injection tests: a small tmpfs that fills up, an ext4 loop mount whose
database files can be made immutable (writes fail with EPERM, as on a read-only disk), and the store
status and write helpers those tests share. Needs root and `mount` (the CI machine has both)."""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import poll

DB_FILES = ("muster.db", "muster.db-wal")


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)


def _need_mounts() -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("fault-injection mounts need root and mount(8)")


@contextlib.contextmanager
def mounted(target: Path, *mount_args: str) -> Iterator[Path]:
    _need_mounts()
    target.mkdir(parents=True, exist_ok=True)
    done = _run("mount", *mount_args, str(target))
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")
    try:
        yield target
    finally:
        _run("umount", "-l", str(target))


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "16m") -> Iterator[Path]:
    with mounted(where, "-t", "tmpfs", "-o", f"size={size}", "tmpfs") as path:
        yield path


@contextlib.contextmanager
def ext4_loop(where: Path, size_mib: int = 64) -> Iterator[Path]:
    _need_mounts()
    image = where.parent / (where.name + ".img")
    with open(image, "wb") as handle:
        handle.truncate(size_mib << 20)
    made = _run("mkfs.ext4", "-q", "-F", str(image))
    if made.returncode != 0:
        pytest.skip(f"mkfs.ext4 failed: {made.stderr.strip()}")
    with mounted(where, "-o", "loop", str(image)) as path:
        yield path
    image.unlink()


def fill(directory: Path) -> Path:
    """Write a filler file until the file system answers ENOSPC."""
    filler = directory / "filler"
    chunk = b"\0" * (1 << 16)
    code = 0
    with open(filler, "wb", buffering=0) as handle:
        while not code:
            try:
                handle.write(chunk)
            except OSError as exc:
                code = exc.errno or -1
    assert errno.ENOSPC == code
    return filler


def immutable(directory: Path, on: bool, names: tuple[str, ...] = DB_FILES) -> None:
    """chattr +i: ext4 refuses every write to these files, even root's, even on open descriptors. The
    name "." is the directory itself (no file can be created, renamed or removed in it)."""
    paths = [str(directory / name) for name in names if (directory / name).exists()]
    if not paths:
        return
    done = _run("chattr", "+i" if on else "-i", *paths)
    assert 0 == done.returncode, done.stderr


@contextlib.contextmanager
def made_immutable(directory: Path, *names: str) -> Iterator[None]:
    """`names` immutable for the block, and mutable again however it ends (an immutable file left
    behind would break the removal of the test's temporary directory)."""
    try:
        immutable(directory, True, names)
        yield
    finally:
        immutable(directory, False, names)


def store_state(agent: AgentProcess) -> dict[str, Any]:
    reply = agent.get("/status/v1/services/store?level=debug")
    assert reply.status in (200, 503), reply.text
    return reply.json()


def big_registration(service_id: str, size: int = 64 << 10) -> dict[str, Any]:
    tags = [f"{n:06d}" + "x" * 90 for n in range(size // 100)]
    return {"ID": service_id, "Name": "filler", "Tags": tags}


def register_until_refused(agent: AgentProcess, prefix: str, limit: int = 400) -> tuple[int, str, int]:
    """Register ever more large services until one is refused; (status, body, accepted count)."""
    for n in range(limit):
        reply = agent.put("/v1/agent/service/register", big_registration(f"{prefix}-{n}"))
        if reply.status != 200:
            return reply.status, reply.text, n
    return 200, "", limit


def wait_store(agent: AgentProcess, state: str) -> dict[str, Any]:
    return poll(lambda: store_state(agent), lambda s: s["state"] == state, timeout=20)


@contextlib.contextmanager
def writes_fail(agent: AgentProcess) -> Iterator[None]:
    """Every file write of the agent fails (EFBIG, `disk I/O error`) for the block: its RLIMIT_FSIZE is
    set to 1 byte (Python ignores SIGXFSZ). No root needed; for tests that only need a failing store
    (an outside connection can no longer lock the database: the store holds it exclusively)."""
    assert agent.proc is not None
    pid = agent.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, hard))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))
