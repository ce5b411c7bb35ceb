"""Durable local state in SQLite (WAL, synchronous=FULL): one writer thread commits queued changes in
groups, so many registrations share one fsync while each is durable before its caller is answered."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from muster.errors import StoreError
from muster.store_reserve import RESERVE_BYTES as RESERVE_BYTES  # re-exported: the store's API
from muster.store_reserve import RESERVE_NAME, Reserve

log = logging.getLogger("muster.store")

QUARANTINE_TABLE = "quarantine"  # rows that could not be applied at start-up (quarantine.py)
# External nodes, services and checks of the local catalog (/v1/catalog/register): catalog/external_rows.py
EXTERNAL_TABLES = ("catalog_nodes", "catalog_services", "catalog_checks")
TABLES = (
    "services",
    "checks",
    "check_state",
    "acl_tokens",
    "acl_policies",
    "acl_state",
    *EXTERNAL_TABLES,
    QUARANTINE_TABLE,
)
_SCHEMA = [
    f"CREATE TABLE IF NOT EXISTS {table} (ns TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, "
    "PRIMARY KEY (ns, id)) WITHOUT ROWID"
    for table in TABLES
] + ["CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"]
_MAX_BATCH = 512
_ROWS_PER_STATEMENT = 128  # 384 parameters, under SQLite's oldest limit of 999
# A checkpoint copies the WAL into the database and fsyncs it: SQLite's own (at 1,000 frames) runs inside
# the COMMIT that crosses the line, so that batch's callers wait for it. The writer runs one itself once
# the batch is answered and nothing is queued, after this many commits; SQLite's stays as the bound.
_CHECKPOINT_AFTER_COMMITS = 100
FULL = "database or disk is full"  # SQLite's own text for SQLITE_FULL, also used for refusals
_SQLITE_FULL = 13
_FREEING_PUT_TABLES = frozenset({"acl_state"})  # the ACL index every ACL change writes, ~20 bytes


@dataclass(frozen=True)
class Put:
    table: str
    namespace: str
    key: str
    body: bytes


@dataclass(frozen=True)
class Delete:
    table: str
    namespace: str
    key: str


Op = Put | Delete


OnCommit = Callable[[], None]


class Store(Protocol):
    """What the agent's parts write through: the embedded SQLite store, or -dev's memory store."""

    backend: str  # "sqlite" or "memory", as the status API reports it
    stats: StoreStats

    def start(self, loop: asyncio.AbstractEventLoop) -> None: ...
    async def commit(self, ops: Sequence[Op], on_commit: OnCommit) -> None: ...
    def write_now(self, ops: Sequence[Op]) -> None: ...
    def load(self, table: str) -> Iterator[tuple[str, str, bytes]]: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def size_bytes(self) -> int: ...
    def close(self) -> None: ...


@dataclass
class StoreStats:
    commits: int = 0
    ops: int = 0
    batches: int = 0
    last_commit_seconds: float = 0.0
    errors: int = 0
    last_error: str = ""
    failing: bool = False  # whether the latest batch of changes had one refused: set by every batch
    disk_full: bool = False  # the reserve is given back and there is no room to take it again


class MemoryStore:
    """`-dev` mode: nothing is written, as in Consul's dev agent."""

    backend = "memory"

    def __init__(self) -> None:
        self.stats = StoreStats()
        self._meta: dict[str, str] = {}

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        return None

    def write_now(self, ops: Sequence[Op]) -> None:
        return None

    def size_bytes(self) -> int:
        return 0

    async def commit(self, ops: Sequence[Op], on_commit: OnCommit) -> None:
        self.stats.commits += 1
        self.stats.ops += len(ops)
        on_commit()

    def load(self, table: str) -> Iterator[tuple[str, str, bytes]]:
        return iter(())

    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value

    def close(self) -> None:
        return None


def frees_space(ops: Sequence[Op]) -> bool:
    """A change that may use the reserve: it deletes, and writes nothing but ACL bookkeeping."""
    return any(isinstance(op, Delete) for op in ops) and all(
        isinstance(op, Delete) or op.table in _FREEING_PUT_TABLES for op in ops
    )


