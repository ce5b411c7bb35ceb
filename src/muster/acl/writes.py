"""Validating an ACL write and building the record to store, with the checks and texts of Consul's
ACL.PolicySet and tokenSetInternal (agent/consul/acl_endpoint.go); Consul answers most of these with a
500, Muster with a 400 (a client's mistake) and the same text. Also the builtins ACLs start with."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import replace

from muster.acl.authorizer import ANONYMOUS_ACCESSOR
from muster.acl.bodies import NodeIdentityBody, PolicyBody, PolicyLink, ServiceIdentityBody, TokenBody
from muster.acl.policies import (
    GLOBAL_MANAGEMENT_ID,
    RESERVED_PREFIX,
    VALID_POLICY_NAME,
    Policy,
    global_management,
    is_uuid,
    policy_hash,
)
from muster.acl.rules import RulesError, parse_rules
from muster.acl.state import BOOTSTRAP_KEY, INDEX_KEY, ACLState, put_policy_op, put_token_op, state_op
from muster.acl.tokens import (
    ANONYMOUS_DESCRIPTION,
    ANONYMOUS_SECRET,
    INITIAL_MANAGEMENT_DESCRIPTION,
    NodeIdentity,
    ServiceIdentity,
    Token,
    parse_time,
    token_hash,
)
from muster.errors import BadRequest
from muster.golang import format_duration, format_time, quote
from muster.store import Op

MIN_EXPIRATION_TTL = 60 * 1_000_000_000  # Consul's acl_token_min_expiration_ttl default (1m)
MAX_EXPIRATION_TTL = 24 * 3600 * 1_000_000_000  # acl_token_max_expiration_ttl default (24h)
log = logging.getLogger("muster.acl")
_IDENTITY_NAME = re.compile(r"^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$")


def system_token(
    accessor: str, secret: str, description: str, policies: tuple[str, ...], now: int, index: int
) -> Token:
    token = Token(
        accessor_id=accessor,
        secret_id=secret,
        description=description,
        policies=policies,
        create_time=now,
        create_index=index,
        modify_index=index,
    )
    return replace(token, hash=token_hash(token))


def ensure_builtins(state: ACLState, initial_management: str, now: int) -> list[Op]:
    """What Consul's leader creates when ACLs come up: the global-management policy, the anonymous
    token, and a token for `acl.tokens.initial_management`, which uses up the bootstrap. Applied to
    `state` at once; the ops make them durable."""
    ops: list[Op] = []
    if GLOBAL_MANAGEMENT_ID not in state.policies:
        state.index += 1
        policy = global_management(state.index)
        state.put_policy(policy)
        ops.append(put_policy_op(policy))
    if ANONYMOUS_ACCESSOR not in state.tokens:
        state.index += 1
        token = system_token(
            ANONYMOUS_ACCESSOR, ANONYMOUS_SECRET, ANONYMOUS_DESCRIPTION, (), now, state.index
        )
        state.put_token(token)
        ops.append(put_token_op(token))
    if initial_management and state.token_by_secret(initial_management) is None:
        state.index += 1
        token = system_token(
            new_id(state),
            initial_management,
            INITIAL_MANAGEMENT_DESCRIPTION,
            (GLOBAL_MANAGEMENT_ID,),
            now,
            state.index,
        )
        state.put_token(token)
        ops.append(put_token_op(token))
        if not state.bootstrap_index:
            state.bootstrap_index = state.index
            ops.append(state_op(BOOTSTRAP_KEY, str(state.index)))
        log.info(
            "created the ACL initial management token from configuration (AccessorID %s)", token.accessor_id
        )
    if ops:
        ops.append(state_op(INDEX_KEY, str(state.index)))
    return ops


def new_id(state: ACLState) -> str:
    """A fresh UUID outside the reserved range and unused as accessor, secret or policy ID."""
    while True:
        candidate = str(uuid.uuid4())
        if not candidate.startswith(RESERVED_PREFIX) and not _id_taken(state, candidate):
            return candidate


def _id_taken(state: ACLState, candidate: str) -> bool:
    return candidate in state.tokens or candidate in state.policies or state.secret_in_use(candidate)


def build_policy(
    body: PolicyBody, *, state: ACLState, namespace: str, existing: Policy | None, index: int
) -> Policy:
    """A created (existing is None) or updated policy; the caller found `existing` by the URL's ID."""
    name = body.name
    if not name:
        raise BadRequest("Invalid Policy: no Name is set")
    if not VALID_POLICY_NAME.match(name):
        raise BadRequest(
            "Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed"
        )
    same_name = state.policy_by_name(namespace, name)
    rules = body.rules
    datacenters = tuple(body.datacenters)
    if existing is None:
        if same_name is not None:
            raise BadRequest(f"Invalid Policy: A Policy with Name {quote(name)} already exists")
    else:
        if same_name is not None and same_name.id != existing.id:
            raise BadRequest(f"Invalid Policy: A policy with name {quote(name)} already exists")
        if existing.id == GLOBAL_MANAGEMENT_ID:
            if datacenters:
                raise BadRequest(
                    "Changing the Datacenters of the builtin global-management policy is not permitted"
                )
            if rules != existing.rules:
                raise BadRequest(
                    "Changing the Rules for the builtin global-management policy is not permitted"
                )
    try:
        parse_rules(rules)
    except RulesError as exc:
        raise BadRequest(exc.text) from None
    description = body.description
    return Policy(
        id=existing.id if existing is not None else new_id(state),
        name=name,
        description=description,
        rules=rules,
        datacenters=datacenters,
        namespace=namespace,
        hash=policy_hash(name, description, rules, datacenters),
        create_index=existing.create_index if existing is not None else index,
        modify_index=index,
    )


