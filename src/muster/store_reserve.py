"""The store's reserve: a preallocated file beside the database that is given back when the disk is full,
so that deletions can still commit (SQLite needs free space even to delete)."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("muster.store")

RESERVE_NAME = "muster.reserve"
RESERVE_BYTES = 4 << 20  # ~1,000 WAL frames: room for deletions and a checkpoint on a full disk


class Reserve:
    """A preallocated file beside the database (`muster.reserve`). When the disk is full it is given
    back so that deletions can still commit (SQLite needs free space even to delete), and it is taken
    again before anything else is written: while it cannot be, only changes that free space are made."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size
        self.held = False
        self.full = False  # the last attempt to take it failed for lack of space
        self._retry_at = 0.0  # after a failure other than ENOSPC (an immutable or read-only dir)

    def take(self) -> bool:
        """Hold the reserve; False only when the file system has no room for it."""
        if self.held or time.monotonic() < self._retry_at:
            return True
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.size)
            finally:
                os.close(fd)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                log.warning("cannot keep the store's reserve %s: %s", self.path, exc.strerror)
                self._retry_at = time.monotonic() + 10
                return True
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.full = True
            return False
        self.held, self.full = True, False
        return True

    def release(self) -> bool:
        """Give the space back; False when there was none held or it cannot be removed."""
        if not self.held:
            return False
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("cannot release the store's reserve %s: %s", self.path, exc.strerror)
            return False
        self.held = False
        log.warning("the data dir's disk is full: released %s for deletions", self.path)
        return True
