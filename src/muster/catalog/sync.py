"""Anti-entropy, as Consul's agent/ae: this agent's node, services and checks are written to etcd
promptly after a change and fully compared every `catalog.sync_interval` (jittered), which repairs
anything edited or deleted behind the agent's back. Liveness is a lease the agent keeps alive; the
`alive` keys ride on it, so a dead agent's instances read critical once the lease TTL runs out.
A reaper removes nodes dead longer than `reconnect_timeout`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any

import msgspec

from muster.catalog.etcd import EtcdCatalog
from muster.catalog.etcd_client import EtcdUnavailable
from muster.catalog.layout import (
    DECODE_DEAD,
    DECODE_NODE,
    ENCODE,
    DeadDoc,
    InstanceDoc,
    NodeDoc,
    ServiceRef,
    check_without_token,
    node_of_key,
    without_token,
)
from muster.models import Check

if TYPE_CHECKING:
    from muster.agent.state import LocalState
    from muster.catalog.config import CatalogConfig
    from muster.catalog.local import LocalCatalog

log = logging.getLogger("muster.catalog.sync")
MAX_TXN_OPS = 100  # etcd's --max-txn-ops defaults to 128
DEBOUNCE_SECONDS = 0.01  # let a burst of registrations go out as one transaction
RETRY_SECONDS = 1.0


def _ranges_of(alive: set[bytes]) -> set[bytes]:
    """The prefixes this node writes under: each holds one of its alive keys (node/<n>/, svc/.../<n>/)."""
    return {key[: -len(b"alive")] for key in alive}


def _print(check: Check) -> tuple[int, str, str]:
    return (id(check.definition), check.status, check.output)


def _quiet(check: Check) -> Check:
    """A check without its output: output-only changes wait for the next full sync (Consul's
    check_update_interval), so a chatty check does not write to etcd on every run."""
    return msgspec.structs.replace(check, output="") if check.output else check


class CatalogSync:
    def __init__(
        self, state: LocalState, local: LocalCatalog, config: CatalogConfig, catalog: EtcdCatalog
    ) -> None:
        self.state = state
        self.local = local  # this node and its `consul` service, as the local catalog shows them
        self.config = config
        self.catalog = catalog
        self.layout = catalog.layout
        self.node_name = local.identity.name
        self.lease = 0
        self.written: dict[bytes, bytes] = {}  # our documents as etcd last acknowledged them
        self.written_quiet: dict[bytes, bytes] = {}
        self.written_alive: set[bytes] = set()  # leased keys put under self.lease
        self.owned: set[bytes] = set()  # service ranges of this node, ever written (for drift repair)
        self.in_sync = False
        self.last_error = ""  # why the last pass or lease call failed; "" once a pass succeeds
        self.last_cause = ""  # the last etcd error ever seen, kept after recovery for the status
        self.broken_since: float | None = None  # monotonic time the sync broke, None while it works
        self.last_full_sync = 0.0
        self.writes = 0
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._leased = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._encoded: dict[tuple[str, str], tuple[Any, bytes, bytes]] = {}

    # -- what this node should look like in etcd ----------------------------------------------------
    def desired(self) -> tuple[dict[bytes, bytes], dict[bytes, bytes], set[bytes]]:
        """(documents, the same without check outputs, leased alive keys)."""
        state, layout = self.state, self.layout
        node = msgspec.structs.replace(self.local.this_node(), create_index=0, modify_index=0)
        node_checks = sorted(
            (check_without_token(c) for c in state.checks.values() if not c.definition.service_id),
            key=lambda c: c.definition.check_id,
        )
        services = [self.local.consul_service] + [
            entry.service for _, entry in sorted(state.services.items())
        ]
        docs: dict[bytes, bytes] = {}
        quiet: dict[bytes, bytes] = {}
        alive = {layout.node_alive(node.name)}
        refs = []
        node_print = (ENCODE.encode(node), tuple(_print(c) for c in node_checks))
        encoded: dict[tuple[str, str], tuple[Any, bytes, bytes]] = {}
        for service in services:
            ns, name, sid = service.namespace, service.name, service.id
            own = sorted(state.checks_of(ns, sid), key=lambda c: c.definition.check_id)
            key = layout.instance(ns, name, node.name, sid)
            # Services are replaced, never edited, and a check's state is its status and output:
            # an unchanged instance reuses last pass's bytes (a full pass over 1,000 costs ~25 ms).
            fingerprint = (id(service), node_print, tuple(_print(c) for c in own))
            cached = self._encoded.get((ns, sid))
            if cached is None or cached[0] != fingerprint:
                checks = node_checks + [check_without_token(c) for c in own]
                doc = InstanceDoc(node=node, service=without_token(service), agent=True, checks=checks)
                quiet_doc = msgspec.structs.replace(doc, checks=[_quiet(c) for c in checks])
                cached = (fingerprint, ENCODE.encode(doc), ENCODE.encode(quiet_doc))
            encoded[(ns, sid)] = cached
            docs[key], quiet[key] = cached[1], cached[2]
            alive.add(layout.service_alive(ns, name, node.name))
            refs.append(ServiceRef(ns, name, sid, list(service.tags)))
        self._encoded = encoded
        record = NodeDoc(node=node, agent=True, checks=node_checks, services=refs)
        key = layout.node_record(node.name)
        docs[key] = ENCODE.encode(record)
        quiet[key] = ENCODE.encode(msgspec.structs.replace(record, checks=[_quiet(c) for c in node_checks]))
        return docs, quiet, alive

    # -- life cycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        self.state.on_change(self._wake.set)
        self._full.set()
        self._tasks = [
            asyncio.create_task(self._sync_loop(), name="catalog sync"),
            asyncio.create_task(self._full_sync_timer(), name="catalog full sync timer"),
            asyncio.create_task(self._keep_alive_loop(), name="catalog lease"),
            asyncio.create_task(self._reap_loop(), name="catalog reaper"),
        ]

    async def stop(self) -> None:
        """Leave: stop syncing and revoke the lease, so this node's instances turn critical across the
        fleet now (drain start), not a lease TTL later. Catalog reads keep working until the end."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.lease:
            with contextlib.suppress(EtcdUnavailable, TimeoutError):
                async with asyncio.timeout(2):
                    await self.catalog.client.revoke(self.lease)
            self.lease = 0

    def _failed(self, exc: Exception) -> None:
        """Logged once when the sync breaks; later failures (retries, other texts) only at debug."""
        cause = str(exc) or type(exc).__name__
        if self.broken_since is None:
            self.broken_since = time.monotonic()
            log.warning(
                "catalog sync with etcd broken: %s; local changes are kept and synced when etcd answers",
                cause,
            )
        elif cause != self.last_error:
            log.debug("catalog sync with etcd still broken: %s", cause)
        self.in_sync = False
        self.last_error = self.last_cause = cause
        self.catalog.note_contact(False)

    def _synced(self) -> None:
        if self.broken_since is not None:
            log.info("catalog sync with etcd restored after %.0fs", time.monotonic() - self.broken_since)
            self.broken_since = None
        self.in_sync = True
        self.last_error = ""
        self.catalog.note_contact(True)

    # -- loops ----------------------------------------------------------------------------------------
    async def _sync_loop(self) -> None:
        await self._leased.wait()
        while True:
            if not self._full.is_set() and self.in_sync:
                wake = asyncio.ensure_future(self._wake.wait())
                full = asyncio.ensure_future(self._full.wait())
                try:
                    await asyncio.wait([wake, full], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wake.cancel()
                    full.cancel()
                await asyncio.sleep(DEBOUNCE_SECONDS)
            full_pass = self._full.is_set() or not self.in_sync
            self._wake.clear()
            self._full.clear()
            try:
                await (self.full_sync() if full_pass else self.partial_sync())
                self._synced()
            except EtcdUnavailable as exc:
                self._failed(exc)
                self._full.set()
                await asyncio.sleep(RETRY_SECONDS)

    async def _full_sync_timer(self) -> None:
        interval = self.config.sync_interval
        while True:
            await asyncio.sleep(interval * random.uniform(0.75, 1.25))
            self._full.set()

    async def _keep_alive_loop(self) -> None:
        ttl = self.config.etcd.lease_ttl
        while True:
            try:
                if not self.lease or await self.catalog.client.keep_alive(self.lease) <= 0:
                    self.lease = await self.catalog.client.grant(ttl)
                    self.written_alive.clear()
                    self._full.set()  # the alive keys go out again on the new lease
                    self._leased.set()
                self.catalog.note_contact(True)
            except EtcdUnavailable as exc:
                self._failed(exc)
                await asyncio.sleep(min(RETRY_SECONDS, ttl / 3))
                continue
            await asyncio.sleep(ttl / 3)

    # -- one pass -------------------------------------------------------------------------------------
    async def partial_sync(self) -> None:
        """Write what changed since the last write (check outputs excepted), delete what went."""
        docs, quiet, alive = self.desired()
        puts = [(k, v, 0) for k, v in docs.items() if self.written_quiet.get(k) != quiet[k]]
        deletes = [k for k in self.written if k not in docs]
        await self._write(puts, deletes, docs, quiet, alive)

    async def full_sync(self) -> None:
        """Compare everything of this node's in etcd with the local state and repair the difference."""
        if not self.lease:
            raise EtcdUnavailable("no lease yet")
        docs, quiet, alive = self.desired()
        ranges = self.owned | _ranges_of(alive) | await self._recorded_ranges()
        _, kvs = await self.catalog.client.ranges(sorted(ranges))
        present = {kv.key: kv for kv in kvs}
        puts = [(k, v, 0) for k, v in docs.items() if k not in present or present[k].value != v]
        deletes = [k for k, kv in present.items() if k not in docs and k not in alive]
        if deletes and not self.last_full_sync:
            log.warning(
                "node %s: removing %d catalog entries this agent does not hold", self.node_name, len(deletes)
            )
        stale_alive = {k for k in alive if k not in present or present[k].lease != self.lease}
        self.written_alive -= stale_alive
        await self._write(puts, deletes, docs, quiet, alive, extra_deletes=[self.layout.dead(self.node_name)])
        await self.catalog.client.put_if_absent(self.layout.datacenter_key(), b"")
        self.last_full_sync = time.time()

    async def _recorded_ranges(self) -> set[bytes]:
        """The service ranges the node's record in etcd names: entries registered for this node name
        through /v1/catalog/register before its agent ran are this agent's to remove (its node is its)."""
        key = self.layout.node_record(self.node_name)
        _, found = await self.catalog.client.get_many([key])
        if key not in found:
            return set()
        record = DECODE_NODE.decode(found[key].value)
        return {self.layout.service_node(ref.namespace, ref.name, self.node_name) for ref in record.services}

    async def _write(
        self,
        puts: list[tuple[bytes, bytes, int]],
        deletes: list[bytes],
        docs: dict[bytes, bytes],
        quiet: dict[bytes, bytes],
        alive: set[bytes],
        extra_deletes: list[bytes] | None = None,
    ) -> None:
        puts += [(k, b"", self.lease) for k in sorted(alive - self.written_alive)]
        deletes += [k for k in self.written_alive if k not in alive]
        deletes += extra_deletes or []
        # One transaction when it fits (a change is all-or-nothing); etcd caps operations per transaction.
        step = MAX_TXN_OPS
        for start in range(0, max(len(puts), len(deletes)), step):
            await self.catalog.client.write(puts[start : start + step], deletes[start : start + step])
            self.writes += 1
        self.written = dict(docs)
        self.written_quiet = dict(quiet)
        self.written_alive = set(alive)
        self.owned |= _ranges_of(alive)

    # -- reaping ----------------------------------------------------------------------------------------
    async def _reap_loop(self) -> None:
        timeout = self.config.reconnect_timeout
        period = min(3600.0, max(1.0, timeout / 10))
        while True:
            await asyncio.sleep(period * random.uniform(0.75, 1.25))
            with contextlib.suppress(EtcdUnavailable):
                if await self.holds_reaper():
                    await self.reap(timeout)

    async def holds_reaper(self) -> bool:
        """Take the datacenter's reaper key if it is free (it rides on our lease, so it frees itself when
        its holder dies); only its holder reads the node list, not every agent."""
        if not self.lease:
            return False
        key = self.layout.reaper()
        if await self.catalog.client.put_if_absent(key, self.node_name.encode(), self.lease):
            return True
        _, found = await self.catalog.client.get_many([key])
        holder = found.get(key)
        return holder is not None and holder.lease == self.lease

    async def reap(self, reconnect_timeout: float) -> None:
        """Mark nodes whose lease is gone as dead (once), and remove those dead longer than timeout."""
        base = self.layout.nodes()
        _, kvs = await self.catalog.client.ranges([base, self.layout.dead()])
        records: dict[str, NodeDoc] = {}
        alive: set[str] = set()
        dead: dict[str, float] = {}
        dead_base = self.layout.dead()
        for kv in kvs:
            if kv.key.startswith(dead_base):
                with contextlib.suppress(ValueError):
                    dead[node_of_key(kv.key, dead_base)[0]] = DECODE_DEAD.decode(kv.value).since
                continue
            node, rest = node_of_key(kv.key, base)
            if rest == "alive":
                alive.add(node)
            elif rest == "record":
                with contextlib.suppress(ValueError):
                    records[node] = DECODE_NODE.decode(kv.value)
        now = time.time()
        for node, doc in records.items():
            if not doc.agent or node in alive or node == self.node_name:
                continue
            since = dead.get(node)
            if since is None:
                await self.catalog.client.put_if_absent(self.layout.dead(node), ENCODE.encode(DeadDoc(now)))
            elif now - since > reconnect_timeout:
                log.info("reaping node %s: dead for %.0f s (reconnect_timeout)", node, now - since)
                prefixes = [self.layout.node(node)] + [
                    self.layout.service_node(ref.namespace, ref.name, node) for ref in doc.services
                ]
                await self.catalog.client.write(deletes=[self.layout.dead(node)], delete_prefixes=prefixes)
        stale = [self.layout.dead(node) for node in dead if node in alive]
        if stale:
            await self.catalog.client.write(deletes=stale)
