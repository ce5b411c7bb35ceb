"""ACLManager, owned by the Agent: performs every ACL write durably (bootstrap, policies, tokens, the
agent's own tokens) with Consul's validation and texts, and answers ACL reads; resolving a request's token
is its ACLResolver's (resolver.py). Reads are in memory; a write is applied once the store made it durable."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from pathlib import Path

from muster.acl.authorizer import ANONYMOUS_ACCESSOR, Authorizer
from muster.acl.bodies import PolicyBody, TokenBody
from muster.acl.config import TOKEN_KINDS, ACLConfig
from muster.acl.policies import GLOBAL_MANAGEMENT_ID, Policy, is_uuid
from muster.acl.resolver import ACLResolver, Identity
from muster.acl.state import (
    AGENT_TOKEN_PREFIX,
    BOOTSTRAP_KEY,
    INDEX_KEY,
    ACLState,
    delete_policy_op,
    delete_token_op,
    put_policy_op,
    put_token_op,
    state_op,
)
from muster.acl.tokens import BOOTSTRAP_DESCRIPTION, Token
from muster.acl.writes import (
    build_new_token,
    build_policy,
    build_updated_token,
    clone_body,
    ensure_builtins,
    new_id,
    system_token,
)
from muster.errors import BadRequest, Forbidden, NotFound
from muster.golang import is_decimal, quote
from muster.quarantine import Quarantine
from muster.store import Op, Store

log = logging.getLogger("muster.acl")
BOOTSTRAP_RESET_FILE = "acl-bootstrap-reset"


class ACLManager:
    def __init__(
        self,
        config: ACLConfig,
        store: Store,
        *,
        node_name: str,
        datacenter: str,
        data_dir: Path | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.state = ACLState()
        self.resolver = ACLResolver(
            config, self.state, node_name=node_name, datacenter=datacenter, clock=clock
        )
        self._store = store
        self._data_dir = data_dir
        self._clock = clock
        self._lock = asyncio.Lock()  # writes validate against memory, so they take turns

    @property
    def config(self) -> ACLConfig:
        return self.resolver.config

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    @property
    def default_policy(self) -> str:
        """The value of `X-Consul-Default-ACL-Policy` on every response."""
        return self.config.default_policy

    @property
    def index(self) -> int:
        return self.state.index

    # -- start-up ---------------------------------------------------------------
    def load(self, quarantine: Quarantine | None = None) -> None:
        """Read the ACL tables; with ACLs on, create the builtin policy and tokens Consul's leader makes."""
        self.state.load(self._store, quarantine or Quarantine())
        self.resolver.load()
        if not self.enabled:
            return
        ops = ensure_builtins(self.state, self.config.tokens.initial_management, self._clock())
        if ops:
            self._store.write_now(ops)

    def reconfigure(self, config: ACLConfig) -> None:
        """A reload's `acl` section: the default policy and the agent's tokens take effect at once
        (rotating `agent_recovery` must not leave the old one working). Turning ACLs on or off needs a
        restart; the reload refuses that before applying anything (agent/root.py)."""
        self.resolver.reconfigure(config)

    # -- resolution (the resolver's) ----------------------------------------------
    def agent_token(self, kind: str) -> str:
        return self.resolver.agent_token(kind)

    def resolve(self, secret: str) -> Identity:
        return self.resolver.resolve(secret)

    def authorize(self, secret: str) -> Authorizer:
        return self.resolver.authorize(secret)

    # -- durable writes ---------------------------------------------------------
    async def _commit(self, index: int, ops: list[Op], apply: Callable[[], None]) -> None:
        def on_commit() -> None:
            apply()
            self.state.index = index
            self.resolver.written()

        await self._store.commit([*ops, state_op(INDEX_KEY, str(index))], on_commit)

    async def set_agent_token(self, kind: str, secret: str) -> None:
        """PUT /v1/agent/token/<kind>; persisted only with `acl.enable_token_persistence`."""
        canonical = TOKEN_KINDS.get(kind)
        if canonical is None:
            raise NotFound(f"Token {quote(kind)} is unknown")
        async with self._lock:

            def apply() -> None:
                self.resolver.set_agent_token(canonical, secret)

            if self.config.enable_token_persistence:
                await self._store.commit([state_op(AGENT_TOKEN_PREFIX + canonical, secret)], apply)
            else:
                apply()
        log.info("updated the agent's ACL token %s", canonical)

    def _reset_index_from_file(self) -> int:
        if self._data_dir is None:
            return 0
        try:
            raw = (self._data_dir / BOOTSTRAP_RESET_FILE).read_text().strip()
        except OSError:
            return 0
        digits = raw.split()[0] if raw else ""
        return int(digits) if is_decimal(digits) else 0

    async def bootstrap(self, secret: str = "") -> Token:
        """PUT /v1/acl/bootstrap: the first management token, once (or again via the reset file)."""
        async with self._lock:
            done = self.state.bootstrap_index
            if done:
                specified = self._reset_index_from_file()
                if not specified:
                    raise Forbidden(
                        f"Permission denied: ACL bootstrap no longer allowed (reset index: {done})"
                    )
                if specified != done:
                    raise BadRequest(
                        f"Invalid bootstrap reset index (specified {specified}, reset index: {done})"
                    )
            if self._data_dir is not None:
                (self._data_dir / BOOTSTRAP_RESET_FILE).unlink(missing_ok=True)
            if secret and (not is_uuid(secret) or self.state.secret_in_use(secret)):
                raise BadRequest("Invalid bootstrap secret: it must be an unused UUID")
            index = self.state.index + 1
            accessor, secret = new_id(self.state), secret or new_id(self.state)
            token = system_token(
                accessor, secret, BOOTSTRAP_DESCRIPTION, (GLOBAL_MANAGEMENT_ID,), self._clock(), index
            )

            def apply() -> None:
                self.state.put_token(token)
                self.state.bootstrap_index = index

            await self._commit(index, [put_token_op(token), state_op(BOOTSTRAP_KEY, str(index))], apply)
        log.info("ACL bootstrap completed (AccessorID %s)", token.accessor_id)
        return token

    # -- policies ---------------------------------------------------------------
    def policy(self, policy_id: str, namespace: str) -> Policy | None:
        if not is_uuid(policy_id):
            raise BadRequest("Policy ID invalid UUID")
        policy = self.state.policies.get(policy_id)
        return policy if policy is not None and policy.namespace == namespace else None

    def policy_by_name(self, name: str, namespace: str) -> Policy | None:
        return self.state.policy_by_name(namespace, name)

    def policies(self, namespace: str) -> list[Policy]:
        return sorted(
            (p for p in self.state.policies.values() if p.namespace == namespace), key=lambda p: p.id
        )

    async def put_policy(self, body: PolicyBody, namespace: str, policy_id: str = "") -> Policy:
        """Create (no policy_id) or update a policy; returns it as stored."""
        async with self._lock:
            existing = None
            if policy_id:
                existing = self.policy(policy_id, namespace)
                if existing is None:
                    raise BadRequest(f"cannot find policy {policy_id}")
            index = self.state.index + 1
            policy = build_policy(body, state=self.state, namespace=namespace, existing=existing, index=index)
            await self._commit(index, [put_policy_op(policy)], lambda: self.state.put_policy(policy))
        return policy

    async def delete_policy(self, policy_id: str, namespace: str) -> None:
        async with self._lock:
            policy = self.policy(policy_id, namespace)
            if policy is None:
                raise NotFound("Cannot find policy to delete")
            if policy.id == GLOBAL_MANAGEMENT_ID:
                raise BadRequest("Delete operation not permitted on the builtin global-management policy")
            index = self.state.index + 1
            await self._commit(index, [delete_policy_op(policy)], lambda: self.state.remove_policy(policy.id))

    # -- tokens -----------------------------------------------------------------
    def token(self, accessor_id: str, namespace: str, *, include_expired: bool = False) -> Token | None:
        if not is_uuid(accessor_id):
            raise BadRequest("AccessorID is not a valid UUID")
        token = self.state.tokens.get(accessor_id)
        if token is None or token.namespace != namespace:
            return None
        if not include_expired and token.expired(self._clock()):
            return None
        return token

    def token_by_secret(self, secret: str) -> Token | None:
        """GET /v1/acl/token/self: whoever holds the secret may read its token."""
        token = self.state.token_by_secret(secret) if secret else None
        return None if token is None or token.expired(self._clock()) else token

    def tokens(self, namespace: str, *, policy: str = "", service_name: str = "") -> list[Token]:
        now = self._clock()
        found = [
            token
            for token in self.state.tokens.values()
            if token.namespace == namespace
            and not token.expired(now)
            and (not policy or policy in token.policies)
            and (not service_name or any(s.service_name == service_name for s in token.service_identities))
        ]
        return sorted(found, key=lambda token: token.accessor_id)

    async def create_token(self, body: TokenBody, namespace: str) -> Token:
        async with self._lock:
            index = self.state.index + 1
            token = build_new_token(
                body, state=self.state, namespace=namespace, now=self._clock(), index=index
            )
            await self._commit(index, [put_token_op(token)], lambda: self.state.put_token(token))
        return token

    async def update_token(self, accessor_id: str, body: TokenBody, namespace: str) -> Token:
        async with self._lock:
            existing = self.token(accessor_id, namespace)
            if existing is None:
                raise BadRequest(f"Cannot find token {quote(accessor_id)}")
            index = self.state.index + 1
            token = build_updated_token(body, state=self.state, existing=existing, index=index)
            await self._commit(index, [put_token_op(token)], lambda: self.state.put_token(token))
        return token

    async def clone_token(self, accessor_id: str, description: str, namespace: str) -> Token:
        async with self._lock:
            source = self.token(accessor_id, namespace)
            if source is None:
                raise Forbidden("ACL not found")
            index = self.state.index + 1
            body = clone_body(source, description, self.state)
            token = build_new_token(
                body, state=self.state, namespace=namespace, now=self._clock(), index=index
            )
            await self._commit(index, [put_token_op(token)], lambda: self.state.put_token(token))
        return token

    async def delete_token(self, accessor_id: str, namespace: str, caller_secret: str) -> None:
        async with self._lock:
            if not is_uuid(accessor_id):
                raise BadRequest("Accessor ID is missing or an invalid UUID")
            if accessor_id == ANONYMOUS_ACCESSOR:
                raise BadRequest("Delete operation not permitted on the anonymous token")
            token = self.token(accessor_id, namespace, include_expired=True)
            if token is None:
                raise NotFound("Cannot find token to delete")
            if caller_secret and hmac.compare_digest(token.secret_id.encode(), caller_secret.encode()):
                raise BadRequest("Deletion of the request's authorization token is not permitted")
            index = self.state.index + 1
            await self._commit(index, [delete_token_op(token)], lambda: self.state.remove_token(accessor_id))
