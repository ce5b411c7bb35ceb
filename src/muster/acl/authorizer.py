"""Decisions: may this token have `service:write` on "web"? Consul's policy authorizer (acl/policy_merger.go,
acl/policy_authorizer.go): rules of all a token's policies merged (deny > write > list > read), an exact rule
beats any prefix, the longest prefix beats shorter ones, a matched rule is final, else the default policy."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from muster.acl.rules import DENY, LIST, NAMESPACED, READ, SCALARS, WRITE, NamespaceRules, PolicyRules
from muster.errors import Forbidden

ANONYMOUS_ACCESSOR = "00000000-0000-0000-0000-000000000002"
DEFAULT_NAMESPACE = "default"
_PRECEDENCE = {DENY: 4, WRITE: 3, LIST: 2, READ: 1}
T = TypeVar("T")


@dataclass
class CompiledRules:
    """Merged rules: resource -> name -> access, exact and prefix apart; scalar resource -> access."""

    exact: dict[str, dict[str, str]] = field(default_factory=dict)
    prefix: dict[str, dict[str, str]] = field(default_factory=dict)
    scalars: dict[str, str] = field(default_factory=dict)

    def access(self, resource: str, name: str) -> str | None:
        """The access the most specific matching rule grants, or None when no rule matches."""
        if resource in SCALARS:
            found = self.scalars.get(resource)
            if found is None and resource in ("mesh", "peering"):
                return self.scalars.get("operator")  # Consul falls back to operator for these
            return found
        exact = self.exact.get(resource)
        if exact is not None and name in exact:
            return exact[name]
        prefixes = self.prefix.get(resource)
        if not prefixes:
            return None
        if len(prefixes) < len(name):
            best = max((p for p in prefixes if name.startswith(p)), key=len, default=None)
            return None if best is None else prefixes[best]
        for end in range(len(name), -1, -1):
            found = prefixes.get(name[:end])
            if found is not None:
                return found
        return None


def _wins(new: str, current: str | None) -> bool:
    return current is None or _PRECEDENCE.get(new, 0) > _PRECEDENCE.get(current, 0)


def compile_rules(sources: Iterable[PolicyRules]) -> CompiledRules:
    """Merge policies as Consul's MergePolicies does: per (resource, name), deny > write > list > read."""
    compiled = CompiledRules()
    for rules in sources:
        for rule in rules.rules:
            table = compiled.prefix if rule.prefix else compiled.exact
            by_name = table.setdefault(rule.resource, {})
            if _wins(rule.level, by_name.get(rule.name)):
                by_name[rule.name] = rule.level
        for resource, access in rules.scalars:
            level = access.lower()
            if level and _wins(level, compiled.scalars.get(resource)):
                compiled.scalars[resource] = level
    return compiled


def enforce(access: str, level: str) -> bool:
    """A matched rule's verdict for the level asked: write grants all, list grants list and read."""
    if access == WRITE:
        return True
    if access == LIST:
        return level in (LIST, READ)
    if access == READ:
        return level == READ
    return False


def permission_denied(accessor_id: str, resource: str, level: str, name: str = "") -> str:
    """Consul's PermissionDeniedError text (acl/errors.go)."""
    anonymous = accessor_id == ANONYMOUS_ACCESSOR
    who = "anonymous token" if anonymous else f"token with AccessorID '{accessor_id}'"
    text = f"Permission denied: {who} lacks permission '{resource}:{level}'"
    if name:
        text += f' on "{name}"'
    if anonymous:
        text += ". The anonymous token is used implicitly when a request does not specify a token."
    return text


