"""A status callback's answer, checked as strictly as the original's closed Prismatic schema, and the
`unknown` answers that stand in for a callback that timed out, raised or returned something malformed
(spec §4 "Guarded callback call")."""

from __future__ import annotations

import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import msgspec

from muster.status.levels import Severity, State, format_int

_encode = msgspec.json.Encoder().encode
_REQUIRED = ("state", "status")
_ALLOWED = frozenset(("state", "status", "alerts"))
_STATES = frozenset(State)
_STATE_OF: dict[str, State] = {state.value: state for state in State}
_SEVERITIES = frozenset(Severity)
_STATE_SET = "#{:running :error :starting :stopping :unknown}"
_SEVERITY_SET = "#{:error :warning :info}"


@dataclass(slots=True)  # not frozen: built on every status call, and frozen __init__ costs 3x
class CallbackResult:
    """A guarded callback's answer: `status` is also kept encoded, once, for the HTTP body."""

    state: State
    status: Any
    status_json: bytes
    alerts: tuple[dict[str, str], ...] | None = None  # None: the callback gave no `alerts` key

    def raw(self) -> dict[str, Any]:
        """What `get_status` returns: state, status, and alerts only if the callback supplied them."""
        out: dict[str, Any] = {"state": self.state, "status": self.status}
        if self.alerts is not None:
            out["alerts"] = [dict(alert) for alert in self.alerts]
        return out


def unknown(status: str) -> CallbackResult:
    return CallbackResult(State.UNKNOWN, status, _encode(status))


def timed_out(seconds: int) -> CallbackResult:
    return unknown(f"Status check timed out after {format_int(seconds)} seconds")


def threw(name: str, exc: BaseException) -> CallbackResult:
    # Python's own one-line rendering ("RuntimeError: don't") stands for Java's toString.
    described = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return unknown(f"Status check for {name} threw an exception: {described}")


def malformed(name: str, explanation: str) -> CallbackResult:
    return unknown(f"Status check response for {name} malformed: {explanation}")


def check_response(name: str, value: object) -> CallbackResult:
    """Accept exactly {state, status[, alerts]}; anything else is `unknown`, as in the original.

    Enums are normalised to their lowercase value (§7 trap 16). A `status` that cannot be encoded as
    JSON is reported as malformed here rather than failing the response with a 500 (a deliberate
    deviation, spec §4).
    """
    if type(value) is dict and len(value) == 2:  # the common answer, checked without the ABC machinery
        state = value.get("state")
        if type(state) is str or type(state) is State:
            known = _STATE_OF.get(state)
            if known is not None and "status" in value:
                status = value["status"]
                try:
                    return CallbackResult(known, status, _encode(status))
                except (TypeError, ValueError, OverflowError, msgspec.EncodeError):
                    pass  # the full check below explains it
    if not isinstance(value, Mapping):
        return malformed(name, f"(not (map? {_edn(value)}))")
    problems: dict[str, str] = {}
    for key in value:
        if key not in _ALLOWED:
            problems[_edn_key(key)] = "disallowed-key"
    for key in _REQUIRED:
        if key not in value:
            problems[key] = "missing-required-key"
    state = _normalise(value.get("state"))
    if "state" in value and not (isinstance(state, str) and state in _STATES):
        problems["state"] = f"(not ({_STATE_SET} {_edn(value['state'])}))"
    alerts: tuple[dict[str, str], ...] | None = None
    if "alerts" in value:
        alerts = _check_alerts(value["alerts"])
        if alerts is None:
            problems["alerts"] = f"(not (valid-alerts? {_edn(value['alerts'])}))"
    status = value.get("status")
    status_json = b""
    if "status" in value:
        try:
            status_json = _encode(status)
        except (TypeError, ValueError, OverflowError, msgspec.EncodeError):
            problems["status"] = f"(not (json-serialisable? {_edn(status)}))"
    if problems:
        return malformed(name, "{" + ", ".join(f":{k} {v}" for k, v in problems.items()) + "}")
    return CallbackResult(_STATE_OF[str(state)], status, status_json, alerts)


def _check_alerts(value: object) -> tuple[dict[str, str], ...] | None:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return None
    alerts = []
    for alert in value:
        if not isinstance(alert, Mapping) or set(alert) != {"severity", "message"}:
            return None
        severity, message = _normalise(alert["severity"]), alert["message"]
        if not (isinstance(severity, str) and severity in _SEVERITIES) or not isinstance(message, str):
            return None
        alerts.append({"severity": severity, "message": message})
    return tuple(alerts)


def _normalise(value: object) -> object:
    if isinstance(value, Enum):
        inner = value.value if isinstance(value.value, str) else value.name
        return inner.lower()
    return value


def _edn(value: object) -> str:
    """A value as the original's schema explanations print it (nil, "strings", numbers), roughly."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _encode(value).decode()
    if isinstance(value, int | float):
        return repr(value)
    return _clip(repr(value))


def _edn_key(key: object) -> str:
    return key if isinstance(key, str) else _edn(key)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
