"""Typed readers for config values that Consul writes as Go durations or strings, shared by the
section builders (`dns_config`, `catalog`, `etcd`, ...)."""

from __future__ import annotations

from typing import Any

from muster.errors import ConfigError
from muster.golang import parse_duration


def seconds(key: str, value: Any) -> float:
    """A Go duration string ("10s", "72h") or a number of seconds, as seconds."""
    if isinstance(value, bool):
        raise ConfigError(f'"{key}" must be a duration such as "10s"')
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_duration(str(value)) / 1e9
    except ValueError:
        raise ConfigError(f'"{key}": invalid duration {value!r} (use a Go duration such as "10s")') from None


def strings(key: str, value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise ConfigError(f'"{key}" must be a list of strings')
    return tuple(items)


def listen_port(key: str, flag: str, value: Any) -> int:
    """A port to listen on: -1 turns the listener off, 0 picks a free port, else 1-65535. `flag` names
    the value when it came from a flag ("" when from a config file)."""
    if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= 65535:
        where = flag or f'"{key}"'
        raise ConfigError(
            f"{where} must be -1 (off), 0 (a free port) or a port from 1 to 65535, not {value!r}"
        )
    return value
