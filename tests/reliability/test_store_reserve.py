"""The store's reserve on a real, nearly full tmpfs, in process: while the file system has no room for
`muster.reserve`, only changes that free space are written; once it has, everything is again."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from muster.errors import StoreError
from muster.store import FULL, RESERVE_BYTES, RESERVE_NAME, Delete, Op, Put, SQLiteStore
from tests.reliability.disks import fill, small_tmpfs


async def outcome(store: SQLiteStore, ops: list[Op]) -> str:
    try:
        await store.commit(ops, lambda: None)
    except StoreError as exc:
        return exc.text
    return "ok"


@pytest.mark.asyncio
async def test_without_room_for_the_reserve_only_deletions_are_written(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "data", "12m") as data:
        store = SQLiteStore(data / "muster.db")
        store.start(asyncio.get_running_loop())
        try:
            assert RESERVE_BYTES == (data / RESERVE_NAME).stat().st_size
            put = Put("services", "default", "a", b"{}")
            assert "ok" == await outcome(store, [put])
            (data / RESERVE_NAME).unlink()  # as if released earlier
            store.reserve.held = False
            filler = fill(data)
            os.truncate(
                filler, filler.stat().st_size - (1 << 20)
            )  # 1 MiB free: room for rows, not the reserve
            refused = f"Failed to persist the change: {FULL}"
            small = Put("services", "default", "b", b"{}")
            assert (refused, True) == (await outcome(store, [small]), store.stats.disk_full)
            token: list[Op] = [Delete("acl_tokens", "default", "t"), Put("acl_state", "", "index", b"9")]
            mixed: list[Op] = [small, Delete("checks", "default", "c")]  # it puts: refused
            assert ["ok", "ok"] == [
                await outcome(store, [Delete("services", "default", "a")]),
                await outcome(store, token),
            ]
            assert refused == await outcome(store, mixed)
            filler.unlink()
            assert ("ok", False, False) == (
                await outcome(store, [small]),
                store.stats.disk_full,
                store.stats.failing,
            )
            assert RESERVE_BYTES == (data / RESERVE_NAME).stat().st_size
        finally:
            store.close()
        reopened = SQLiteStore(data / "muster.db")
        try:
            assert [("default", "b", b"{}")] == list(reopened.load("services"))
        finally:
            reopened.close()
