"""Authorizer decisions: specificity, merge precedence, defaults, namespaces, and the 403 texts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from muster.acl.authorizer import (
    ANONYMOUS_ACCESSOR,
    Authorizer,
    allow_all,
    compile_rules,
    permission_denied,
)
from muster.acl.policies import GLOBAL_MANAGEMENT_RULES
from muster.acl.rules import PolicyRules, Rule, parse_rules
from muster.errors import Forbidden

ACCESSOR = "d3b5a1c0-0000-4000-8000-000000000001"


def authz(*rules: str, default_allow: bool = False, namespace: str = "default") -> Authorizer:
    return Authorizer(
        accessor_id=ACCESSOR,
        namespace=namespace,
        default_allow=default_allow,
        has_token=True,
        home=[parse_rules(text) for text in rules],
    )


def test_exact_rule_beats_any_prefix() -> None:
    a = authz('service_prefix "" { policy = "write" }\nservice "web" { policy = "read" }')
    assert a.allowed("service", "web", "read")
    assert not a.allowed("service", "web", "write")
    assert a.allowed("service", "web2", "write")


def test_longer_prefix_beats_shorter() -> None:
    a = authz('service_prefix "" { policy = "deny" }\nservice_prefix "api-" { policy = "write" }')
    assert a.allowed("service", "api-users", "write")
    assert not a.allowed("service", "apis", "read")


def test_no_match_falls_to_the_default_policy() -> None:
    rules = 'service "web" { policy = "write" }'
    assert not authz(rules).allowed("service", "db", "read")
    assert authz(rules, default_allow=True).allowed("service", "db", "write")


def test_write_implies_read_and_a_matched_read_rule_refuses_write_even_under_default_allow() -> None:
    a = authz('service "web" { policy = "read" }\nservice "api" { policy = "write" }', default_allow=True)
    assert a.allowed("service", "api", "read")
    assert not a.allowed("service", "web", "write")


def test_deny_is_final_even_under_default_allow() -> None:
    a = authz('node "n1" { policy = "deny" }', default_allow=True)
    assert not a.allowed("node", "n1", "read")


def test_list_grants_list_and_read_but_not_write() -> None:
    a = authz('key_prefix "app/" { policy = "list" }')
    assert a.allowed("key", "app/x", "list")
    assert a.allowed("key", "app/x", "read")
    assert not a.allowed("key", "app/x", "write")


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("read", "write", "write"),
        ("write", "deny", "deny"),
        ("deny", "read", "deny"),
        ("read", "list", "list"),
    ],
)
def test_merging_policies_deny_beats_write_beats_list_beats_read(
    first: str, second: str, expected: str
) -> None:
    merged = compile_rules(
        [parse_rules(f'key "k" {{ policy = "{first}" }}'), parse_rules(f'key "k" {{ policy = "{second}" }}')]
    )
    assert expected == merged.access("key", "k")


def test_merge_is_per_name_and_kind_so_a_prefix_does_not_override_an_exact_rule() -> None:
    a = authz('service "web" { policy = "read" }', 'service_prefix "w" { policy = "deny" }')
    assert a.allowed("service", "web", "read")
    assert not a.allowed("service", "wx", "read")


def test_scalar_rules_and_mesh_falls_back_to_operator() -> None:
    a = authz('acl = "read"\noperator = "write"')
    assert a.allowed("acl", level="read")
    assert not a.allowed("acl", level="write")
    assert a.allowed("mesh", level="write")
    assert not authz('operator = "write"\nmesh = "read"').allowed("mesh", level="write")


def test_global_management_allows_everything_in_every_namespace() -> None:
    manager = Authorizer(
        accessor_id=ACCESSOR,
        default_allow=False,
        has_token=True,
        everywhere=[parse_rules(GLOBAL_MANAGEMENT_RULES)],
    )
    for resource, name in [("service", "x"), ("node", "n"), ("agent", "a"), ("key", "k"), ("session", "s")]:
        assert manager.allowed(resource, name, "write", namespace="team-a")
    for scalar in ("acl", "operator", "keyring", "mesh", "peering"):
        assert manager.allowed(scalar, level="write", namespace="team-b")


def test_a_tokens_rules_apply_in_its_own_namespace_only() -> None:
    a = authz('service_prefix "" { policy = "write" }\nnode_prefix "" { policy = "read" }', namespace="team")
    assert a.allowed("service", "web", "write", namespace="team")
    assert not a.allowed("service", "web", "read", namespace="default")
    assert a.allowed("node", "n1", "read", namespace="other")  # nodes are agent-wide, not namespaced


def test_namespace_blocks_grant_in_the_namespaces_they_name() -> None:
    a = authz(
        'namespace_prefix "team-" { service_prefix "" { policy = "read" } }\n'
        'namespace "team-a" { service "x" { policy = "write" } }'
    )
    assert a.allowed("service", "x", "write", namespace="team-a")
    assert not a.allowed("service", "y", "read", namespace="team-a")  # the exact block wins
    assert a.allowed("service", "y", "read", namespace="team-b")
    assert not a.allowed("service", "y", "read", namespace="other")


def test_anonymous_denial_text_explains_the_implicit_token() -> None:
    assert (
        "Permission denied: anonymous token lacks permission 'service:write' on \"web\". "
        "The anonymous token is used implicitly when a request does not specify a token."
    ) == permission_denied(ANONYMOUS_ACCESSOR, "service", "write", "web")


def test_token_denial_text_names_the_accessor() -> None:
    assert (
        f"Permission denied: token with AccessorID '{ACCESSOR}' lacks permission 'service:read' on \"web\""
    ) == permission_denied(ACCESSOR, "service", "read", "web")


def test_unnamed_resources_have_no_on_clause() -> None:
    assert f"Permission denied: token with AccessorID '{ACCESSOR}' lacks permission 'acl:write'" == (
        permission_denied(ACCESSOR, "acl", "write")
    )


def test_require_raises_forbidden_with_the_text() -> None:
    with pytest.raises(Forbidden) as caught:
        authz().require("agent", "node1", "read")
    assert 403 == caught.value.status
    assert (
        f"Permission denied: token with AccessorID '{ACCESSOR}' lacks permission 'agent:read' on \"node1\""
        == (caught.value.text)
    )


def test_filter_keeps_allowed_items_and_counts_the_rest() -> None:
    a = authz('service_prefix "web" { policy = "read" }')
    kept, removed = a.filter(["web", "db", "web-2"], "service", lambda name: name)
    assert (["web", "web-2"], 1) == (kept, removed)
    assert a.filtered_header(removed)
    anonymous = Authorizer(accessor_id=ANONYMOUS_ACCESSOR, default_allow=False, has_token=False)
    assert ([], 2) == anonymous.filter(["a", "b"], "service", str)
    assert not anonymous.filtered_header(2)  # never for a request without a token (§1.4)


def test_allow_all_when_acls_are_disabled() -> None:
    a = allow_all(has_token=True)
    assert a.allowed("operator", level="write")
    assert (["x"], 0) == a.filter(["x"], "service", str)


@given(
    prefixes=st.dictionaries(
        st.text("ab", max_size=4), st.sampled_from(["read", "write", "deny"]), max_size=6
    ),
    name=st.text("ab", max_size=6),
)
def test_prefix_lookup_is_the_longest_matching_prefix(prefixes: dict[str, str], name: str) -> None:
    compiled = compile_rules([PolicyRules(tuple(Rule("node", p, True, a) for p, a in prefixes.items()))])
    matching = [p for p in prefixes if name.startswith(p)]
    expected = prefixes[max(matching, key=len)] if matching else None
    assert expected == compiled.access("node", name)


def test_namespaces_without_rules_of_their_own_share_one_compiled_entry() -> None:
    authorizer = authz('service "web" { policy = "read" }')

    decisions = {authorizer.allowed("service", "web", namespace=f"ns{i}") for i in range(1000)}

    assert {False} == decisions  # rules of the home namespace do not reach others
    assert len(authorizer._by_namespace) <= 1
