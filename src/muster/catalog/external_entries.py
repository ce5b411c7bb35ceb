"""External nodes (`/v1/catalog/register` and `/deregister`) as one value a node: the node, its node
checks, its services with theirs. `registered` and `deregistered` hold Consul's rules for both catalogs
that keep them (etcd's, external.py; the local one, local_external.py); they never change their input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from muster.catalog import NodeRecord
from muster.errors import BadRequest
from muster.models import Check, Service

RequireServiceWrite = Callable[[str], None]  # raises Forbidden unless the token may write that service


@dataclass
class ExternalService:
    service: Service
    checks: dict[str, Check] = field(default_factory=dict)  # by check ID
    create_index: int = 0  # kept by the local catalog (etcd's readers take its revisions)
    modify_index: int = 0


@dataclass
class ExternalNode:
    node: NodeRecord
    checks: dict[str, Check] = field(default_factory=dict)  # node checks by check ID
    services: dict[str, ExternalService] = field(default_factory=dict)  # by service ID: one each

    def check_ids(self) -> dict[str, str | None]:
        """Every check ID on the node, with the ID of the service holding it (None: a node check)."""
        held: dict[str, str | None] = dict.fromkeys(self.checks)
        for service_id, entry in self.services.items():
            held.update(dict.fromkeys(entry.checks, service_id))
        return held


@dataclass(frozen=True)
class Registration:
    """A decoded `/v1/catalog/register` body."""

    node: NodeRecord
    service: Service | None
    checks: list[Check]
    skip_node_update: bool = False


# One write of one node: its entries before (None: no such node) -> after (None: it goes)
Change = Callable[[ExternalNode | None], ExternalNode | None]


class ExternalWrites(Protocol):
    """What `/v1/catalog/register` and `/deregister` write through: the etcd catalog or the local one."""

    async def change(self, node: str, change: Change) -> None:
        """Apply `change` to the node's entries as one write (an agent's own node is refused)."""


def managed_by_agent(node: str) -> BadRequest:
    return BadRequest(
        f"Node {node!r} is managed by its agent: register through that agent's /v1/agent/service/register"
    )


def labelled(check: Check, service: Service | None) -> Check:
    """The check carrying its service's name and tags (none for a node check), as health answers show."""
    name, tags = (service.name, service.tags) if service is not None else ("", [])
    if (check.service_name, check.service_tags) == (name, tags):
        return check
    return msgspec.structs.replace(check, service_name=name, service_tags=tags)


def registered(
    existing: ExternalNode | None, registration: Registration, require_service_write: RequireServiceWrite
) -> ExternalNode:
    """The node after the registration. As Consul's vetRegisterWithACL, replacing a service ID held by
    another name, or writing a check of another service of the node, needs write on that service too;
    beyond it (differences.md 18), so does taking a check ID from another service: a check ID is the
    node's, and registering it again moves it."""
    node = existing.node if existing is not None and registration.skip_node_update else registration.node
    after = ExternalNode(node)
    if existing is not None:
        after.checks = dict(existing.checks)
        after.services = {
            sid: ExternalService(e.service, dict(e.checks), e.create_index, e.modify_index)
            for sid, e in existing.services.items()
        }
    service = registration.service
    if service is not None:
        old = after.services.get(service.id)
        kept: dict[str, Check] = {}
        if old is not None and old.service.name != service.name:
            require_service_write(old.service.name)  # one ID, one instance: it is replaced, checks and all
        elif old is not None:
            kept = {check_id: labelled(c, service) for check_id, c in old.checks.items()}
        after.services[service.id] = ExternalService(service, kept)
    for check in registration.checks:
        _place(after, check, service, require_service_write)
    return after


def _place(node: ExternalNode, check: Check, service: Service | None, require: RequireServiceWrite) -> None:
    definition = check.definition
    check_id, owner_id = definition.check_id, definition.service_id
    owner = node.services.get(owner_id) if owner_id else None
    if owner_id and owner is None:
        raise BadRequest(f"Unknown service ID {owner_id!r} for check {check_id!r}")
    registering = service.id if service is not None else None
    if owner is not None and owner_id != registering:
        require(owner.service.name)
    holder_id = node.check_ids().get(check_id)
    if holder_id and holder_id != owner_id:  # another service's check until now: it leaves that one
        holder = node.services[holder_id]
        if holder_id != registering:
            require(holder.service.name)
        del holder.checks[check_id]
    if owner is None:
        node.checks[check_id] = labelled(check, None)
    else:
        node.checks.pop(check_id, None)
        owner.checks[check_id] = labelled(check, owner.service)


def deregistered(existing: ExternalNode | None, service_id: str, check_id: str) -> ExternalNode | None:
    """The node after a deregistration, None when it goes. As Consul's FSM: a service ID wins over a
    check ID (its checks go with it); neither removes the node."""
    if existing is None or (not service_id and not check_id):
        return None
    services = dict(existing.services)
    checks = dict(existing.checks)
    if service_id:
        services.pop(service_id, None)
    elif check_id in checks:
        del checks[check_id]
    else:
        for sid, entry in services.items():
            if check_id in entry.checks:
                kept = {k: c for k, c in entry.checks.items() if k != check_id}
                services[sid] = ExternalService(entry.service, kept, entry.create_index, entry.modify_index)
    return ExternalNode(existing.node, checks, services)
