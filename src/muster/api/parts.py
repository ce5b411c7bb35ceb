"""What the HTTP API reaches: the agent's parts, named one by one (`typing.Protocol`), so the handlers
depend on these and not on the `Agent` class. The composition root (agent/root.py) satisfies it.

`config` is read through the holder at every request because a reload replaces it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from muster.acl.manager import ACLManager
    from muster.agent.checks import CheckOps
    from muster.agent.services import ServiceWrites
    from muster.agent.state import LocalState
    from muster.bodycache import BodyCache
    from muster.catalog import Catalog
    from muster.catalog.etcd import EtcdCatalog
    from muster.catalog.external_entries import ExternalWrites
    from muster.catalog.servers import Servers
    from muster.checks.runner import CheckRunner
    from muster.config import AgentConfig
    from muster.metrics import AgentMetrics
    from muster.status.registry import StatusRegistry


class AgentParts(Protocol):
    config: AgentConfig
    state: LocalState  # the local services and checks, and their change index
    services: ServiceWrites  # service registration and deregistration
    check_ops: CheckOps  # check registration, TTL updates, maintenance
    runner: CheckRunner  # check execution statistics for /v1/agent/self
    acl: ACLManager
    catalog: Catalog  # the local or the etcd catalog, whichever answers catalog reads
    fleet: EtcdCatalog | None  # the etcd catalog (the fleet's members), when catalog.backend = etcd
    external: ExternalWrites  # /v1/catalog/register and /deregister: on etcd, or the local catalog's
    catalog_bodies: BodyCache  # encoded catalog and health answers (api/catalog.py)
    servers: Servers  # the catalog's servers: this agent (embedded store) or the etcd members
    status: StatusRegistry
    metrics: AgentMetrics
    requests_by_route: dict[str, int]

    @property
    def node_id(self) -> str: ...

    def reload(self) -> None: ...
