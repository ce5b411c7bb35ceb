"""Short garbage-collection pauses for a long-lived heap. A full (generation 2) collection scans every
tracked object: with thousands of services that stopped the event loop and the store's writer for
100-300 ms, and those pauses alone set the write path's p99 (bench/README.md). Survivors of each full
collection are frozen (out of the collector's view), so the next one scans only what is newer. Objects
still die by reference count as before; only cyclic garbage among frozen objects waits, and every
`thaw_seconds` everything is thawed and collected once, which bounds it."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

log = logging.getLogger("muster.agent")
THAW_SECONDS = 600.0


class FrozenSurvivors:
    def __init__(self, loop: asyncio.AbstractEventLoop, thaw_seconds: float = THAW_SECONDS) -> None:
        self._loop = loop
        self._thaw_seconds = thaw_seconds
        self._timer: asyncio.TimerHandle | None = None
        self.thaws = 0

    def start(self) -> None:
        """After start-up's allocations: collect once, then freeze what lives."""
        gc.collect()
        gc.freeze()
        gc.callbacks.append(self._after_collection)
        self._timer = self._loop.call_later(self._thaw_seconds, self._thaw)

    def stop(self) -> None:
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        gc.unfreeze()

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            gc.freeze()

    def _thaw(self) -> None:
        frozen = gc.get_freeze_count()
        gc.unfreeze()
        freed = gc.collect()  # frees cyclic garbage that was frozen; the callback freezes the rest
        self.thaws += 1
        log.debug("garbage collector: thawed %d objects, %d unreachable freed", frozen, freed)
        self._timer = self._loop.call_later(self._thaw_seconds, self._thaw)
