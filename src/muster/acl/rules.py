"""Consul's ACL rule language (acl/policy.go): `service "web" { policy = "read" }`, `*_prefix` blocks,
`acl`/`operator`/`keyring`/`mesh`/`peering` scalars, Enterprise `namespace` blocks, in HCL or JSON;
validated in Consul's order with its error texts."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass

from muster.acl.hcl import Body, HCLError, Item, Value, parse
from muster.golang import quote

DENY, READ, LIST, WRITE = "deny", "read", "list", "write"
ACCESS_LEVELS = (DENY, READ, LIST, WRITE)
SCALARS = ("acl", "keyring", "operator", "mesh", "peering")
# HCL key -> (resource, Go rule type, the Go field the label fills); `<key>_prefix` is the prefix form.
SEGMENTS: dict[str, tuple[str, str]] = {
    "agent": ("AgentRule", "Node"),
    "key": ("KeyRule", "Prefix"),
    "node": ("NodeRule", "Name"),
    "service": ("ServiceRule", "Name"),
    "session": ("SessionRule", "Node"),
    "event": ("EventRule", "Event"),
    "query": ("PreparedQueryRule", "Prefix"),
}
_ENTERPRISE_RULE = {"KeyRule", "NodeRule", "ServiceRule"}


class RulesError(ValueError):
    """Rules Consul would refuse; `text` is Consul's message."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


# What a namespace scopes; everything else (node, agent, operator, ...) is agent-wide.
NAMESPACED = frozenset({"service", "key", "session", "intention", "acl"})


@dataclass(frozen=True)
class Rule:
    resource: str  # "service", "node", "agent", ...
    name: str
    prefix: bool
    access: str  # as written; "" when unset (always invalid); compared in lower case, as Consul does
    intentions: str = ""

    @property
    def level(self) -> str:
        return self.access.lower()


@dataclass(frozen=True)
class NamespaceRules:
    """An Enterprise `namespace "team" { ... }` or `namespace_prefix "" { ... }` block."""

    name: str
    prefix: bool
    rules: PolicyRules


@dataclass(frozen=True)
class PolicyRules:
    rules: tuple[Rule, ...] = ()
    scalars: tuple[tuple[str, str], ...] = ()  # ("acl", "write"), in the order written
    namespaces: tuple[NamespaceRules, ...] = ()


def _fail(item: Item, what: str) -> RulesError:
    return RulesError(f"Failed to parse ACL rules: At {item.line}:{item.column}: {what}")


def _check_duplicates(body: Body) -> None:
    seen: set[str] = set()
    for item in body.items:
        if not item.assigned or isinstance(item.value, Body | list) or len(item.keys) != 1:
            continue
        key = item.keys[0]
        if key in seen:
            raise RulesError(
                f"Failed to parse ACL rules: The argument {quote(key)} at {item.line}:{item.column} "
                "was already set. Each argument can only be defined once"
            )
        seen.add(key)


def _string(item: Item) -> str:
    value = item.value
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # HCL 1 decodes a number into a string field as its text
    raise _fail(item, f"{quote(item.keys[-1])} must be a string")


def _labelled(item: Item) -> Iterator[tuple[str, Body, Item]]:
    """`kind "name" { body }`, `kind { name { body } }`, JSON `{"kind": {"name": {...}}}` or a list."""
    if len(item.keys) >= 2:
        body = item.value if isinstance(item.value, Body) else Body(())
        if len(item.keys) > 2:  # `service "a" "b" {}`: the extra label nests, as HCL 1 reads it
            body = Body((Item(item.keys[2:], item.value, item.line, item.column, assigned=False),))
        yield item.keys[1], body, item
        return
    values: list[Value] = item.value if isinstance(item.value, list) else [item.value]
    for value in values:
        if not isinstance(value, Body):
            raise _fail(item, f"{quote(item.keys[0])} must be a block with a name label")
        for inner in value.items:
            yield from _labelled(
                Item((item.keys[0], *inner.keys), inner.value, inner.line, inner.column, False)
            )


def _rule(resource: str, prefix: bool, name: str, body: Body) -> Rule:
    _check_duplicates(body)
    access = intentions = ""
    for item in body.items:
        key = item.keys[0]
        if key == "policy":
            access = _string(item)
        elif key == "intentions" and resource == "service":
            intentions = _string(item)
    return Rule(resource, name, prefix, access, intentions)


