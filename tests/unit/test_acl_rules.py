"""The ACL rule language: HCL and JSON forms, Consul's validation order and texts."""

from __future__ import annotations

import json

import pytest

from muster.acl.policies import GLOBAL_MANAGEMENT_RULES
from muster.acl.rules import NamespaceRules, PolicyRules, Rule, RulesError, parse_rules


def test_hcl_blocks_scalars_and_comments_parse() -> None:
    rules = parse_rules(
        """
        # a comment
        service "web" { policy = "read" }   // another
        service_prefix "" {
          policy = "write"
          intentions = "read"
        }
        /* block comment */
        node "n1" { policy = "deny" }
        agent_prefix "" { policy = "read" }
        acl = "write"
        operator = "read"
        """
    )
    assert (
        Rule("service", "web", False, "read"),
        Rule("service", "", True, "write", "read"),
        Rule("node", "n1", False, "deny"),
        Rule("agent", "", True, "read"),
    ) == rules.rules
    assert (("acl", "write"), ("operator", "read")) == rules.scalars


def test_json_rules_as_py_consul_sends_them_parse_like_hcl() -> None:
    as_json = json.dumps(
        {"service": {"web": {"policy": "write"}}, "service_prefix": {"": {"policy": "read"}}}
    )
    as_hcl = 'service "web" { policy = "write" }\nservice_prefix "" { policy = "read" }'
    assert parse_rules(as_hcl) == parse_rules(as_json)


def test_json_list_form_and_nested_hcl_form_are_accepted() -> None:
    from_list = parse_rules('{"node_prefix": [{"": {"policy": "read"}}, {"db-": {"policy": "write"}}]}')
    nested = parse_rules('node_prefix { "" { policy = "read" } "db-" { policy = "write" } }')
    expected = (Rule("node", "", True, "read"), Rule("node", "db-", True, "write"))
    assert expected == from_list.rules
    assert expected == nested.rules


def test_several_attributes_on_one_line_parse() -> None:
    rules = parse_rules('service "web" { policy = "read" intentions = "deny" }')
    assert (Rule("service", "web", False, "read", "deny"),) == rules.rules


def test_access_is_case_insensitive_as_in_consul() -> None:
    rules = parse_rules('service "web" { policy = "WRITE" }\nacl = "Read"')
    assert "write" == rules.rules[0].level
    assert ("acl", "Read") == rules.scalars[0]


def test_key_rules_may_say_list_and_others_may_not() -> None:
    assert "list" == parse_rules('key_prefix "" { policy = "list" }').rules[0].level
    with pytest.raises(RulesError) as caught:
        parse_rules('node "x" { policy = "list" }')
    assert (
        'Invalid node policy: &acl.NodeRule{Name:"x", Policy:"list", EnterpriseRule:acl.EnterpriseRule{}}'
        == (caught.value.text)
    )


@pytest.mark.parametrize(
    ("rules", "text"),
    [
        (
            'service "web" { policy = "nope" }',
            'Invalid service policy: &acl.ServiceRule{Name:"web", Policy:"nope", Intentions:"", '
            "EnterpriseRule:acl.EnterpriseRule{}}",
        ),
        (
            'service_prefix "" { policy = "read" intentions = "x" }',
            'Invalid service_prefix intentions policy: &acl.ServiceRule{Name:"", Policy:"read", '
            'Intentions:"x", EnterpriseRule:acl.EnterpriseRule{}}',
        ),
        ('agent "a" { policy = "admin" }', 'Invalid agent policy: &acl.AgentRule{Node:"a", Policy:"admin"}'),
        ('agent_prefix "" { }', 'Invalid agent_prefix policy: &acl.AgentRule{Node:"", Policy:""}'),
        ('acl = "nope"', 'Invalid acl policy: "nope"'),
        ('operator = "nope"', 'Invalid operator policy: "nope"'),
        ('mesh = "nope"', 'Invalid mesh policy: "nope"'),
        ('peering = "nope"', 'Invalid peering policy: "nope"'),
        ('keyring = "nope"', 'Invalid keyring policy: "nope"'),
        (
            'query "q" { policy = "x" }',
            'Invalid query policy: &acl.PreparedQueryRule{Prefix:"q", Policy:"x"}',
        ),
    ],
)
def test_invalid_policies_have_consuls_texts(rules: str, text: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(rules)
    assert text == caught.value.text


def test_validation_follows_consuls_order_acl_before_services() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules('service "web" { policy = "bad" }\nacl = "bad"')
    assert 'Invalid acl policy: "bad"' == caught.value.text


@pytest.mark.parametrize(
    ("rules", "text"),
    [
        ('service "web" {', "Failed to parse ACL rules: At 1:16: expected: IDENT | STRING got: EOF"),
        ("@", 'Failed to parse ACL rules: At 1:1: illegal char "@"'),
        (
            'service "web"\n  x',
            "Failed to parse ACL rules: At 2:4: key \"x\" expected start of object ('{') or assignment ('=')",
        ),
        ('{"service": ', "Failed to parse ACL rules: At 1:13: Expecting value"),
        ('acl = "unterminated', "Failed to parse ACL rules: At 1:7: literal not terminated"),
    ],
)
def test_syntax_errors_say_where(rules: str, text: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(rules)
    assert text == caught.value.text


def test_an_argument_set_twice_is_refused() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules('service "web" {\n  policy = "read"\n  policy = "write"\n}')
    assert (
        'Failed to parse ACL rules: The argument "policy" at 3:3 was already set. '
        "Each argument can only be defined once"
    ) == caught.value.text


def test_repeated_blocks_are_kept_for_merging() -> None:
    rules = parse_rules('service "web" { policy = "read" }\nservice "web" { policy = "deny" }')
    assert 2 == len(rules.rules)


def test_unknown_and_out_of_scope_keys_are_accepted_and_ignored() -> None:
    rules = parse_rules(
        'key_prefix "" { policy = "read" }\n'
        'session "n" { policy = "write" }\n'
        'event_prefix "" { policy = "read" }\n'
        'identity_prefix "" { policy = "read" }\n'
        'something_new = "x"\n'
        'service "web" { policy = "read" sentinel { } }'
    )
    assert ["key", "session", "event", "service"] == [rule.resource for rule in rules.rules]


def test_empty_rules_grant_nothing() -> None:
    assert PolicyRules() == parse_rules("  \n")


def test_enterprise_namespace_blocks_parse_and_validate() -> None:
    rules = parse_rules('namespace "team" { service_prefix "" { policy = "write" } }')
    assert (
        NamespaceRules("team", False, PolicyRules((Rule("service", "", True, "write"),))),
    ) == rules.namespaces
    with pytest.raises(RulesError, match="Invalid service_prefix policy"):
        parse_rules('namespace_prefix "" { service_prefix "" { policy = "bad" } }')


def test_the_default_partition_is_plain_rules_and_others_never_apply() -> None:
    rules = parse_rules(
        'partition "default" { node "n" { policy = "read" } }\n'
        'partition "other" { node "m" { policy = "write" } }'
    )
    assert (Rule("node", "n", False, "read"),) == rules.rules


def test_a_scalar_must_be_a_string() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules('acl { policy = "write" }')
    assert 'Failed to parse ACL rules: At 1:1: "acl" must be a string' == caught.value.text


def test_the_builtin_global_management_rules_parse() -> None:
    rules = parse_rules(GLOBAL_MANAGEMENT_RULES)
    assert {"acl", "keyring", "operator", "mesh", "peering"} == {name for name, _ in rules.scalars}
    assert all(rule.prefix and rule.name == "" and rule.level == "write" for rule in rules.rules)
