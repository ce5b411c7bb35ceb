"""The `acl { ... }` configuration section, as Consul reads it (agent/config): enabled, default_policy,
enable_token_persistence and the agent's tokens, with the deprecated spellings Consul still translates
(`tokens.master`, `tokens.agent_master`, and the top-level `acl_*` keys)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from muster.errors import ConfigError

# /v1/agent/token/<kind>: every spelling Consul accepts -> the canonical kind.
TOKEN_KINDS = {
    "default": "default",
    "acl_token": "default",
    "agent": "agent",
    "acl_agent_token": "agent",
    "agent_recovery": "agent_recovery",
    "agent_master": "agent_recovery",
    "acl_agent_master_token": "agent_recovery",
    "replication": "replication",
    "acl_replication_token": "replication",
    "config_file_service_registration": "config_file_service_registration",
    "dns": "dns",
}
_TOKEN_KEYS = {
    "initial_management": "initial_management",
    "master": "initial_management",
    "agent_recovery": "agent_recovery",
    "agent_master": "agent_recovery",
    "default": "default",
    "agent": "agent",
    "replication": "replication",
    "config_file_service_registration": "config_file_service_registration",
    "dns": "dns",
}
# Accepted for compatibility and without effect on a single agent (token caching, replication).
_IGNORED_KEYS = frozenset(
    {
        "down_policy",
        "token_ttl",
        "policy_ttl",
        "role_ttl",
        "enable_key_list_policy",
        "enable_token_replication",
    }
)
# Deprecated top-level keys -> (acl key, tokens key).
_LEGACY_TOP = {
    "acl_default_policy": ("default_policy", ""),
    "acl_down_policy": ("down_policy", ""),
    "acl_master_token": ("", "initial_management"),
    "acl_token": ("", "default"),
    "acl_agent_token": ("", "agent"),
    "acl_agent_master_token": ("", "agent_recovery"),
    "acl_replication_token": ("", "replication"),
}
LEGACY_TOP_KEYS = frozenset({*_LEGACY_TOP, "acl_datacenter", "acl_ttl", "acl_enforce_version_8"})


@dataclass(frozen=True)
class ACLTokens:
    initial_management: str = ""
    agent_recovery: str = ""
    default: str = ""
    agent: str = ""
    replication: str = ""
    config_file_service_registration: str = ""
    dns: str = ""

    def get(self, kind: str) -> str:
        return str(getattr(self, kind, ""))


@dataclass(frozen=True)
class ACLConfig:
    enabled: bool = False
    default_policy: str = "allow"
    enable_token_persistence: bool = False
    tokens: ACLTokens = field(default_factory=ACLTokens)

    @property
    def default_allow(self) -> bool:
        return self.default_policy == "allow"


def _string(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f'"{where}" must be a string')
    return value


def _bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f'"{where}" must be a boolean')
    return value


def acl_config(section: Mapping[str, Any], top_level: Mapping[str, Any] | None = None) -> ACLConfig:
    """Build ACLConfig from the merged `acl` section and the deprecated top-level `acl_*` keys.

    The `acl` section wins over the deprecated keys, as Consul applies them first and overrides them.
    A set `acl_datacenter` enables ACLs, as it did before `acl.enabled` existed.
    """
    legacy = dict(top_level or {})
    enabled = bool(legacy.get("acl_datacenter"))
    default_policy = "allow"
    persistence = False
    tokens: dict[str, str] = {}
    for key, (acl_key, token_key) in _LEGACY_TOP.items():
        if key in legacy:
            value = _string(key, legacy[key])
            if acl_key == "default_policy":
                default_policy = value
            elif token_key:
                tokens[token_key] = value
    for key, value in section.items():
        if key == "enabled":
            enabled = _bool("acl.enabled", value)
        elif key == "default_policy":
            default_policy = _string("acl.default_policy", value)
        elif key == "enable_token_persistence":
            persistence = _bool("acl.enable_token_persistence", value)
        elif key == "tokens":
            if not isinstance(value, Mapping):
                raise ConfigError('"acl.tokens" must be an object')
            for name, secret in value.items():
                canonical = _TOKEN_KEYS.get(name)
                if canonical is None:
                    raise ConfigError(f'unknown configuration key "acl.tokens.{name}"')
                tokens[canonical] = _string(f"acl.tokens.{name}", secret)
        elif key not in _IGNORED_KEYS:
            raise ConfigError(f'unknown configuration key "acl.{key}"')
    if default_policy not in ("allow", "deny"):
        raise ConfigError(f'"acl.default_policy" must be "allow" or "deny", not "{default_policy}"')
    return ACLConfig(enabled, default_policy, persistence, ACLTokens(**tokens))
