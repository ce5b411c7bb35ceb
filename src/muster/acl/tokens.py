"""ACL tokens as Consul stores and shows them (agent/structs/acl.go ACLToken): the record (its SecretID is
never in a repr), service and node identities, the content hash, Go's RFC 3339 times, and the token
and list-stub JSON in Consul's key order."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from muster.acl.authorizer import ANONYMOUS_ACCESSOR, DEFAULT_NAMESPACE
from muster.acl.policies import content_hash
from muster.golang import format_time, is_decimal, quote

ANONYMOUS_SECRET = "anonymous"  # noqa: S105 - Consul's well-known SecretID of the anonymous token
ANONYMOUS_DESCRIPTION = "Anonymous Token"
INITIAL_MANAGEMENT_DESCRIPTION = "Initial Management Token"
BOOTSTRAP_DESCRIPTION = "Bootstrap Token (Global Management)"
REDACTED = "<hidden>"  # a SecretID shown to a token without acl:write
_NANOS = 1_000_000_000


@dataclass(frozen=True)
class ServiceIdentity:
    service_name: str
    datacenters: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeIdentity:
    node_name: str
    datacenter: str


@dataclass(frozen=True)
class Token:
    accessor_id: str
    secret_id: str = field(repr=False)  # never in logs or reprs
    description: str = ""
    policies: tuple[str, ...] = ()  # policy IDs; names are looked up when shown, as Consul does
    service_identities: tuple[ServiceIdentity, ...] = ()
    node_identities: tuple[NodeIdentity, ...] = ()
    local: bool = False
    create_time: int = 0  # Unix nanoseconds
    expiration_time: int | None = None
    namespace: str = DEFAULT_NAMESPACE
    hash: str = ""
    create_index: int = 0
    modify_index: int = 0

    def expired(self, now_ns: int) -> bool:
        return self.expiration_time is not None and self.expiration_time < now_ns


def token_hash(token: Token) -> str:
    parts = [token.description, "local" if token.local else "global", *token.policies]
    for service in token.service_identities:
        parts += [service.service_name, *service.datacenters]
    for node in token.node_identities:
        parts += [node.node_name, node.datacenter]
    return content_hash(parts)


def parse_time(text: str) -> int:
    """An RFC 3339 time, as Go's time.Time UnmarshalJSON reads it; ValueError with Go's text."""
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in text:
        raise ValueError(
            f'parsing time {quote(text)} as "2006-01-02T15:04:05Z07:00": cannot parse {quote(text)} as "2006"'
        )
    nanos = int(parsed.timestamp()) * _NANOS
    dot = text.find(".")
    if dot != -1:  # keep nanoseconds that datetime would round to microseconds
        end = dot + 1
        while end < len(text) and is_decimal(text[end]):
            end += 1
        nanos += int(text[dot + 1 : end][:9].ljust(9, "0"))
    return nanos


def _links(token: Token, policy_names: Mapping[str, str]) -> list[dict[str, str]]:
    # Links to deleted policies are dropped when shown, as Consul's state store does.
    return [{"ID": pid, "Name": policy_names[pid]} for pid in token.policies if pid in policy_names]


def _identities(token: Token, out: dict[str, Any]) -> None:
    if token.service_identities:
        services = []
        for service in token.service_identities:
            entry: dict[str, Any] = {"ServiceName": service.service_name}
            if service.datacenters:
                entry["Datacenters"] = list(service.datacenters)
            services.append(entry)
        out["ServiceIdentities"] = services
    if token.node_identities:
        out["NodeIdentities"] = [
            {"NodeName": node.node_name, "Datacenter": node.datacenter} for node in token.node_identities
        ]


def token_json(token: Token, policy_names: Mapping[str, str], *, redact: bool = False) -> dict[str, Any]:
    """ACLToken as Consul encodes it; `redact` hides the SecretID (a reader without acl:write)."""
    out: dict[str, Any] = {
        "AccessorID": token.accessor_id,
        "SecretID": REDACTED if redact else token.secret_id,
        "Description": token.description,
    }
    links = _links(token, policy_names)
    if links:
        out["Policies"] = links
    _identities(token, out)
    out["Local"] = token.local
    if token.expiration_time is not None:
        out["ExpirationTime"] = format_time(token.expiration_time)
    out["CreateTime"] = format_time(token.create_time)
    out["Hash"] = token.hash
    if token.namespace != DEFAULT_NAMESPACE:
        out["Namespace"] = token.namespace
    out["CreateIndex"] = token.create_index
    out["ModifyIndex"] = token.modify_index
    return out


def token_stub(token: Token, policy_names: Mapping[str, str], *, redact: bool = False) -> dict[str, Any]:
    """ACLTokenListStub: the same fields, with the Enterprise metadata after the indexes."""
    out = token_json(token, policy_names, redact=redact)
    namespace = out.pop("Namespace", None)
    if namespace is not None:
        out["Namespace"] = namespace
    return out


def is_anonymous(token: Token) -> bool:
    return token.accessor_id == ANONYMOUS_ACCESSOR
