"""The etcd members as the catalog's servers: the member list from the member the agent's channel
reaches, each member's own Maintenance.Status over a channel to it, all under short deadlines. What
etcd cannot say now is answered from what this agent last heard, never with an error or a wait."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from muster.catalog.etcd_client import EtcdClient, EtcdUnavailable, Member, MemberStatus
from muster.catalog.servers import ServerInfo, ServerView, StableSince
from muster.errors import ConfigError

log = logging.getLogger("muster.catalog")
MEMBERS_TIMEOUT = 2.0  # seconds for the member list, then for all the members' statuses at once
STATUS_TIMEOUT = 1.0
_NANOS = 1_000_000_000


def peer_address(member: Member) -> str:
    """host:port of the member's first peer URL, as Consul lists a server's raft address."""
    if not member.peer_urls:
        return ""
    try:
        parts = urlsplit(member.peer_urls[0])
        return parts.netloc.rpartition("@")[2] or member.peer_urls[0]
    except ValueError:
        return member.peer_urls[0]


class EtcdServers:
    """This agent is a client of the etcd servers (`Config.Server` false). A member is healthy when it
    answers its status, follows a leader and raises no alarm; `LastContact` is how long ago this agent
    last heard from it (0 on the leader)."""

    is_server = False

    def __init__(
        self,
        client: Callable[[], EtcdClient],
        endpoints: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.endpoints = endpoints  # configured etcd endpoints: what is known before any member list
        self.monotonic = monotonic
        self.stable = StableSince()
        self._members: list[Member] = []  # the last member list etcd gave
        self._last: dict[int, MemberStatus] = {}  # each member's last status
        self._heard: dict[int, float] = {}  # monotonic time of its last status, or of first sight
        self._pending: asyncio.Future[ServerView] | None = None

    def known(self) -> int:
        return len(self._members) or self.endpoints

    async def view(self) -> ServerView:
        """Concurrent callers share one round of calls to etcd."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self._read())
        return await asyncio.shield(self._pending)

    async def _read(self) -> ServerView:
        client = self.client()
        try:
            self._members = await client.members(MEMBERS_TIMEOUT)
            await client.retain_member_clients({url for m in self._members for url in m.client_urls[:1]})
            ids = {member.id for member in self._members}
            self._last = {key: value for key, value in self._last.items() if key in ids}
            self._heard = {key: value for key, value in self._heard.items() if key in ids}
        except EtcdUnavailable as exc:
            log.debug("etcd member list: %s", exc)  # answered from the last list
        statuses = await asyncio.gather(*(self._status(client, member) for member in self._members))
        now = self.monotonic()
        answered = {member.id: status for member, status in zip(self._members, statuses, strict=True)}
        for member_id, status in answered.items():
            self._heard.setdefault(member_id, now)
            if status is not None:
                self._last[member_id], self._heard[member_id] = status, now
        leader = _leader(status for status in answered.values() if status is not None)
        servers = tuple(self._server(member, answered[member.id], leader, now) for member in self._members)
        return ServerView(servers, self._index(leader))

    async def _status(self, client: EtcdClient, member: Member) -> MemberStatus | None:
        if not member.client_urls:  # added to the cluster, not started yet
            return None
        try:
            return await client.member_client(member.client_urls[0]).status(STATUS_TIMEOUT)
        except (EtcdUnavailable, ConfigError) as exc:
            log.debug("etcd member %s status: %s", member.name or f"{member.id:x}", exc)
            return None

    def _server(self, member: Member, status: MemberStatus | None, leader: int, now: float) -> ServerInfo:
        last = status or self._last.get(member.id)
        healthy = status is not None and status.leader != 0 and not status.errors
        is_leader = member.id == leader
        server_id = f"{member.id:x}"
        return ServerInfo(
            id=server_id,
            name=member.name,
            address=peer_address(member),
            leader=is_leader,
            voter=not member.learner,
            healthy=healthy,
            serf_status="alive" if status is not None else "failed",
            version=last.version if last is not None else "",
            last_contact=0 if is_leader else int((now - self._heard[member.id]) * _NANOS),
            last_term=last.raft_term if last is not None else 0,
            last_index=last.raft_index if last is not None else 0,
            stable_since=self.stable.observe(server_id, healthy),
        )

    def _index(self, leader: int) -> int:
        status = self._last.get(leader)
        if status is not None:
            return status.raft_index
        return max((status.raft_index for status in self._last.values()), default=0)


def _leader(statuses: Iterable[MemberStatus]) -> int:
    """The leader the members that answered follow, by the newest raft term; 0 when none knows one."""
    best: tuple[int, int] = (0, 0)
    for status in statuses:
        if status.leader and status.raft_term >= best[0]:
            best = (status.raft_term, status.leader)
    return best[1]
