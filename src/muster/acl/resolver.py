"""Consul's ACLResolver: a request's token to an Authorizer. Knows the agent's own tokens (the recovery
token is no stored token), keeps every policy's parsed rules and the Authorizers it built, and forgets
them when an ACL write or a reload changes what they were built from."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from muster.acl.authorizer import ANONYMOUS_ACCESSOR, DEFAULT_NAMESPACE, Authorizer, allow_all
from muster.acl.config import TOKEN_KINDS, ACLConfig
from muster.acl.policies import GLOBAL_MANAGEMENT_ID, Policy
from muster.acl.rules import (
    READ,
    WRITE,
    PolicyRules,
    Rule,
    RulesError,
    confine_to_namespace,
    node_identity_rules,
    parse_rules,
    service_identity_rules,
)
from muster.acl.state import ACLState
from muster.acl.tokens import Token
from muster.errors import Forbidden

log = logging.getLogger("muster.acl")
ROOT_SECRETS = frozenset({"allow", "deny", "manage"})  # Consul refuses these as secrets (acl.RootAuthorizer)


@dataclass(frozen=True)
class Identity:
    """Who a request is: a stored token, or the agent recovery token (which is no stored token)."""

    accessor_id: str
    namespace: str
    token: Token | None
    has_token: bool  # the effective secret was non-empty
    recovery: bool = False


class ACLResolver:
    def __init__(
        self, config: ACLConfig, state: ACLState, *, node_name: str, datacenter: str, clock: Callable[[], int]
    ) -> None:
        self.config = config
        self.state = state
        self.node_name = node_name
        self.datacenter = datacenter
        self._clock = clock
        self._agent_tokens: dict[str, str] = {}
        self._authorizers: dict[tuple[str, bool], Authorizer] = {}
        self._allow_all = {False: allow_all(has_token=False), True: allow_all(has_token=True)}
        # policy ID -> (its rules text, parsed): an ACL write re-parses only what it changed (parsing a
        # large policy again on every unrelated write stalled the loop for seconds)
        self._parsed: dict[str, tuple[str, PolicyRules]] = {}

    def load(self) -> None:
        """Once the state is loaded: every policy parsed at start-up, not at a request's expense."""
        for policy in self.state.policies.values():
            self.rules(policy)
        self._agent_tokens = self._configured_tokens()

    def reconfigure(self, config: ACLConfig) -> None:
        self.config = config
        self._agent_tokens = self._configured_tokens()
        self._authorizers.clear()  # they hold the default policy

    def _configured_tokens(self) -> dict[str, str]:
        tokens = self.config.tokens
        found = {kind: tokens.get(kind) for kind in set(TOKEN_KINDS.values()) if tokens.get(kind)}
        if self.config.enable_token_persistence:
            found.update(self.state.agent_tokens)
        return found

    def agent_token(self, kind: str) -> str:
        return self._agent_tokens.get(TOKEN_KINDS.get(kind, kind), "")

    def set_agent_token(self, kind: str, secret: str) -> None:
        """`kind` is canonical (a TOKEN_KINDS value)."""
        self._agent_tokens[kind] = secret
        self._authorizers.clear()

    def written(self) -> None:
        """An ACL write was applied: every Authorizer may be stale, removed policies' rules are dropped."""
        self._authorizers.clear()
        for gone in self._parsed.keys() - self.state.policies.keys():
            del self._parsed[gone]

    def resolve(self, secret: str) -> Identity:
        """The identity behind a request's token; Forbidden("ACL not found") for unknown or expired ones.

        An empty token falls back to the agent's default token, then to the anonymous token (§1.7).
        """
        effective = secret or self.agent_token("default")
        if not effective:
            anonymous = self.state.tokens.get(ANONYMOUS_ACCESSOR)
            if anonymous is None:
                raise Forbidden("ACL not found")
            return Identity(ANONYMOUS_ACCESSOR, anonymous.namespace, anonymous, has_token=False)
        if effective in ROOT_SECRETS:
            raise Forbidden("Cannot resolve root ACL")
        recovery = self.agent_token("agent_recovery")
        if recovery and hmac.compare_digest(recovery.encode(), effective.encode()):
            return Identity(f"agent-recovery:{self.node_name}", DEFAULT_NAMESPACE, None, True, recovery=True)
        token = self.state.token_by_secret(effective)
        if token is None or token.expired(self._clock()):
            raise Forbidden("ACL not found")
        return Identity(token.accessor_id, token.namespace, token, has_token=True)

    def authorize(self, secret: str) -> Authorizer:
        """The Authorizer for a request's token (`call.token()`); allow-all when ACLs are disabled."""
        if not self.config.enabled:  # two shared instances: this is on every request's path
            return self._allow_all[bool(secret or self.agent_token("default"))]
        identity = self.resolve(secret)
        key = (identity.accessor_id, identity.has_token)
        authorizer = self._authorizers.get(key)
        if authorizer is None:
            authorizer = self._authorizers[key] = self._build(identity)
        return authorizer

    def _build(self, identity: Identity) -> Authorizer:
        if identity.recovery:  # agent:write on this agent, node:read everywhere, nothing else
            rules = PolicyRules((Rule("agent", self.node_name, False, WRITE), Rule("node", "", True, READ)))
            return Authorizer(
                accessor_id=identity.accessor_id, default_allow=False, has_token=True, home=(rules,)
            )
        token = identity.token
        assert token is not None
        home: list[PolicyRules] = []
        everywhere: list[PolicyRules] = []
        # A token of another namespace is confined to it: whatever it links (global-management, a policy
        # with `namespace "x" {}` blocks) grants nothing outside its namespace, so an ACL admin of one
        # namespace cannot mint a token that reaches another (Consul Enterprise scopes them the same way).
        confined = token.namespace != DEFAULT_NAMESPACE
        for policy_id in token.policies:
            policy = self.state.policies.get(policy_id)
            if policy is None or not policy.applies_in(self.datacenter):
                continue
            rules = self.rules(policy)
            if confined:
                home.append(confine_to_namespace(rules))
            else:
                (everywhere if policy_id == GLOBAL_MANAGEMENT_ID else home).append(rules)
        identities: list[PolicyRules] = []
        for service in token.service_identities:
            if not service.datacenters or self.datacenter in service.datacenters:
                identities.append(service_identity_rules(service.service_name))
        for node in token.node_identities:
            if node.datacenter == self.datacenter:
                identities.append(node_identity_rules(node.node_name))
        home += [confine_to_namespace(rules) for rules in identities] if confined else identities
        return Authorizer(
            accessor_id=token.accessor_id,
            namespace=token.namespace,
            default_allow=self.config.default_allow,
            has_token=identity.has_token,
            home=home,
            everywhere=everywhere,
        )

    def rules(self, policy: Policy) -> PolicyRules:
        cached = self._parsed.get(policy.id)
        if cached is not None and cached[0] == policy.rules:
            return cached[1]
        try:
            parsed = parse_rules(policy.rules)
        except RulesError as exc:  # validated when written; a bad stored policy grants nothing
            log.warning("ACL policy %s has rules that do not parse: %s", policy.id, exc.text)
            parsed = PolicyRules()
        self._parsed[policy.id] = (policy.rules, parsed)
        return parsed
