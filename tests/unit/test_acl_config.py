"""The `acl { ... }` section and Consul's deprecated spellings."""

from __future__ import annotations

import pytest

from muster.acl.config import ACLConfig, ACLTokens, acl_config
from muster.errors import ConfigError


def test_defaults_are_consuls() -> None:
    assert ACLConfig(False, "allow", False, ACLTokens()) == acl_config({})


def test_the_section_with_current_names() -> None:
    parsed = acl_config(
        {
            "enabled": True,
            "default_policy": "deny",
            "enable_token_persistence": True,
            "down_policy": "extend-cache",
            "tokens": {"initial_management": "root", "agent_recovery": "rec", "default": "d", "agent": "a"},
        }
    )
    assert ACLConfig(True, "deny", True, ACLTokens("root", "rec", "d", "a")) == parsed
    assert not parsed.default_allow


def test_legacy_master_names_map_to_the_new_ones() -> None:
    parsed = acl_config({"enabled": True, "tokens": {"master": "root", "agent_master": "rec"}})
    assert ("root", "rec") == (parsed.tokens.initial_management, parsed.tokens.agent_recovery)


def test_deprecated_top_level_keys_apply_and_the_section_wins() -> None:
    top = {"acl_datacenter": "dc1", "acl_master_token": "old", "acl_default_policy": "deny", "acl_token": "t"}
    parsed = acl_config({"tokens": {"initial_management": "new"}}, top)
    assert (True, "deny", "new", "t") == (
        parsed.enabled,
        parsed.default_policy,
        parsed.tokens.initial_management,
        parsed.tokens.default,
    )


@pytest.mark.parametrize(
    ("section", "text"),
    [
        ({"default_policy": "maybe"}, '"acl.default_policy" must be "allow" or "deny", not "maybe"'),
        ({"enabled": "yes"}, '"acl.enabled" must be a boolean'),
        ({"tokens": {"root": "x"}}, 'unknown configuration key "acl.tokens.root"'),
        ({"tokenz": {}}, 'unknown configuration key "acl.tokenz"'),
        ({"tokens": {"default": 5}}, '"acl.tokens.default" must be a string'),
    ],
)
def test_bad_values_name_the_key(section: dict[str, object], text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        acl_config(section)
    assert text == str(caught.value)
