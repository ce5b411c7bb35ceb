"""X-Consul-Index and entry indexes that mean what Consul's mean (spec consul-reads §4): a read's index
is the index of what it covers, entries keep their CreateIndex and own ModifyIndex, and a blocking
query on `db` wakes for `db`'s changes (a deregistration included) and not for `web`'s. On the local
catalog and on the etcd one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess, Reply
from tests.e2e.targets import BlockedGet
from tests.e2e.test_fleet import Fleet, wait_for
from tests.etcdcluster import EtcdCluster

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")


def index_of(reply: Reply) -> int:
    raw = reply.header("X-Consul-Index")
    assert raw is not None, f"no X-Consul-Index ({reply.status} {reply.text[:200]})"
    return int(raw)


def register(agent: AgentProcess, name: str, service_id: str, *, status: str = "passing") -> None:
    body = {"Name": name, "ID": service_id, "Port": 80, "Check": {"TTL": "300s", "Status": status}}
    reply = agent.put("/v1/agent/service/register", body)
    assert 200 == reply.status, reply.text


def entry_indexes(reply: Reply) -> list[tuple[str, int, int]]:
    assert 200 == reply.status, reply.text
    return [
        (e["Service"]["ID"], e["Service"]["CreateIndex"], e["Service"]["ModifyIndex"]) for e in reply.json()
    ]


class Catalog:
    """The agent whose catalog is read and the one written through (the same one on a single agent)."""

    def __init__(self, reader: AgentProcess, writer: AgentProcess) -> None:
        self.reader, self.writer = reader, writer

    def settle(self, path: str, condition: Callable[[Reply], bool]) -> Reply:
        """On the fleet a write reaches the reader's view shortly after; locally at once."""

        def ready() -> Reply | None:
            reply = self.reader.get(path)
            return reply if reply.status == 200 and condition(reply) else None

        found: Reply = wait_for(ready, 10, path)
        return found


@pytest.fixture(scope="module")
def cluster() -> Iterator[EtcdCluster]:
    etcd = EtcdCluster(1).start()
    yield etcd
    etcd.close()


@pytest.fixture(params=["local", "etcd"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    if request.param == "local":
        agent = AgentProcess().start()
        yield Catalog(agent, agent)
        agent.close()
        return
    fleet = Fleet(request.getfixturevalue("cluster"), tmp_path)
    fleet.start("a", "b")
    yield Catalog(fleet["b"], fleet["a"])
    fleet.close()


def ids(reply: Reply) -> list[str]:
    return sorted(e["Service"]["ID"] for e in reply.json())


def test_an_unrelated_registration_moves_neither_the_index_nor_the_entries(catalog: Catalog) -> None:
    register(catalog.writer, "db", "db-1")
    first = catalog.settle("/v1/health/service/db", lambda r: ids(r) == ["db-1"])
    ((_, created, modified),) = entry_indexes(first)
    assert created == modified <= index_of(first)

    register(catalog.writer, "web", "web-1")
    catalog.settle("/v1/health/service/web", lambda r: ids(r) == ["web-1"])
    again = catalog.reader.get("/v1/health/service/db")
    assert (index_of(first), entry_indexes(first)) == (index_of(again), entry_indexes(again))
    same = catalog.reader.get("/v1/catalog/service/db")
    assert [(created, modified)] == [(e["CreateIndex"], e["ModifyIndex"]) for e in same.json()]


def test_a_blocking_query_on_db_does_not_wake_for_web(catalog: Catalog) -> None:
    register(catalog.writer, "db", "db-1")
    first = catalog.settle("/v1/health/service/db", lambda r: ids(r) == ["db-1"])
    watcher = BlockedGet(catalog.reader, f"/v1/health/service/db?index={index_of(first)}&wait=3s")
    time.sleep(0.3)
    register(catalog.writer, "web", "web-1")
    reply = watcher.result(15)
    assert watcher.elapsed >= 3.0, f"woke after {watcher.elapsed:.2f}s for a change to another service"
    assert (200, index_of(first)) == (reply.status, index_of(reply))


def test_a_change_to_db_wakes_it_and_moves_only_its_modify_index(catalog: Catalog) -> None:
    register(catalog.writer, "db", "db-1")
    register(catalog.writer, "db", "db-2")
    first = catalog.settle("/v1/health/service/db", lambda r: ids(r) == ["db-1", "db-2"])
    before = dict((sid, (c, m)) for sid, c, m in entry_indexes(first))
    watcher = BlockedGet(catalog.reader, f"/v1/health/service/db?index={index_of(first)}&wait=20s")
    time.sleep(0.3)
    reply = catalog.writer.put("/v1/agent/service/register", {"Name": "db", "ID": "db-2", "Port": 81})
    assert 200 == reply.status, reply.text
    woken = watcher.result(30)
    assert watcher.elapsed < 10, f"{watcher.elapsed:.2f}s"
    after = catalog.settle(
        "/v1/health/service/db", lambda r: any(e["Service"]["Port"] == 81 for e in r.json())
    )
    now = dict((sid, (c, m)) for sid, c, m in entry_indexes(after))
    assert before["db-1"] == now["db-1"]  # the other instance is untouched
    assert before["db-2"][0] == now["db-2"][0]  # CreateIndex kept
    assert now["db-2"][1] > before["db-2"][1]  # ModifyIndex moved
    assert index_of(woken) > index_of(first)


def test_a_deregistration_wakes_the_query_with_a_higher_index(catalog: Catalog) -> None:
    register(catalog.writer, "db", "db-1")
    first = catalog.settle("/v1/catalog/service/db", lambda r: len(r.json()) == 1)
    watcher = BlockedGet(catalog.reader, f"/v1/catalog/service/db?index={index_of(first)}&wait=20s")
    time.sleep(0.3)
    assert 200 == catalog.writer.put("/v1/agent/service/deregister/db-1").status
    reply = watcher.result(30)
    assert watcher.elapsed < 10, f"{watcher.elapsed:.2f}s"
    settled = catalog.settle("/v1/catalog/service/db", lambda r: r.json() == [])
    assert index_of(settled) > index_of(first)
    assert 200 == reply.status


def test_a_health_change_moves_the_service_index(catalog: Catalog) -> None:
    register(catalog.writer, "db", "db-1", status="critical")
    first = catalog.settle("/v1/health/service/db?passing", lambda r: r.json() == [])
    watcher = BlockedGet(catalog.reader, f"/v1/health/service/db?passing&index={index_of(first)}&wait=20s")
    time.sleep(0.3)
    assert 200 == catalog.writer.put("/v1/agent/check/pass/service:db-1").status
    reply = watcher.result(30)
    assert watcher.elapsed < 10, f"{watcher.elapsed:.2f}s"
    settled = catalog.settle("/v1/health/service/db?passing", lambda r: ids(r) == ["db-1"])
    assert index_of(settled) > index_of(first)
    assert 200 == reply.status


def test_an_unchanged_reregistration_moves_nothing_locally() -> None:
    agent = AgentProcess().start()
    try:
        body = {"Name": "db", "ID": "db-1", "Port": 80, "Tags": ["a"]}
        assert 200 == agent.put("/v1/agent/service/register", body).status
        first = agent.get("/v1/catalog/service/db")
        assert 200 == agent.put("/v1/agent/service/register", body).status
        again = agent.get("/v1/catalog/service/db")
        assert (index_of(first), first.json()) == (index_of(again), again.json())
    finally:
        agent.close()
