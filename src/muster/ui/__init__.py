"""The web UI: static assets served by the agent at `ui_config.content_path` (Consul's `-ui`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from muster.errors import ConfigError


@dataclass(frozen=True)
class UIConfig:
    enabled: bool = False
    content_path: str = "/ui/"


def ui_config(merged: Mapping[str, Any], flags: Mapping[str, Any], dev: bool) -> UIConfig:
    block = merged.get("ui_config", {})
    enabled = flags.get("ui")
    if enabled is None:
        enabled = block.get("enabled", dev)  # as Consul: -dev turns the UI on
    path = flags.get("ui_content_path") or block.get("content_path", "/ui/")
    if not path.startswith("/"):
        raise ConfigError('"ui_config.content_path" must start with "/"')
    return UIConfig(enabled=bool(enabled), content_path=path.rstrip("/") + "/")
