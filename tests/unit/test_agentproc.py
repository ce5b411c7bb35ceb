"""The e2e harness itself: its start-up deadline fires even when the process prints nothing."""

from __future__ import annotations

import sys
import time

import pytest

from tests.agentproc import AgentProcess


class _Silent(AgentProcess):
    def command(self) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_process_that_never_prints_fails_at_the_deadline() -> None:
    proc = _Silent(dev=True)
    proc.startup_timeout = 0.5
    started = time.monotonic()

    with pytest.raises(RuntimeError, match=r"did not start within 0.5 s"):
        proc.start()

    assert time.monotonic() - started < 5
    assert proc.proc is not None
    assert proc.proc.poll() is not None  # killed, not left behind
