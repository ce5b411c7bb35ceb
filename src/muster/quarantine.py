"""Stored rows that cannot be applied at start-up are set aside, never fatal: each is moved to the
store's `quarantine` table with the reason, logged once, and reported as a `store` alert, so one bad
row (written by an older version, or edited by hand) cannot keep the agent from starting."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from muster.store import QUARANTINE_TABLE, Delete, Op, Put

log = logging.getLogger("muster.store")
T = TypeVar("T")


class QuarantinedRow(msgspec.Struct):
    """The quarantine table's body (its ns is the row's table, its id `namespace/key`): the row as it
    was, and why it could not be applied."""

    Table: str
    Namespace: str
    ID: str
    Reason: str
    QuarantinedAt: float
    Body: bytes


@dataclass
class Quarantine:
    rows: list[QuarantinedRow]
    ops: list[Op]

    def __init__(self) -> None:
        self.rows = []
        self.ops = []

    def restore(
        self, table: str, namespace: str, key: str, body: bytes, apply: Callable[[bytes], None]
    ) -> bool:
        """Apply one stored row; on any failure set it aside and answer False."""
        try:
            apply(body)
        except Exception as exc:  # noqa: BLE001 - whatever a bad row raises, start-up goes on
            self.set_aside(table, namespace, key, body, f"{type(exc).__name__}: {exc}")
            return False
        return True

    def decode(self, table: str, namespace: str, key: str, body: bytes, kind: type[T]) -> T | None:
        """Decode one stored row as `kind`; None (and the row set aside) when it does not decode."""
        try:
            return msgspec.json.decode(body, type=kind)
        except msgspec.DecodeError as exc:
            self.set_aside(table, namespace, key, body, f"DecodeError: {exc}")
            return None

    def set_aside(self, table: str, namespace: str, key: str, body: bytes, reason: str) -> None:
        row = QuarantinedRow(table, namespace, key, reason, time.time(), body)
        self.rows.append(row)
        self.ops += [
            Put(QUARANTINE_TABLE, table, f"{namespace}/{key}", msgspec.json.encode(row)),
            Delete(table, namespace, key),
        ]
        log.error(
            "stored %s row %s/%s cannot be applied (%s): moved to the quarantine table, start-up goes on",
            table,
            namespace,
            key,
            reason,
        )

    def holds(self, table: str, namespace: str, key: str) -> bool:
        return any((row.Table, row.Namespace, row.ID) == (table, namespace, key) for row in self.rows)

    def summary(self) -> str:
        """The `store` alert's text while quarantined rows exist from this start."""
        names = ", ".join(f"{row.Table} {row.Namespace}/{row.ID}" for row in self.rows[:5])
        more = f" and {len(self.rows) - 5} more" if len(self.rows) > 5 else ""
        return (
            f"{len(self.rows)} stored rows could not be applied at start-up and were moved to the "
            f"quarantine table: {names}{more}"
        )
