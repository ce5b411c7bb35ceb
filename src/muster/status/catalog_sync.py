"""The `catalog-sync` status service (catalog.backend = etcd): `starting` until the first pass, `running`
while this agent's node is in sync with etcd, `error` while etcd cannot be reached or refuses writes
(local changes are kept and synced when it answers), with an alert naming etcd's last error. It is
left out of the rollup (`/status/v1/simple`) unless `include_in_rollup` names it: an etcd outage is
the whole fleet's, and the agent's local API and DNS keep working through it, so it must not take
every agent out of its load balancer. Info adds the lease and sync times; debug the live views."""

from __future__ import annotations

import time
from typing import Any

from muster import __version__
from muster.catalog.etcd import EtcdCatalog
from muster.catalog.sync import CatalogSync
from muster.status.levels import Level, Severity, State, level_to_int
from muster.status.registry import StatusRegistry

STATUS_VERSION = 1


class CatalogSyncStatus:
    def __init__(self, sync: CatalogSync, catalog: EtcdCatalog) -> None:
        self.sync = sync
        self.catalog = catalog

    def __call__(self, level: Level) -> dict[str, Any]:
        sync = self.sync
        state = self.state()
        rank = level_to_int(level)
        status: dict[str, Any] = {}
        if rank >= level_to_int(Level.INFO):
            contact = self.catalog.contact()
            status["endpoints"] = list(self.catalog.config.etcd.endpoints)
            status["in-sync"] = sync.in_sync
            status["lease-id"] = format(sync.lease, "x") if sync.lease else ""
            status["last-full-sync"] = (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sync.last_full_sync))
                if sync.last_full_sync
                else ""
            )
            status["last-contact-ms"] = contact.last_contact_ms
            status["writes"] = sync.writes
            status["views"] = len(self.catalog.views)
        if rank >= level_to_int(Level.DEBUG):
            status["watched-ranges"] = {
                prefix.decode(errors="replace"): {"keys": len(view.values), "index": view.revision}
                for prefix, view in sorted(self.catalog.views.items())
            }
        answer: dict[str, Any] = {"state": state, "status": status}
        if state is State.ERROR:
            answer["alerts"] = [
                {"severity": Severity.ERROR, "message": f"catalog not in sync with etcd: {self.cause()}"}
            ]
        return answer

    def state(self) -> State:
        sync = self.sync
        if sync.in_sync and self.catalog.connected:
            return State.RUNNING
        if not sync.in_sync and not sync.last_error and not sync.last_full_sync:
            return State.STARTING  # the first pass has neither finished nor failed yet
        return State.ERROR

    def cause(self) -> str:
        """Never empty: the sync's own error, else (a catalog watch lost etcd while writes still
        worked) the last etcd error seen and how long etcd has been silent."""
        if self.sync.last_error:
            return self.sync.last_error
        silent = self.catalog.contact().last_contact_ms
        endpoints = ", ".join(self.catalog.config.etcd.endpoints)
        text = f"no answer from etcd ({endpoints}) for {silent} ms"
        return f"{text}; last error: {self.sync.last_cause}" if self.sync.last_cause else text


def register_catalog_sync(registry: StatusRegistry, sync: CatalogSync, catalog: EtcdCatalog) -> None:
    registry.register_status(
        "catalog-sync",
        __version__,
        STATUS_VERSION,
        CatalogSyncStatus(sync, catalog),
        inline=True,
        rollup=False,
    )
