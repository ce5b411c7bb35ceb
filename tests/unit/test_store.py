from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from muster.errors import StoreError
from muster.store import RESERVE_BYTES, RESERVE_NAME, Delete, Put, SQLiteStore, frees_space


@pytest.mark.asyncio
async def test_many_concurrent_commits_share_fsyncs_and_all_land(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    store.start(asyncio.get_running_loop())
    applied: list[int] = []
    await asyncio.gather(
        *(
            store.commit([Put("services", "default", f"s{i}", b"{}")], lambda i=i: applied.append(i))
            for i in range(200)
        )
    )
    store.close()
    assert list(range(200)) == applied  # applied in commit order
    assert store.stats.batches < 200  # group commit: fewer transactions than callers
    reopened = SQLiteStore(tmp_path / "db")
    assert 200 == len(list(reopened.load("services")))
    reopened.close()


@pytest.mark.asyncio
async def test_delete_removes_a_row(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    store.start(asyncio.get_running_loop())
    await store.commit([Put("checks", "ns", "c", b"1")], lambda: None)
    await store.commit([Delete("checks", "ns", "c")], lambda: None)
    assert [] == list(store.load("checks"))
    store.close()


@pytest.mark.asyncio
async def test_failed_write_raises_and_applies_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    store.start(asyncio.get_running_loop())
    applied: list[str] = []
    with pytest.raises(StoreError, match="Failed to persist the change"):
        await store.commit([Put("no_such_table", "ns", "x", b"1")], lambda: applied.append("x"))
    assert [] == applied
    assert 1 == store.stats.errors
    store.close()


def test_meta_round_trips(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    store.set_meta("node_id", "abc")
    assert "abc" == store.get_meta("node_id")
    assert store.get_meta("missing") is None
    store.close()


def test_the_store_keeps_its_wal_index_in_memory_and_holds_a_reserve(tmp_path: Path) -> None:
    (tmp_path / "db-shm").write_bytes(b"\0" * 32768)  # left by a version that mapped it
    store = SQLiteStore(tmp_path / "db")
    store.set_meta("node_id", "abc")
    assert ["db", "db-wal", RESERVE_NAME] == sorted(path.name for path in tmp_path.iterdir())
    assert RESERVE_BYTES == (tmp_path / RESERVE_NAME).stat().st_size
    assert [("exclusive",), (0,)] == [
        store._conn.execute(pragma).fetchone() for pragma in ("PRAGMA locking_mode", "PRAGMA mmap_size")
    ]
    store.close()


def test_only_changes_that_delete_and_write_no_more_than_acl_bookkeeping_free_space() -> None:
    service, check = Delete("services", "ns", "s"), Delete("checks", "ns", "c")
    acl_index = Put("acl_state", "", "index", b"7")
    assert [True, True, False, False, False] == [
        frees_space([service, check]),
        frees_space([Delete("acl_tokens", "", "t"), acl_index]),
        frees_space([acl_index]),
        frees_space([service, Put("services", "ns", "s2", b"{}")]),
        frees_space([]),
    ]


def test_changes_to_one_key_in_one_batch_leave_the_last(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    store.write_now([Put("checks", "ns", "deleted-later", b"1"), Put("checks", "ns", "put-again", b"1")])
    store.write_now(
        [
            Delete("checks", "ns", "deleted-later"),
            Put("checks", "ns", "put-later", b"1"),
            Delete("checks", "ns", "put-later"),
            Put("checks", "ns", "put-later", b"2"),
            Delete("checks", "ns", "put-again"),
            Put("checks", "ns", "put-again", b"3"),
            Put("checks", "other", "put-twice", b"4"),
            Put("checks", "other", "put-twice", b"5"),
        ]
    )
    rows = sorted(store.load("checks"))
    store.close()
    assert [("ns", "put-again", b"3"), ("ns", "put-later", b"2"), ("other", "put-twice", b"5")] == rows
    assert 10 == store.stats.ops  # every op counts, even those a later one in the batch overrode


def test_a_batch_larger_than_one_statement_lands_whole_in_several_tables(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    puts = [Put(table, "ns", f"k{i}", b"x") for table in ("services", "checks") for i in range(300)]
    store.write_now(puts)
    store.write_now([Delete("services", "ns", f"k{i}") for i in range(0, 300, 2)])
    services, checks = list(store.load("services")), list(store.load("checks"))
    store.close()
    assert sorted(f"k{i}" for i in range(1, 300, 2)) == sorted(key for _, key, _ in services)
    assert 300 == len(checks)


def test_a_failed_statement_undoes_the_whole_batch(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    with pytest.raises(StoreError, match="no such table"):
        store.write_now([Put("services", "ns", "a", b"1"), Put("no_such_table", "ns", "b", b"1")])
    assert [] == list(store.load("services"))
    store.close()


@pytest.mark.asyncio
async def test_the_writer_checkpoints_the_wal_into_the_database_between_batches(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    store.start(asyncio.get_running_loop())
    before = (tmp_path / "db").stat().st_size
    for i in range(150):  # ~2 WAL frames each: SQLite's own checkpoint waits for 1,000
        await store.commit([Put("services", "ns", f"s{i}", b"x" * 2000)], lambda: None)
    after = (tmp_path / "db").stat().st_size
    store.close()
    assert after - before >= 100 * 2000  # the rows reached the database file, not only the WAL