def _as_bytes(value: object) -> bytes:
    """A body as bytes: a hand edit can leave TEXT or a number where BLOB was written (SQLite's
    columns take any type), and such a row must reach the quarantine, not stop the load."""
    if isinstance(value, bytes):
        return value
    return str(value).encode(errors="surrogatepass")


# ops, the caller's future, and the in-memory change to apply once they are durable
_Pending = tuple[Sequence[Op], asyncio.Future[None], Callable[[], None]]


class SQLiteStore:
    """The embedded store. `commit` returns once the ops are fsync'd, or raises StoreError.

    `on_commit` runs on the event loop right after the fsync, in commit order, even when the caller
    was cancelled meanwhile (a client that hung up): memory never disagrees with disk.
    """

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stats = StoreStats()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # One process owns the data dir (muster.lock), so the WAL index lives in this process's heap
        # (exclusive locking, set before the WAL is first opened) instead of a mapped -shm file: a
        # write to a mapping the disk refuses is a SIGBUS, not an error. mmap stays off for the same reason.
        self._conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        self._conn.execute("PRAGMA mmap_size=0")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA:
            self._conn.execute(statement)
        self._identity = _file_identity(path)  # the file this connection writes, as found at open
        with contextlib.suppress(OSError):  # left by a version that mapped it; unused now
            Path(f"{path}-shm").unlink()
        self.reserve = Reserve(path.parent / RESERVE_NAME)
        self._took_reserve()
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._uncheckpointed = 0  # commits since the last checkpoint the writer ran

    def load(self, table: str) -> Iterator[tuple[str, str, bytes]]:
        """Row by row: at start-up with 10,000 services, holding every body at once cost ~20 MiB of RSS
        that the allocator keeps afterwards."""
        cursor = self._conn.execute(f"SELECT ns, id, body FROM {table}")  # noqa: S608 - fixed names
        for ns, key, body in cursor:
            yield str(ns), str(key), _as_bytes(body)

    def get_meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="muster-store-writer", daemon=True)
        self._thread.start()

    async def commit(self, ops: Sequence[Op], on_commit: OnCommit) -> None:
        if not ops:
            on_commit()
            return
        assert self._loop is not None, "store not started"
        future: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((ops, future, on_commit))
        await future

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(OSError):
                total += Path(str(self.path) + suffix).stat().st_size
        return total

    def write_now(self, ops: Sequence[Op]) -> None:
        """Write synchronously; only at start-up, before the writer thread runs."""
        (error,) = self._commit_batch([ops])
        if error is not None:
            raise StoreError(f"Failed to persist the change: {error}")

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            errors = self._commit_batch([ops for ops, _, _ in batch])
            assert self._loop is not None
            self._loop.call_soon_threadsafe(_settle, batch, errors)
            if stop:
                return
            if self._uncheckpointed >= _CHECKPOINT_AFTER_COMMITS and self._queue.empty():
                self._checkpoint("PASSIVE")

    def _commit_batch(self, changes: list[Sequence[Op]]) -> list[str | None]:
        """Commit the changes in one transaction; on a full disk, commit those that free space on
        their own, with the reserve given back if they need it. One error (or None) per change."""
        refusal: str | None = FULL
        if self._took_reserve():
            refusal = self._write(op for ops in changes for op in ops)
            if refusal != FULL:
                return self._settled([refusal] * len(changes))
        errors: list[str | None] = [refusal] * len(changes)
        freeing = [n for n, ops in enumerate(changes) if frees_space(ops)]
        if freeing:
            error = self._write_freeing([op for n in freeing for op in changes[n]])
            for n in freeing:
                errors[n] = error
        return self._settled(errors)

    def _write_freeing(self, ops: list[Op]) -> str | None:
        error = self._write(ops)
        if error == FULL and self.reserve.release():
            self._checkpoint()
            error = self._write(ops)
        if error is None and not self.reserve.held:
            self._checkpoint()  # the WAL's pages go back to the file system, and the reserve with them
            self._took_reserve()
        return error

    def _took_reserve(self) -> bool:
        taken = self.reserve.take()
        self.stats.disk_full = self.reserve.full
        return taken

    def _checkpoint(self, mode: str = "TRUNCATE") -> None:
        self._uncheckpointed = 0
        try:
            self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.Error as exc:
            log.warning("store checkpoint failed: %s", exc)

    def _settled(self, errors: list[str | None]) -> list[str | None]:
        failed = [error for error in errors if error is not None]
        self.stats.failing = bool(failed)
        if failed:
            self.stats.errors += 1
            self.stats.last_error = failed[0]
            log.error("store write failed: %s", failed[0])
        return errors

    def _write(self, ops: Iterable[Op]) -> str | None:
        """One transaction: None, or SQLite's error text."""
        started = time.perf_counter()
        final: dict[tuple[str, str, str], Op] = {}
        count = 0
        for op in ops:  # within one transaction only each key's last change matters
            final[(op.table, op.namespace, op.key)] = op
            count += 1
        statements = list(_statements(final.values()))
        if _file_identity(self.path) != self._identity:
            # Removed or replaced under the agent (a data dir deleted, a restored backup copied over):
            # a commit would land in a file no start will read, so nothing is acknowledged.
            return f"{self.path} was removed or replaced while the agent ran: restart the agent"
        try:
            if len(statements) == 1:  # a statement on its own is a transaction: one hand-over, not three
                self._conn.execute(*statements[0])
            else:
                self._conn.execute("BEGIN IMMEDIATE")
                for sql, params in statements:
                    self._conn.execute(sql, params)
                self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            # Errors SQLite itself raised carry its code; the module's own (a closed connection) do not.
            code = getattr(exc, "sqlite_errorcode", 0)
            return FULL if code & 0xFF == _SQLITE_FULL else str(exc)
        self.stats.batches += 1
        self.stats.commits += 1
        self.stats.ops += count
        self.stats.last_commit_seconds = time.perf_counter() - started
        self._uncheckpointed += 1
        return None


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the database file, or None when there is none: one stat per batch."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _statements(ops: Iterable[Op]) -> Iterator[tuple[str, tuple[str | bytes, ...]]]:
    """A few multi-row statements instead of one per op: each statement hands the GIL to the event loop
    and must win it back (up to the 5 ms switch interval under load), so a batch of 16 registrations
    took 18 hand-overs, now 1. The ops touch distinct keys, so their order does not matter."""
    groups: dict[tuple[bool, str], list[Op]] = {}
    for op in ops:
        groups.setdefault((isinstance(op, Put), op.table), []).append(op)
    for (is_put, table), members in groups.items():
        for start in range(0, len(members), _ROWS_PER_STATEMENT):
            chunk = members[start : start + _ROWS_PER_STATEMENT]
            params: list[str | bytes] = []
            for op in chunk:
                params += (op.namespace, op.key, op.body) if isinstance(op, Put) else (op.namespace, op.key)
            yield _sql(is_put, table, len(chunk)), tuple(params)


@functools.lru_cache(maxsize=256)
def _sql(is_put: bool, table: str, rows: int) -> str:
    if is_put:
        values = ", ".join(["(?, ?, ?)"] * rows)
        return f"INSERT OR REPLACE INTO {table} (ns, id, body) VALUES {values}"  # noqa: S608 - fixed names
    # OR of equalities, not a row-value IN: SQLite searches the primary key for each, instead of a scan
    keys = " OR ".join(["(ns = ? AND id = ?)"] * rows)
    return f"DELETE FROM {table} WHERE {keys}"  # noqa: S608 - fixed names


def _settle(batch: list[_Pending], errors: list[str | None]) -> None:
    for (_, future, on_commit), error in zip(batch, errors, strict=True):
        if error is None:
            try:
                on_commit()
            except Exception:
                log.exception("applying a committed change failed")
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(StoreError(f"Failed to persist the change: {error}"))