def _check_new_id(state: ACLState, value: str, field_name: str) -> None:
    if not is_uuid(value):
        raise BadRequest(f"Invalid Token: {field_name} is not a valid UUID")
    if _id_taken(state, value):
        raise BadRequest(f"Invalid Token: {field_name} is already in use")
    if value.startswith(RESERVED_PREFIX):
        raise BadRequest(f"Invalid Token: UUIDs with the prefix {quote(RESERVED_PREFIX)} are reserved")


def _time(raw: str) -> int:
    try:
        return parse_time(raw)
    except ValueError as exc:  # Go fails while decoding the body
        raise BadRequest(f"Token decoding failed: {exc}") from None


def _expiration(body: TokenBody, create_time: int) -> int | None:
    ttl = body.expiration_ttl
    raw_time = body.expiration_time
    expiration = _time(raw_time) if raw_time else None
    if ttl:
        if ttl < 0:
            raise BadRequest(f"Token Expiration TTL '{format_duration(ttl)}' should be > 0")
        if expiration is not None:
            raise BadRequest("Token Expiration TTL and Expiration Time cannot both be set")
        expiration = create_time + ttl
    if expiration is None:
        return None
    if expiration < create_time:
        raise BadRequest("ExpirationTime cannot be before CreateTime")
    expires_in = expiration - create_time
    if expires_in > MAX_EXPIRATION_TTL:
        raise BadRequest(
            f"ExpirationTime cannot be more than {format_duration(MAX_EXPIRATION_TTL)} in the future "
            f"(was {format_duration(expires_in)})"
        )
    if expires_in < MIN_EXPIRATION_TTL:
        raise BadRequest(
            f"ExpirationTime cannot be less than {format_duration(MIN_EXPIRATION_TTL)} in the future "
            f"(was {format_duration(expires_in)})"
        )
    return expiration


def _policy_ids(body: TokenBody, state: ACLState, namespace: str) -> tuple[str, ...]:
    """Links by ID or name -> IDs, deduplicated; a token may link its namespace's or `default`'s policies."""
    ids: list[str] = []
    for link in body.policies:
        link_id, link_name = link.id, link.name
        if not link_id:
            policy = state.policy_by_name(namespace, link_name) or state.policy_by_name("default", link_name)
            if policy is None:
                raise BadRequest(f"No such ACL policy with name {quote(link_name)}")
        else:
            policy = state.policies.get(link_id)
            if policy is None or policy.namespace not in (namespace, "default"):
                raise BadRequest(f"No such ACL policy with ID {quote(link_id)}")
        if policy.id not in ids:
            ids.append(policy.id)
    for role in body.roles:  # Muster has no roles: a link to one can never resolve
        if role.id:
            raise BadRequest(f"No such ACL role with ID {quote(role.id)}")
        raise BadRequest(f"No such ACL role with name {quote(role.name)}")
    templated = body.templated_policies or []
    if templated:
        first = templated[0] if isinstance(templated, list) else {}
        name = first.get("TemplateName", "") if isinstance(first, dict) else ""
        raise BadRequest(f"No such ACL templated policy with name {quote(str(name))}")
    return tuple(ids)


