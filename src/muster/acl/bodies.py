"""The ACL API's request bodies (agent/structs/acl.go ACLPolicy and ACLToken, api.BootstrapRequest) as
typed Structs; the fields Consul returns and ignores when given back (Hash, the indexes) are accepted."""

from __future__ import annotations

from typing import Any

import msgspec

from muster.bodytypes import BodyType, Duration, GoStruct
from muster.models import Int64


class PolicyBody(GoStruct):
    go_type = "structs.ACLPolicy"

    id: str = ""
    name: str = ""
    description: str = ""
    rules: str = ""
    datacenters: list[str] = msgspec.field(default_factory=list)
    hash: str = ""
    create_index: Int64 = 0
    modify_index: Int64 = 0
    namespace: str = ""
    partition: str = ""


class PolicyLink(GoStruct):
    go_type = "structs.ACLTokenPolicyLink"

    id: str = ""
    name: str = ""


class RoleLink(PolicyLink):
    """A policy link's fields under another Go type (which error texts name)."""

    go_type = "structs.ACLTokenRoleLink"


class ServiceIdentityBody(GoStruct):
    go_type = "structs.ACLServiceIdentity"

    service_name: str = ""
    datacenters: list[str] = msgspec.field(default_factory=list)


class NodeIdentityBody(GoStruct):
    go_type = "structs.ACLNodeIdentity"

    node_name: str = ""
    datacenter: str = ""


class TokenBody(GoStruct):
    """A token create, update or clone body; `accessor_id` is None when the body has none."""

    go_type = "structs.ACLToken"

    accessor_id: str | None = None
    secret_id: str = ""
    description: str = ""
    policies: list[PolicyLink] = msgspec.field(default_factory=list)
    roles: list[RoleLink] = msgspec.field(default_factory=list)
    service_identities: list[ServiceIdentityBody] = msgspec.field(default_factory=list)
    node_identities: list[NodeIdentityBody] = msgspec.field(default_factory=list)
    templated_policies: Any = None  # Muster has none: only read to name the first in the error
    local: bool = False
    auth_method: str = ""
    expiration_time: str = ""
    expiration_ttl: Duration = Duration(0)
    create_time: str = ""
    hash: str = ""
    create_index: Int64 = 0
    modify_index: Int64 = 0
    namespace: str = ""
    partition: str = ""
    auth_method_namespace: str = ""


class BootstrapRequest(GoStruct):
    go_type = "api.BootstrapRequest"

    bootstrap_secret: str = ""


POLICY_BODY = BodyType(PolicyBody)
TOKEN_BODY = BodyType(TokenBody)
BOOTSTRAP_REQUEST = BodyType(BootstrapRequest)
