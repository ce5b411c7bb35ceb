"""The catalog's servers, as Consul's monitoring endpoints report them (`/v1/status/leader`, `/peers`,
`/v1/operator/raft/configuration`, `/v1/operator/autopilot/health`): with the embedded store the agent
is its own and only server; on etcd the etcd members are (etcd_servers.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from muster import CONSUL_API_VERSION

if TYPE_CHECKING:
    from muster.agent.identity import NodeIdentity
    from muster.agent.state import LocalState
    from muster.store import Store

SERVER_PORT = 8300  # Consul's server RPC port: the port of this agent's address as a server
_NANOS = 1_000_000_000


@dataclass(frozen=True)
class ServerInfo:
    """One server as autopilot reports it. Times are nanoseconds: `last_contact` a duration (0 on the
    leader), `stable_since` wall-clock time since the Unix epoch."""

    id: str
    name: str
    address: str  # host:port of its raft (etcd: peer) endpoint
    leader: bool
    voter: bool
    healthy: bool
    serf_status: str  # Consul's words: alive, failed (left and none are not used)
    version: str
    last_contact: int
    last_term: int
    last_index: int
    stable_since: int


@dataclass(frozen=True)
class ServerView:
    servers: tuple[ServerInfo, ...]
    index: int  # the raft index the view was read at (Consul's raft configuration `Index`)

    @property
    def leader_address(self) -> str:
        """The leader's address, "" when no leader is known (Consul's answer without one)."""
        return next((server.address for server in self.servers if server.leader), "")

    @property
    def healthy(self) -> bool:
        """Autopilot's cluster health: every server healthy (no servers known is not healthy)."""
        return bool(self.servers) and all(server.healthy for server in self.servers)

    @property
    def failure_tolerance(self) -> int:
        """How many more voters may fail before the quorum is lost."""
        voters = [server for server in self.servers if server.voter]
        healthy_voters = sum(1 for server in voters if server.healthy)
        return max(0, healthy_voters - (len(voters) // 2 + 1))


class Servers(Protocol):
    is_server: bool  # whether this agent is one of the servers (`Config.Server`)

    def known(self) -> int:
        """How many servers this agent knows of, without asking anyone (`Stats.consul.known_servers`)."""

    async def view(self) -> ServerView:
        """The servers now; never raises and never waits longer than a few seconds."""


class StableSince:
    """When each server's health last changed, as this agent saw it when asked: autopilot's StableSince."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._since: dict[str, tuple[bool, int]] = {}

    def observe(self, server_id: str, healthy: bool, first_seen: float | None = None) -> int:
        """The time (ns) since which `server_id` has had this health; `first_seen` stands in for the first
        observation's time when it is known better (this agent's own start)."""
        previous = self._since.get(server_id)
        if previous is None or previous[0] != healthy:
            start = first_seen if previous is None and first_seen is not None else self.clock()
            previous = (healthy, int(start * _NANOS))
            self._since[server_id] = previous
        return previous[1]


class LocalServers:
    """The agent with the embedded store is its own catalog server and leader: one voter, healthy while
    its store makes writes durable (the latest batch of writes did not fail and the disk is not full)."""

    is_server = True

    def __init__(
        self,
        node: NodeIdentity,
        address: Callable[[], str],
        store: Store,
        state: LocalState,
        started_at: float,
    ) -> None:
        self.node = node
        self.address = address
        self.store = store
        self.state = state
        self.started_at = started_at
        self.stable = StableSince()

    def known(self) -> int:
        return 1

    async def view(self) -> ServerView:
        stats = self.store.stats
        healthy = not (stats.failing or stats.disk_full)
        index = self.state.index
        this = ServerInfo(
            id=self.node.id,
            name=self.node.name,
            address=self.address(),
            leader=True,
            voter=True,
            healthy=healthy,
            serf_status="alive",
            version=CONSUL_API_VERSION,
            last_contact=0,
            last_term=1,  # one term: there is never an election
            last_index=index,
            stable_since=self.stable.observe(self.node.id, healthy, self.started_at),
        )
        return ServerView((this,), index)