def _valid_identity_name(name: str) -> bool:
    return 0 < len(name) <= 256 and bool(_IDENTITY_NAME.match(name))


def _identities(body: TokenBody, local: bool) -> tuple[tuple[ServiceIdentity, ...], tuple[NodeIdentity, ...]]:
    services: dict[str, list[str]] = {}
    for entry in body.service_identities:
        name, datacenters = entry.service_name, entry.datacenters
        if not name:
            raise BadRequest("Service identity is missing the service name field on this token")
        if local and datacenters:
            raise BadRequest(
                f"Service identity {quote(name)} cannot specify a list of datacenters on a local token"
            )
        if not _valid_identity_name(name):
            raise BadRequest(
                f"Service identity {quote(name)} has an invalid name. "
                "Only alphanumeric characters, '-' and '_' are allowed"
            )
        merged = services.setdefault(name, [])
        merged.extend(dc for dc in datacenters if dc not in merged)
    nodes: list[NodeIdentity] = []
    for node_entry in body.node_identities:
        node = NodeIdentity(node_entry.node_name, node_entry.datacenter)
        if not node.node_name:
            raise BadRequest("Node identity is missing the node name field on this token")
        if not node.datacenter:
            raise BadRequest("Node identity is missing the datacenter field on this token")
        if not _valid_identity_name(node.node_name):
            raise BadRequest(
                "Node identity has an invalid name. Only alphanumeric characters, '-' and '_' are allowed"
            )
        if node not in nodes:
            nodes.append(node)
    return tuple(ServiceIdentity(n, tuple(dcs)) for n, dcs in services.items()), tuple(nodes)


def build_new_token(body: TokenBody, *, state: ACLState, namespace: str, now: int, index: int) -> Token:
    """ACL.TokenSet for a new token (also the second half of a clone)."""
    accessor = body.accessor_id or ""
    if accessor:
        _check_new_id(state, accessor, "AccessorID")
    secret = body.secret_id
    if secret:
        _check_new_id(state, secret, "SecretID")
    if body.auth_method:
        raise BadRequest("AuthMethod field is disallowed outside of Login")
    local = body.local
    expiration = _expiration(body, now)
    policies = _policy_ids(body, state, namespace)
    services, nodes = _identities(body, local)
    accessor = accessor or new_id(state)
    token = Token(
        accessor_id=accessor,
        secret_id=secret or new_id(state),
        description=body.description,
        policies=policies,
        service_identities=services,
        node_identities=nodes,
        local=local,
        create_time=now,
        expiration_time=expiration,
        namespace=namespace,
        create_index=index,
        modify_index=index,
    )
    return replace(token, hash=token_hash(token))


def build_updated_token(body: TokenBody, *, state: ACLState, existing: Token, index: int) -> Token:
    """ACL.TokenSet for an existing token: everything but the IDs, Local, and expiry is replaced."""
    accessor = existing.accessor_id
    secret = body.secret_id
    if secret and secret != existing.secret_id:
        raise BadRequest("Changing a tokens SecretID is not permitted")
    if body.local != existing.local:
        raise BadRequest(f"cannot toggle local mode of {accessor}")
    if body.auth_method:
        raise BadRequest(f"Cannot change AuthMethod of {accessor}")
    if body.expiration_ttl:
        raise BadRequest(f"Cannot change expiration time of {accessor}")
    raw_time = body.expiration_time
    if raw_time and (existing.expiration_time is None or _time(raw_time) != existing.expiration_time):
        raise BadRequest(f"Cannot change expiration time of {accessor}")
    policies = _policy_ids(body, state, existing.namespace)
    services, nodes = _identities(body, existing.local)
    token = replace(
        existing,
        description=body.description,
        policies=policies,
        service_identities=services,
        node_identities=nodes,
        modify_index=index,
    )
    return replace(token, hash=token_hash(token))


def clone_body(source: Token, description: str, state: ACLState) -> TokenBody:
    """The body ACL.TokenClone feeds to a create: the source's links, identities, Local and expiry."""
    return TokenBody(
        description=description or source.description,
        policies=[PolicyLink(id=pid) for pid in source.policies if pid in state.policies],
        service_identities=[
            ServiceIdentityBody(service_name=s.service_name, datacenters=list(s.datacenters))
            for s in source.service_identities
        ],
        node_identities=[
            NodeIdentityBody(node_name=n.node_name, datacenter=n.datacenter) for n in source.node_identities
        ],
        local=source.local,
        expiration_time="" if source.expiration_time is None else format_time(source.expiration_time),
    )
