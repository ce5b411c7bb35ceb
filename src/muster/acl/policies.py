"""ACL policies as Consul stores and shows them (agent/structs/acl.go ACLPolicy): the record, its content
hash, the builtin global-management policy, and the JSON in Consul's key order."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from muster.acl.authorizer import DEFAULT_NAMESPACE

GLOBAL_MANAGEMENT_ID = "00000000-0000-0000-0000-000000000001"
GLOBAL_MANAGEMENT_NAME = "global-management"
GLOBAL_MANAGEMENT_DESCRIPTION = "Builtin Policy that grants unlimited access"
GLOBAL_MANAGEMENT_RULES = """
acl = "write"
agent_prefix "" {
	policy = "write"
}
event_prefix "" {
	policy = "write"
}
key_prefix "" {
	policy = "write"
}
keyring = "write"
node_prefix "" {
	policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
	policy = "write"
}
service_prefix "" {
	policy = "write"
	intentions = "write"
}
session_prefix "" {
	policy = "write"
}"""
RESERVED_PREFIX = "00000000-0000-0000-0000-0000000000"  # IDs of builtin objects (structs.ACLReservedPrefix)
VALID_POLICY_NAME = re.compile(r"^[A-Za-z0-9\-_]{1,128}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(text: str) -> bool:
    """go-uuid's ParseUUID: 36 characters, hex in the 8-4-4-4-12 layout, either case."""
    return bool(_UUID.match(text))


def content_hash(parts: Iterable[str]) -> str:
    """Consul's SetHash: BLAKE2b-256 over the user-set fields, shown as base64 ([]byte in JSON)."""
    digest = hashlib.blake2b(digest_size=32)
    for part in parts:
        digest.update(part.encode())
    return base64.b64encode(digest.digest()).decode()


@dataclass(frozen=True)
class Policy:
    id: str
    name: str
    description: str
    rules: str
    datacenters: tuple[str, ...]
    namespace: str
    hash: str
    create_index: int
    modify_index: int

    def applies_in(self, datacenter: str) -> bool:
        """A policy with Datacenters is only valid in those datacenters."""
        return not self.datacenters or datacenter in self.datacenters


def policy_hash(name: str, description: str, rules: str, datacenters: Iterable[str]) -> str:
    return content_hash([name, description, rules, *datacenters])


def global_management(index: int) -> Policy:
    return Policy(
        id=GLOBAL_MANAGEMENT_ID,
        name=GLOBAL_MANAGEMENT_NAME,
        description=GLOBAL_MANAGEMENT_DESCRIPTION,
        rules=GLOBAL_MANAGEMENT_RULES,
        datacenters=(),
        namespace=DEFAULT_NAMESPACE,
        hash=policy_hash(GLOBAL_MANAGEMENT_NAME, GLOBAL_MANAGEMENT_DESCRIPTION, GLOBAL_MANAGEMENT_RULES, ()),
        create_index=index,
        modify_index=index,
    )


def policy_json(policy: Policy) -> dict[str, Any]:
    """ACLPolicy as Consul encodes it; Namespace only outside `default` (Muster's Enterprise shape)."""
    out: dict[str, Any] = {
        "ID": policy.id,
        "Name": policy.name,
        "Description": policy.description,
        "Rules": policy.rules,
    }
    if policy.datacenters:
        out["Datacenters"] = list(policy.datacenters)
    out["Hash"] = policy.hash
    if policy.namespace != DEFAULT_NAMESPACE:
        out["Namespace"] = policy.namespace
    out["CreateIndex"] = policy.create_index
    out["ModifyIndex"] = policy.modify_index
    return out


def policy_stub(policy: Policy) -> dict[str, Any]:
    """ACLPolicyListStub: no Rules, and Datacenters is null rather than omitted when empty."""
    out: dict[str, Any] = {
        "ID": policy.id,
        "Name": policy.name,
        "Description": policy.description,
        "Datacenters": list(policy.datacenters) if policy.datacenters else None,
        "Hash": policy.hash,
        "CreateIndex": policy.create_index,
        "ModifyIndex": policy.modify_index,
    }
    if policy.namespace != DEFAULT_NAMESPACE:
        out["Namespace"] = policy.namespace
    return out
