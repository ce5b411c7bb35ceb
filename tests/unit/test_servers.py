"""The catalog's servers without sockets: cluster health and failure tolerance, StableSince, the agent
as its own server, and the etcd members from a fake client (members that answer, that do not, a list
that cannot be read, a leader chosen by the newest term)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from muster.agent.identity import NodeIdentity
from muster.agent.state import LocalState
from muster.catalog.etcd_client import EtcdClient, EtcdUnavailable, Member, MemberStatus
from muster.catalog.etcd_servers import EtcdServers, peer_address
from muster.catalog.servers import LocalServers, ServerInfo, ServerView, StableSince
from muster.store import MemoryStore

NS = 1_000_000_000


def server(name: str, *, healthy: bool = True, voter: bool = True, leader: bool = False) -> ServerInfo:
    return ServerInfo(name, name, f"{name}:2380", leader, voter, healthy, "alive", "3.4", 0, 1, 1, 0)


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        ([True], (True, 0)),
        ([True, True, True], (True, 1)),
        ([True, True, False], (False, 0)),
        ([True, True, True, True, True], (True, 2)),
        ([False, False, False], (False, 0)),
        ([], (False, 0)),
    ],
)
def test_cluster_health_and_failure_tolerance(health: list[bool], expected: tuple[bool, int]) -> None:
    view = ServerView(tuple(server(f"s{i}", healthy=h) for i, h in enumerate(health)), 1)
    assert expected == (view.healthy, view.failure_tolerance)


def test_failure_tolerance_counts_voters_only() -> None:
    servers = (server("a"), server("b"), server("c"), server("learner", voter=False, healthy=False))
    assert (False, 1) == (ServerView(servers, 1).healthy, ServerView(servers, 1).failure_tolerance)


def test_leader_address_is_empty_without_a_leader() -> None:
    assert "" == ServerView((server("a"), server("b")), 1).leader_address
    assert "b:2380" == ServerView((server("a"), server("b", leader=True)), 1).leader_address


def test_stable_since_moves_only_when_health_changes() -> None:
    now = [100.0]
    stable = StableSince(lambda: now[0])
    assert 50 * NS == stable.observe("a", True, first_seen=50.0)
    now[0] = 120.0
    assert 50 * NS == stable.observe("a", True)
    assert 120 * NS == stable.observe("a", False)
    now[0] = 130.0
    assert 120 * NS == stable.observe("a", False)
    assert 130 * NS == stable.observe("a", True)
    assert 130 * NS == stable.observe("b", True)  # first sight, no better time known


@pytest.mark.asyncio
async def test_the_agent_is_its_own_server_until_its_store_fails() -> None:
    node = NodeIdentity("n1", "dc1", "10.0.0.1", id="node-id")
    store = MemoryStore()
    servers = LocalServers(node, lambda: "10.0.0.1:8300", store, LocalState("n1", "dc1"), 1000.0)
    view = await servers.view()
    [this] = view.servers
    expected = ("node-id", "n1", "10.0.0.1:8300", True, True, True, 0, 1, 1000 * NS)
    assert expected == (
        this.id, this.name, this.address, this.leader, this.voter, this.healthy, this.last_contact,
        this.last_term, this.stable_since,
    )  # fmt: skip
    assert (True, 0, "10.0.0.1:8300", 1) == (
        view.healthy,
        view.failure_tolerance,
        view.leader_address,
        servers.known(),
    )
    store.stats.failing = True
    failing = await servers.view()
    assert (False, False) == (failing.healthy, failing.servers[0].healthy)
    assert failing.servers[0].stable_since > 1000 * NS
    store.stats.failing, store.stats.disk_full = False, True
    assert False is (await servers.view()).healthy


# -- etcd members, from a fake client ----------------------------------------------------------------


def member(number: int, *, started: bool = True) -> Member:
    urls = (f"http://127.0.0.1:{2379 + number}",) if started else ()
    return Member(
        number, f"m{number}" if started else "", (f"http://127.0.0.1:{2380 + number}",), urls, False
    )


@dataclass
class FakeEtcd:
    members_list: list[Member]
    statuses: dict[str, MemberStatus | None]  # by client URL; None: does not answer
    list_fails: bool = False
    retained: list[set[str]] = field(default_factory=list)

    async def members(self, timeout: float) -> list[Member]:
        if self.list_fails:
            raise EtcdUnavailable("etcd: UNAVAILABLE: gone")
        return self.members_list

    async def retain_member_clients(self, urls: set[str]) -> None:
        self.retained.append(set(urls))

    def member_client(self, url: str) -> FakeMember:
        return FakeMember(self, url)


@dataclass
class FakeMember:
    etcd: FakeEtcd
    url: str

    async def status(self, timeout: float) -> MemberStatus:
        found = self.etcd.statuses.get(self.url)
        if found is None:
            raise EtcdUnavailable("etcd: UNAVAILABLE: connection refused")
        return found


def status(
    number: int, leader: int, term: int = 2, index: int = 10, errors: tuple[str, ...] = ()
) -> MemberStatus:
    return MemberStatus(number, leader, term, index, "3.4.23", errors)


def etcd_servers(fake: FakeEtcd, clock: list[float]) -> EtcdServers:
    return EtcdServers(lambda: fake, 3, lambda: clock[0])  # type: ignore[arg-type,return-value]


def by_name(view: ServerView) -> dict[str, ServerInfo]:
    return {server.name: server for server in view.servers}


@pytest.mark.asyncio
async def test_every_member_answering_is_a_healthy_cluster_with_one_leader() -> None:
    members = [member(1), member(2), member(3)]
    fake = FakeEtcd(members, {m.client_urls[0]: status(m.id, leader=2, index=10 + m.id) for m in members})
    servers = etcd_servers(fake, [5.0])
    assert 3 == servers.known()
    view = await servers.view()
    assert (True, 1, "127.0.0.1:2382") == (view.healthy, view.failure_tolerance, view.leader_address)
    assert ["1", "2", "3"] == [server.id for server in view.servers]  # hex member IDs
    assert [False, True, False] == [server.leader for server in view.servers]
    assert 12 == view.index  # the leader's raft index
    assert {("alive", "3.4.23", 2)} == {(s.serf_status, s.version, s.last_term) for s in view.servers}
    assert [{m.client_urls[0] for m in members}] == fake.retained


@pytest.mark.asyncio
async def test_a_member_that_does_not_answer_is_failed_with_what_was_last_heard() -> None:
    members = [member(1), member(2), member(3)]
    fake = FakeEtcd(members, {m.client_urls[0]: status(m.id, leader=1) for m in members})
    clock = [5.0]
    servers = etcd_servers(fake, clock)
    await servers.view()
    fake.statuses[members[2].client_urls[0]] = None
    clock[0] = 7.5
    view = await servers.view()
    down = by_name(view)["m3"]
    assert ("failed", False, 2 * NS + NS // 2) == (down.serf_status, down.healthy, down.last_contact)
    assert ("3.4.23", 2, 10) == (down.version, down.last_term, down.last_index)  # the last status
    assert (False, 0, True) == (view.healthy, view.failure_tolerance, by_name(view)["m1"].leader)


@pytest.mark.asyncio
async def test_members_without_a_leader_or_with_an_alarm_are_unhealthy() -> None:
    members = [member(1), member(2), member(3)]
    statuses = {
        members[0].client_urls[0]: status(1, leader=0),
        members[1].client_urls[0]: status(2, leader=3, errors=("NOSPACE",)),
        members[2].client_urls[0]: status(3, leader=3),
    }
    view = await etcd_servers(FakeEtcd(members, statuses), [0.0]).view()
    assert {"m1": False, "m2": False, "m3": True} == {s.name: s.healthy for s in view.servers}


@pytest.mark.asyncio
async def test_the_leader_is_the_one_followed_in_the_newest_term() -> None:
    members = [member(1), member(2), member(3)]
    statuses = {
        members[0].client_urls[0]: status(1, leader=1, term=2),  # a partitioned old leader
        members[1].client_urls[0]: status(2, leader=3, term=3),
        members[2].client_urls[0]: status(3, leader=3, term=3),
    }
    view = await etcd_servers(FakeEtcd(members, statuses), [0.0]).view()
    assert "127.0.0.1:2383" == view.leader_address


@pytest.mark.asyncio
async def test_an_unreadable_member_list_answers_from_the_last_one() -> None:
    members = [member(1), member(2)]
    fake = FakeEtcd(members, {m.client_urls[0]: status(m.id, leader=1) for m in members})
    servers = etcd_servers(fake, [0.0])
    await servers.view()
    fake.list_fails = True
    fake.statuses = {}
    view = await servers.view()
    assert (["m1", "m2"], "", False) == ([s.name for s in view.servers], view.leader_address, view.healthy)
    assert 2 == servers.known()


@pytest.mark.asyncio
async def test_no_member_list_ever_read_is_no_server() -> None:
    fake = FakeEtcd([], {}, list_fails=True)
    servers = etcd_servers(fake, [0.0])
    view = await servers.view()
    assert ((), 0, False, 3) == (view.servers, view.index, view.healthy, servers.known())


@pytest.mark.asyncio
async def test_a_member_not_started_yet_is_listed_and_failed() -> None:
    members = [member(1), member(2, started=False)]
    view = await etcd_servers(
        FakeEtcd(members, {members[0].client_urls[0]: status(1, leader=1)}), [0.0]
    ).view()
    assert [("m1", True), ("", False)] == [(s.name, s.healthy) for s in view.servers]


@pytest.mark.asyncio
async def test_concurrent_callers_share_one_round_of_calls() -> None:
    calls = []

    class Counting(FakeEtcd):
        async def members(self, timeout: float) -> list[Member]:
            calls.append(timeout)
            await asyncio.sleep(0.01)
            return self.members_list

    members = [member(1)]
    servers = etcd_servers(Counting(members, {members[0].client_urls[0]: status(1, leader=1)}), [0.0])
    first, second = await asyncio.gather(servers.view(), servers.view())
    assert (first, 1) == (second, len(calls))


def test_peer_address_is_host_and_port() -> None:
    assert "10.0.0.1:2380" == peer_address(Member(1, "m", ("https://10.0.0.1:2380",), (), False))
    assert "" == peer_address(Member(1, "m", (), (), False))


def test_the_real_client_is_what_the_fake_stands_for() -> None:
    for name in ("members", "retain_member_clients", "member_client", "status"):
        assert callable(getattr(EtcdClient, name))