def _collect(body: Body, nested: bool) -> PolicyRules:
    _check_duplicates(body)
    rules: list[Rule] = []
    scalars: list[tuple[str, str]] = []
    namespaces: list[NamespaceRules] = []
    for item in body.items:
        kind = item.keys[0]
        base, prefix = (kind[: -len("_prefix")], True) if kind.endswith("_prefix") else (kind, False)
        if kind in SCALARS:
            if len(item.keys) > 1 or isinstance(item.value, Body | list):
                raise _fail(item, f"{quote(kind)} must be a string")
            scalars.append((kind, _string(item)))
        elif base in SEGMENTS:
            rules.extend(_rule(base, prefix, name, inner) for name, inner, _ in _labelled(item))
        elif base == "namespace" and not nested:
            for name, inner, _ in _labelled(item):
                namespaces.append(NamespaceRules(name, prefix, _collect(inner, nested=True)))
        elif base == "partition":
            # Muster has the one partition; rules for it are plain rules, others never apply.
            for name, inner, _ in _labelled(item):
                if (prefix and "default".startswith(name)) or name == "default":
                    sub = _collect(inner, nested)
                    rules.extend(sub.rules)
                    scalars.extend(sub.scalars)
                    namespaces.extend(sub.namespaces)
        # Anything else is ignored, as Consul's HCL decoder ignores keys it does not know.
    return PolicyRules(tuple(rules), tuple(scalars), tuple(namespaces))


def _go_rule(rule: Rule) -> str:
    """The rule as Go's %#v prints the *acl.<Type>Rule in Consul's validation errors."""
    go_type, label = SEGMENTS[rule.resource]
    fields = [f"{label}:{quote(rule.name)}", f"Policy:{quote(rule.access)}"]
    if go_type == "ServiceRule":
        fields.append(f"Intentions:{quote(rule.intentions)}")
    if go_type in _ENTERPRISE_RULE:
        fields.append("EnterpriseRule:acl.EnterpriseRule{}")
    return f"&acl.{go_type}{{{', '.join(fields)}}}"


def _validate(parsed: PolicyRules) -> None:
    scalars = dict(parsed.scalars)
    if scalars.get("acl", "").lower() not in ("", DENY, READ, WRITE):
        raise RulesError(f"Invalid acl policy: {quote(scalars['acl'])}")
    for resource in SEGMENTS:
        for prefix in (False, True):
            for rule in parsed.rules:
                if rule.resource != resource or rule.prefix != prefix:
                    continue
                kind = resource + ("_prefix" if prefix else "")
                allowed = ACCESS_LEVELS if resource == "key" else (DENY, READ, WRITE)
                if rule.level not in allowed:
                    raise RulesError(f"Invalid {kind} policy: {_go_rule(rule)}")
                if rule.intentions.lower() not in ("", DENY, READ, WRITE):
                    raise RulesError(f"Invalid {kind} intentions policy: {_go_rule(rule)}")
    for scalar in SCALARS[1:]:
        if scalars.get(scalar, "").lower() not in ("", DENY, READ, WRITE):
            raise RulesError(f"Invalid {scalar} policy: {quote(scalars[scalar])}")
    for block in parsed.namespaces:
        _validate(block.rules)


@functools.lru_cache(maxsize=64)
def parse_rules(text: str) -> PolicyRules:
    """Parse and validate a policy's Rules; raises RulesError with Consul's text. Remembered by text
    (the result is immutable): the write validates it and the first request using it finds it parsed
    (a 3.3 MB policy took ~5 s to parse on the event loop)."""
    if not text.strip():
        return PolicyRules()
    try:
        body = parse(text)
    except HCLError as exc:
        raise RulesError(f"Failed to parse ACL rules: {exc}") from None
    parsed = _collect(body, nested=False)
    _validate(parsed)
    return parsed


def service_identity_rules(service_name: str) -> PolicyRules:
    """The synthetic policy of a token's ServiceIdentity (Consul's templated `builtin/service`)."""
    return PolicyRules(
        (
            Rule("service", service_name, False, WRITE, READ),
            Rule("service", f"{service_name}-sidecar-proxy", False, WRITE, READ),
            Rule("service", "", True, READ, READ),
            Rule("node", "", True, READ),
        )
    )


def node_identity_rules(node_name: str) -> PolicyRules:
    """The synthetic policy of a token's NodeIdentity (Consul's templated `builtin/node`)."""
    return PolicyRules((Rule("node", node_name, False, WRITE), Rule("service", "", True, READ)))


def confine_to_namespace(rules: PolicyRules) -> PolicyRules:
    """Rules as a token of a non-default namespace may hold them: no namespace blocks, and on what no
    namespace scopes (the node, the agent, the operator...) at most read: its namespace is all it governs."""

    def capped(access: str) -> str:
        return READ if access.lower() in (WRITE, LIST) else access

    return PolicyRules(
        rules=tuple(
            rule if rule.resource in NAMESPACED else dataclasses.replace(rule, access=capped(rule.access))
            for rule in rules.rules
        ),
        scalars=tuple(
            (name, access if name in NAMESPACED else capped(access)) for name, access in rules.scalars
        ),
    )
