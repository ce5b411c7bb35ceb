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


Probe = Callable[[], Awaitable[CheckResult]]
ProbeFactory = Callable[[CheckDefinition, ProbeContext], Probe]


def output_cap(definition: CheckDefinition, agent_cap: int) -> int:
    """The agent cap, or the check's own OutputMaxSize when that is set and smaller."""
    if 0 < definition.output_max_size < agent_cap:
        return definition.output_max_size
    return agent_cap


def timeout_seconds(definition: CheckDefinition, default_ns: int = DEFAULT_TIMEOUT_NS) -> float:
    return (definition.timeout if definition.timeout > 0 else default_ns) / SECOND


def keep_tail(data: bytes, cap: int) -> bytes:
    """HTTP bodies keep their last `cap` bytes."""
    return data[-cap:] if len(data) > cap else data


def script_output(data: bytes, cap: int) -> str:
    """Script output keeps its tail, prefixed `Captured <kept> of <total> bytes\\n...\\n` when cut."""
    if len(data) <= cap:
        return data.decode(errors="replace")
    kept = data[-cap:]
    return f"Captured {len(kept)} of {len(data)} bytes\n...\n" + kept.decode(errors="replace")


def ttl_output(text: str, cap: int) -> str:
    """TTL updates keep the head: `<first cap bytes> ... (captured <cap> of <len> bytes)`."""
    data = text.encode()
    if len(data) <= cap:
        return text
    return data[:cap].decode(errors="replace") + f" ... (captured {cap} of {len(data)} bytes)"