def _best_block(blocks: Sequence[NamespaceRules], namespace: str) -> PolicyRules | None:
    exact = [b.rules for b in blocks if not b.prefix and b.name == namespace]
    if exact:
        return PolicyRules(
            tuple(r for rules in exact for r in rules.rules),
            tuple(s for rules in exact for s in rules.scalars),
        )
    prefixed = [b for b in blocks if b.prefix and namespace.startswith(b.name)]
    if not prefixed:
        return None
    longest = max(len(b.name) for b in prefixed)
    chosen = [b.rules for b in prefixed if len(b.name) == longest]
    return PolicyRules(
        tuple(r for rules in chosen for r in rules.rules), tuple(s for rules in chosen for s in rules.scalars)
    )


class Authorizer:
    """What one resolved token may do. Cheap to query: merged rules are cached per namespace.

    `home` rules apply in the token's namespace, `everywhere` rules (global-management) in all of them,
    and Enterprise `namespace` blocks in the namespaces they name.
    """

    def __init__(
        self,
        *,
        accessor_id: str,
        namespace: str = DEFAULT_NAMESPACE,
        default_allow: bool,
        has_token: bool,
        home: Sequence[PolicyRules] = (),
        everywhere: Sequence[PolicyRules] = (),
        allow_all: bool = False,
    ) -> None:
        self.accessor_id = accessor_id
        self.namespace = namespace
        self.default_allow = default_allow
        # The effective token was non-empty: X-Consul-Results-Filtered-By-ACLs needs one (§1.4).
        self.has_token = has_token
        self.allow_all = allow_all
        self._home = tuple(home)
        self._everywhere = tuple(everywhere)
        self._blocks = tuple(b for rules in (*self._home, *self._everywhere) for b in rules.namespaces)
        self._by_namespace: dict[str, CompiledRules] = {}
        self._elsewhere: CompiledRules | None = None

    @property
    def anonymous(self) -> bool:
        return self.accessor_id == ANONYMOUS_ACCESSOR

    def rules_for(self, namespace: str) -> CompiledRules:
        compiled = self._by_namespace.get(namespace)
        if compiled is None:
            sources = list(self._everywhere)
            block = _best_block(self._blocks, namespace)
            if namespace != self.namespace and block is None:
                # No rules of its own: every such namespace shares one entry, so the distinct
                # names clients ask about cannot grow this map.
                if self._elsewhere is None:
                    self._elsewhere = compile_rules(sources)
                return self._elsewhere
            if namespace == self.namespace:
                sources.extend(self._home)
            if block is not None:
                sources.append(block)
            compiled = self._by_namespace[namespace] = compile_rules(sources)
        return compiled

    def allowed(self, resource: str, name: str = "", level: str = READ, namespace: str | None = None) -> bool:
        if self.allow_all:
            return True
        scope = namespace if namespace is not None and resource in NAMESPACED else self.namespace
        access = self.rules_for(scope).access(resource, name)
        if access is None:
            return self.default_allow
        return enforce(access, level)

    def require(self, resource: str, name: str = "", level: str = READ, namespace: str | None = None) -> None:
        """Raise Forbidden with Consul's `Permission denied: ...` text unless allowed."""
        if not self.allowed(resource, name, level, namespace):
            raise Forbidden(permission_denied(self.accessor_id, resource, level, name))

    def filter(
        self,
        items: Iterable[T],
        resource: str,
        name_of: Callable[[T], str],
        level: str = READ,
        namespace: str | None = None,
    ) -> tuple[list[T], int]:
        """Keep the items this token may see; returns (kept, how many were removed). Never raises."""
        items = list(items)
        if self.allow_all:
            return items, 0
        kept = [item for item in items if self.allowed(resource, name_of(item), level, namespace)]
        return kept, len(items) - len(kept)

    def filtered_header(self, removed: int) -> bool:
        """Whether to send `X-Consul-Results-Filtered-By-ACLs: true` (only with a token, §1.4)."""
        return removed > 0 and self.has_token


def allow_all(has_token: bool = False) -> Authorizer:
    """ACLs disabled: everything is allowed, whatever the token (§6)."""
    return Authorizer(accessor_id="", default_allow=True, has_token=has_token, allow_all=True)
