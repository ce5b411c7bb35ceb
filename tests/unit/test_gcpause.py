"""FrozenSurvivors: survivors of a full collection leave the collector's view; a thaw frees cyclic
garbage that was frozen; stop gives everything back."""

from __future__ import annotations

import asyncio
import gc
import weakref


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_survivors_are_frozen_and_a_thaw_frees_frozen_cycles() -> None:
    from muster.gcpause import FrozenSurvivors

    async def scenario() -> tuple[bool, bool, bool, int]:
        collector = FrozenSurvivors(asyncio.get_running_loop(), thaw_seconds=0.05)
        collector.start()
        try:
            node = _Node()
            alive = weakref.ref(node)
            gc.collect()  # a full collection: the callback freezes its survivors, node among them
            frozen_after_full = gc.get_freeze_count() > 0
            del node
            gc.collect()
            still_there = alive() is not None  # frozen: the collector does not see the cycle
            await asyncio.sleep(0.2)  # a thaw has run: thawed, collected, the cycle freed
            return frozen_after_full, still_there, alive() is None, collector.thaws
        finally:
            collector.stop()

    frozen, kept_while_frozen, freed_by_thaw, thaws = asyncio.run(scenario())

    assert (True, True, True) == (frozen, kept_while_frozen, freed_by_thaw)
    assert thaws >= 1
    assert 0 == gc.get_freeze_count()
