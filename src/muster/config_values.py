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
