"""What every check kind shares: the result type, the probe signature, per-kind default timeouts,
and Consul's output truncation rules (§3.4, §3.5). A probe never raises: a failure is a status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import aiohttp

from muster.models import CheckDefinition

SECOND = 1_000_000_000
DEFAULT_TIMEOUT_NS = 10 * SECOND  # HTTP, TCP, UDP, gRPC, H2PING
DEFAULT_SCRIPT_TIMEOUT_NS = 30 * SECOND
MIN_INTERVAL_NS = SECOND


class CheckResult(NamedTuple):
    status: str  # passing | warning | critical
    output: str


@dataclass
class ProbeContext:
    """Shared resources handed to probes; built once by the check runner."""

    http_session: aiohttp.ClientSession | None
    script_pool: ThreadPoolExecutor
    output_max_size: int  # the agent's check_output_max_size
    # Whether a check of this source ("remote", "local") may run scripts now: asked each time a probe
    # is built, so scripts turned off by a reload or at start-up are never run.
    scripts_allowed: Callable[[str], bool]


Probe = Callable[[], Awaitable[CheckResult]]
ProbeFactory = Callable[[CheckDefinition, ProbeContext], Probe]


def output_cap(definition: CheckDefinition, agent_cap: int) -> int:
    """The agent cap, or the check's own OutputMaxSize when that is set and smaller."""
    if 0 < definition.output_max_size < agent_cap:
        return definition.output_max_size
    return agent_cap


# Timers and deadlines are capped here, not in the definition (which shows what was asked for):
# selectors overflow past ~2^31 s and gRPC's deadlines past the year 2262, and a year is forever to a check.
MAX_TIMEOUT_SECONDS = 365 * 24 * 3600.0


def timeout_seconds(definition: CheckDefinition, default_ns: int = DEFAULT_TIMEOUT_NS) -> float:
    return min((definition.timeout if definition.timeout > 0 else default_ns) / SECOND, MAX_TIMEOUT_SECONDS)


def script_text(kept: bytes, total: int) -> str:
    """Script output keeps its tail, prefixed `Captured <kept> of <total> bytes\\n...\\n` when cut."""
    text = kept.decode(errors="replace")
    if total <= len(kept):
        return text
    return f"Captured {len(kept)} of {total} bytes\n...\n" + text


class TailBuffer:
    """Consul's circbuf: keeps the last `cap` bytes written and counts them all."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.kept = bytearray()
        self.total = 0

    def write(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if len(chunk) >= self.cap:
            self.kept[:] = chunk[len(chunk) - self.cap :]
            return
        self.kept += chunk
        excess = len(self.kept) - self.cap
        if excess > 0:
            del self.kept[:excess]

    def text(self) -> str:
        """The tail, prefixed `Captured <kept> of <total> bytes\\n...\\n` when output was cut."""
        return script_text(bytes(self.kept), self.total)


def ttl_output(text: str, cap: int) -> str:
    """TTL updates keep the head: `<first cap bytes> ... (captured <cap> of <len> bytes)`."""
    data = text.encode()
    if len(data) <= cap:
        return text
    return data[:cap].decode(errors="replace") + f" ... (captured {cap} of {len(data)} bytes)"
