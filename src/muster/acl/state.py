"""ACL objects in memory and in the store: tokens by AccessorID and by a digest of their SecretID (an O(1)
lookup whose final comparison is constant-time), policies by ID and by (namespace, name), the ACL index,
the bootstrap index and persisted agent tokens; rows of the acl_tokens, acl_policies, acl_state tables."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging

import msgspec

from muster.acl.policies import Policy
from muster.acl.tokens import Token
from muster.quarantine import Quarantine
from muster.store import Delete, Op, Put, Store

TOKENS_TABLE = "acl_tokens"
POLICIES_TABLE = "acl_policies"
STATE_TABLE = "acl_state"  # ("", "index"), ("", "bootstrap"), ("", "agent_token/<kind>")
TABLES = (TOKENS_TABLE, POLICIES_TABLE, STATE_TABLE)
INDEX_KEY, BOOTSTRAP_KEY, AGENT_TOKEN_PREFIX = "index", "bootstrap", "agent_token/"
log = logging.getLogger("muster.acl")

_encode = msgspec.json.Encoder().encode
_decode_token = msgspec.json.Decoder(Token).decode
_decode_policy = msgspec.json.Decoder(Policy).decode


def secret_digest(secret: str) -> bytes:
    """The lookup key for a SecretID: the map is keyed by a digest, so probing it leaks no secret prefix."""
    return hashlib.sha256(secret.encode()).digest()


class ACLState:
    """Plain in-memory state; ACLManager validates changes and applies them once they are durable."""

    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.policies: dict[str, Policy] = {}
        self.index = 0  # the ACL "raft index": CreateIndex/ModifyIndex of every write
        self.bootstrap_index = 0  # 0 until the ACL system is bootstrapped
        self.agent_tokens: dict[str, str] = {}  # persisted /v1/agent/token values, by kind
        self._by_secret: dict[bytes, str] = {}
        self._by_name: dict[tuple[str, str], str] = {}

    # -- lookups ----------------------------------------------------------------
    def token_by_secret(self, secret: str) -> Token | None:
        accessor = self._by_secret.get(secret_digest(secret))
        token = self.tokens.get(accessor) if accessor is not None else None
        if token is None or not hmac.compare_digest(token.secret_id.encode(), secret.encode()):
            return None
        return token

    def secret_in_use(self, secret: str) -> bool:
        return secret_digest(secret) in self._by_secret

    def policy_by_name(self, namespace: str, name: str) -> Policy | None:
        policy_id = self._by_name.get((namespace, name))
        return self.policies.get(policy_id) if policy_id is not None else None

    def policy_names(self) -> dict[str, str]:
        return {policy.id: policy.name for policy in self.policies.values()}

    # -- changes (applied after the store made them durable) -------------------
    def put_token(self, token: Token) -> None:
        old = self.tokens.get(token.accessor_id)
        if old is not None:
            self._by_secret.pop(secret_digest(old.secret_id), None)
        self.tokens[token.accessor_id] = token
        self._by_secret[secret_digest(token.secret_id)] = token.accessor_id

    def remove_token(self, accessor_id: str) -> None:
        old = self.tokens.pop(accessor_id, None)
        if old is not None:
            self._by_secret.pop(secret_digest(old.secret_id), None)

    def put_policy(self, policy: Policy) -> None:
        old = self.policies.get(policy.id)
        if old is not None:
            self._by_name.pop((old.namespace, old.name), None)
        self.policies[policy.id] = policy
        self._by_name[(policy.namespace, policy.name)] = policy.id

    def remove_policy(self, policy_id: str) -> None:
        old = self.policies.pop(policy_id, None)
        if old is not None:
            self._by_name.pop((old.namespace, old.name), None)

    # -- persistence ------------------------------------------------------------
    def load(self, store: Store, quarantine: Quarantine) -> None:
        """Rows that cannot be applied are quarantined: a lost token or policy only denies more."""
        for namespace, key, body in store.load(POLICIES_TABLE):
            quarantine.restore(
                POLICIES_TABLE, namespace, key, body, lambda b: self.put_policy(_decode_policy(b))
            )
        for namespace, key, body in store.load(TOKENS_TABLE):
            quarantine.restore(TOKENS_TABLE, namespace, key, body, lambda b: self.put_token(_decode_token(b)))
        for namespace, key, body in store.load(STATE_TABLE):
            if key == BOOTSTRAP_KEY:
                self._restore_bootstrap(body)
                continue
            quarantine.restore(STATE_TABLE, namespace, key, body, functools.partial(self._restore_state, key))

    def _restore_state(self, key: str, body: bytes) -> None:
        value = body.decode()
        if key == INDEX_KEY:
            self.index = int(value)
        elif key.startswith(AGENT_TOKEN_PREFIX):
            self.agent_tokens[key[len(AGENT_TOKEN_PREFIX) :]] = value

    def _restore_bootstrap(self, body: bytes) -> None:
        """Fails closed: an unreadable bootstrap marker must never open bootstrap again."""
        try:
            self.bootstrap_index = int(body.decode())
        except ValueError:
            log.error("the ACL bootstrap marker is unreadable (%r): ACLs count as bootstrapped", body[:64])
            self.bootstrap_index = 1


def put_token_op(token: Token) -> Op:
    return Put(TOKENS_TABLE, token.namespace, token.accessor_id, _encode(token))


def delete_token_op(token: Token) -> Op:
    return Delete(TOKENS_TABLE, token.namespace, token.accessor_id)


def put_policy_op(policy: Policy) -> Op:
    return Put(POLICIES_TABLE, policy.namespace, policy.id, _encode(policy))


def delete_policy_op(policy: Policy) -> Op:
    return Delete(POLICIES_TABLE, policy.namespace, policy.id)


def state_op(key: str, value: str) -> Op:
    return Put(STATE_TABLE, "", key, value.encode())
