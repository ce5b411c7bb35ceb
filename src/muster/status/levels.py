"""Detail levels, service states and their aggregation, and the strict integer parsing and number
formatting of trapperkeeper-status's messages (spec §2, §3, §4)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from enum import StrEnum


class Level(StrEnum):
    CRITICAL = "critical"
    INFO = "info"
    DEBUG = "debug"


class State(StrEnum):
    RUNNING = "running"
    ERROR = "error"
    STARTING = "starting"
    STOPPING = "stopping"
    UNKNOWN = "unknown"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


_LEVEL_INT: dict[str, int] = {Level.CRITICAL: 0, Level.INFO: 1, Level.DEBUG: 2}
# Seconds a callback may take when the request gives no `timeout` (critical was 5 before 0.5.0).
DEFAULT_TIMEOUTS = {Level.CRITICAL: 30, Level.INFO: 60, Level.DEBUG: 60}
# The first state present wins; error beats everything, unknown beats stopping and starting (§2).
AGGREGATE_ORDER = (State.ERROR, State.UNKNOWN, State.STOPPING, State.STARTING, State.RUNNING)

_JAVA_INT = re.compile(r"[+-]?[0-9]+")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

# Comparison operators for `compare_levels`, by the names callback authors know from Clojure.
LT, LE, EQ, GE, GT = operator.lt, operator.le, operator.eq, operator.ge, operator.gt


def to_level(level: str) -> Level:
    """The level named exactly (case-sensitive); otherwise a ValueError with the original's text,
    colon included: the original turns the value into a Clojure keyword before printing it."""
    try:
        return Level(level)
    except ValueError:
        raise ValueError(f"Invalid level: :{level}") from None


def level_to_int(level: str) -> int:
    """critical=0, info=1, debug=2."""
    rank = _LEVEL_INT.get(level)  # str and Level hash alike; this runs on every status call
    return rank if rank is not None else _LEVEL_INT[to_level(level)]


def compare_levels(op: Callable[[int, int], bool], a: str, b: str) -> bool:
    """`compare_levels(GE, level, "info")`: the test callbacks use to build their output additively."""
    return op(level_to_int(a), level_to_int(b))


def aggregate_state(states: Iterable[str]) -> State:
    """The rollup state of a set of service states; `unknown` when there are none (the empty-registry
    quirk of §2, unreachable in practice because `status-service` always registers itself)."""
    present = states if isinstance(states, set | frozenset) else set(states)
    if len(present) == 1 and State.RUNNING in present:  # the answer to nearly every poll
        return State.RUNNING
    for state in AGGREGATE_ORDER:
        if state in present:
            return state
    return State.UNKNOWN


def all_running(states: Iterable[str]) -> bool:
    """The rollup's 200: every state `running`, vacuously true of none (§2)."""
    present = states if isinstance(states, set | frozenset) else set(states)
    return not present or (len(present) == 1 and State.RUNNING in present)


def parse_java_int(raw: str) -> int | None:
    """Java's Integer.parseInt: optional sign, ASCII digits, 32-bit range; Python's int() accepts
    spaces, underscores and unbounded values, which the original rejects (§7 trap 11)."""
    if not _JAVA_INT.fullmatch(raw):
        return None
    value = int(raw)
    return value if _INT_MIN <= value <= _INT_MAX else None


def format_int(value: int) -> str:
    """java.text.MessageFormat in locale `en` groups integer arguments: 1000 reads `1,000` (§4)."""
    return f"{value:,}"
