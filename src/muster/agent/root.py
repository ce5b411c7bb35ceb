"""The Agent: builds and owns the local state and the store, and performs every change durably:
validate, write to the store, and apply to memory once the write is fsync'd (§2.4, §2.5, §5)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import functools
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

from muster import config as config_mod
from muster.acl.manager import ACLManager
from muster.agent.checks import CheckOps, CheckSettings
from muster.agent.checktable import CheckTable
from muster.agent.config_entries import config_checks, config_registrations
from muster.agent.identity import NodeIdentity
from muster.agent.locks import ServiceLocks
from muster.agent.scripts import ScriptPolicy
from muster.agent.services import ServiceWrites, parts
from muster.agent.state import LocalState
from muster.bodycache import BodyCache
from muster.catalog import Catalog
from muster.catalog.external_entries import ExternalWrites
from muster.catalog.local import LocalCatalog
from muster.catalog.local_external import ExternalNodes
from muster.catalog.servers import SERVER_PORT, LocalServers, Servers
from muster.checks.runner import CheckRunner
from muster.config import AgentConfig
from muster.errors import ConfigError
from muster.metrics import AgentMetrics
from muster.models import CRITICAL, CheckDefinition, Service
from muster.quarantine import Quarantine
from muster.status.registry import StatusRegistry
from muster.status.subsystems import register_subsystems
from muster.store import Delete, MemoryStore, Op, SQLiteStore, Store

if TYPE_CHECKING:
    from muster.catalog.etcd import EtcdCatalog
    from muster.catalog.sync import CatalogSync

log = logging.getLogger("muster.agent")
_encode = msgspec.json.Encoder().encode
_decode_service = msgspec.json.Decoder(Service).decode
_decode_check = msgspec.json.Decoder(CheckDefinition).decode


class Agent:
    def __init__(self, config: AgentConfig, flags: dict[str, Any] | None = None) -> None:
        self.config = config
        self.flags = dict(flags or {})  # kept so a reload resolves config exactly as the start did
        self.started_at = time.time()
        self.state = LocalState(config.node_name, config.datacenter)
        self.store: Store
        self._lock_file: IO[str] | None = None
        self.node = NodeIdentity(
            config.node_name, config.datacenter, config.bind_addr, dict(config.node_meta)
        )
        if config.data_dir is None:
            self.store = MemoryStore()
        else:
            self.store = self._open_store(config.data_dir)
        self._build_catalog(config)
        self.scripts = ScriptPolicy(config.enable_script_checks, config.enable_local_script_checks)
        self.runner = CheckRunner(self.state, self, config.check_output_max_size, self.scripts.allowed)
        self.service_locks = ServiceLocks()
        self.quarantine = Quarantine()  # stored rows set aside at start-up
        self._config_check_keys: set[tuple[str, str]] = set()  # top-level config-file checks
        # Parts built outside the root (the DNS server) take their new config section from a reload.
        self.reload_listeners: list[Callable[[AgentConfig], None]] = []
        self._build_writes(config)
        self.servers = self._build_servers(config)
        # Counted by the HTTP dispatcher per route path; read by the `http-api` status at debug.
        self.requests_by_route: dict[str, int] = {}
        self.catalog_bodies = BodyCache()  # encoded catalog and health answers, see api/catalog.py
        self._build_status(config)
        self.acl = ACLManager(
            config.acl,
            self.store,
            node_name=config.node_name,
            datacenter=config.datacenter,
            data_dir=config.data_dir,
        )
        self.metrics = AgentMetrics(  # read at scrape time; the dispatcher times requests into it
            state=self.state,
            store=self.store,
            runner=self.runner,
            status=self.status,
            requests_by_route=self.requests_by_route,
            started_at=self.started_at,
        )

    def _build_catalog(self, config: AgentConfig) -> None:
        """The local catalog (this node and the external nodes kept in the store) and, with
        catalog.backend = etcd, the fleet catalog that answers reads and takes catalog writes instead."""
        self.external_nodes = ExternalNodes(self.state, self.store, self.node)
        self.local_catalog = LocalCatalog(self.state, self.node, self.external_nodes)
        self.catalog: Catalog = self.local_catalog
        self.external: ExternalWrites = self.external_nodes  # /v1/catalog/register and /deregister
        self.fleet: EtcdCatalog | None = None  # the etcd catalog, when catalog.backend = etcd
        self.catalog_sync: CatalogSync | None = None
        if config.catalog.backend == "etcd":
            # grpcio and etcd's stubs cost ~20 MiB of RSS: loaded only for the fleet catalog.
            from muster.catalog.etcd import EtcdCatalog
            from muster.catalog.external import EtcdExternalWrites
            from muster.catalog.sync import CatalogSync

            self.fleet = EtcdCatalog(config.catalog, config.datacenter)
            self.catalog = self.fleet
            self.external = EtcdExternalWrites(self.fleet)
            self.catalog_sync = CatalogSync(self.state, self.local_catalog, config.catalog, self.fleet)

    def _build_writes(self, config: AgentConfig) -> None:
        """The check table, the check and service write services, and who listens to check changes."""
        self.check_table = CheckTable(self.state)
        self.check_settings = CheckSettings(
            config.check_output_max_size, config.check_reap_interval, config.check_deregister_interval_min
        )
        self.check_ops = CheckOps(
            self.state,
            self.store,
            self.service_locks,
            self.check_table,
            self.scripts,
            self.runner,
            self.check_settings,
            lambda namespace, service_id: self.services.deregister(namespace, service_id),
        )
        self.check_table.listeners += [self.runner.update, self.check_ops.check_updated]
        self.services = ServiceWrites(
            self.state,
            self.store,
            self.service_locks,
            self.check_table,
            self.scripts,
            self.check_ops.reset_reap_clock,
        )

    def _build_servers(self, config: AgentConfig) -> Servers:
        """The catalog's servers: this agent with the embedded store, the etcd members on etcd."""
        if self.fleet is not None:
            from muster.catalog.etcd_servers import EtcdServers

            fleet = self.fleet
            return EtcdServers(lambda: fleet.client, len(config.catalog.etcd.endpoints))
        return LocalServers(self.node, self._server_address, self.store, self.state, self.started_at)

    def _server_address(self) -> str:
        """This agent's address as a server: the bind address a reload may change, read at each answer."""
        return f"{self.config.bind_addr}:{SERVER_PORT}"

    def _build_status(self, config: AgentConfig) -> None:
        """The status registry and its built-in subsystems (catalog-sync with the fleet catalog)."""
        self.status = StatusRegistry(
            exclude_from_rollup=config.status_exclude_from_rollup,
            include_in_rollup=config.status_include_in_rollup,
        )
        self.status.change_marker = self._status_marker
        register_subsystems(
            self.status,
            state=self.state,
            store=self.store,
            runner=self.runner,
            quarantine=self.quarantine,
            requests_by_route=self.requests_by_route,
            cpu_interval_seconds=config.status_cpu_metrics_interval_seconds,
        )
        if self.catalog_sync is not None and self.fleet is not None:
            from muster.status.catalog_sync import register_catalog_sync

            register_catalog_sync(self.status, self.catalog_sync, self.fleet)

    @property
    def node_id(self) -> str:
        return self.node.id

    # -- lifecycle -----------------------------------------------------------
    def _open_store(self, data_dir: Path) -> SQLiteStore:
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._lock_file = (data_dir / "muster.lock").open("w")
        except OSError as exc:
            raise ConfigError(f"{data_dir}: cannot use data dir: {exc.strerror}") from None
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConfigError(f"{data_dir}: data dir is in use by another muster agent") from None
        try:
            return SQLiteStore(data_dir / "muster.db")
        except sqlite3.Error as exc:  # a full or read-only disk at the first start, a damaged file
            raise ConfigError(f"{data_dir}: cannot open the store: {exc}") from None

    def load(self) -> None:
        """Restore state at start: config services first, then persisted ones; config wins (§5). A stored
        row that cannot be applied is quarantined, never fatal (quarantine.py)."""
        node_id = self.store.get_meta("node_id")
        if node_id is None:
            node_id = str(uuid.uuid4())
            self.store.set_meta("node_id", node_id)
        self.node.id = node_id
        self.acl.load(self.quarantine)
        for registration in config_registrations(self.config, self.scripts, self.services.validate):
            self.services.apply(registration, [])
        purge: list[Op] = []
        for namespace, service_id, body in self.store.load("services"):
            if (namespace, service_id) in self.state.services:
                purge.append(Delete("services", namespace, service_id))
                continue
            self.quarantine.restore("services", namespace, service_id, body, self._restore_service)
        restore_check = functools.partial(self._restore_check, purge=purge)
        for namespace, check_id, body in self.store.load("checks"):
            self.quarantine.restore("checks", namespace, check_id, body, restore_check)
        for definition in config_checks(self.config, self.scripts, self.check_ops.prepare_check):
            self.check_table.put(definition)
            self._config_check_keys.add((definition.namespace, definition.check_id))
        purge += self.check_ops.restore_ttl_states(self.store.load("check_state"), self.quarantine)
        self.external_nodes.restore(self.quarantine)
        purge += self.quarantine.ops
        if purge:
            self.store.write_now(purge)

    def _restore_service(self, body: bytes) -> None:
        self.state.put_service(_decode_service(body))

    def _restore_check(self, body: bytes, purge: list[Op]) -> None:
        definition = _decode_check(body)
        namespace, check_id, owner = definition.namespace, definition.check_id, definition.service_id
        if (namespace, check_id) in self.state.checks or (
            owner and self.state.service(namespace, owner) is None
        ):
            if self.quarantine.holds("services", namespace, owner):
                raise LookupError(f"its service {owner!r} was quarantined")
            purge += [Delete("checks", namespace, check_id), Delete("check_state", namespace, check_id)]
            return
        try:
            # A restored check starts critical whatever it was; TTL state may restore it below (§5).
            self.check_table.put(msgspec.structs.replace(definition, status=CRITICAL))
        except Exception:
            with contextlib.suppress(Exception):
                self.check_table.remove(namespace, check_id)
            raise

    def _status_marker(self) -> tuple[int, int, int]:
        """Moves whenever a subsystem's status could: any change, any store write or failure."""
        stats = self.store.stats
        return (self.state.index, stats.commits, stats.errors)

    def record_check_result(self, namespace: str, check_id: str, status: str, output: str) -> None:
        """The one notifier every runner reports through."""
        self.check_ops.record_check_result(namespace, check_id, status, output)

    def start_store(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the store's writer on the serving loop (the in-memory store of -dev has none)."""
        self.store.start(loop)

    async def start_catalog(self) -> None:
        """Begin syncing to and watching etcd (catalog.backend = etcd); local answers never wait on it."""
        if self.catalog_sync is not None and self.fleet is not None:
            await self.fleet.start()
            await self.catalog_sync.start()

    async def leave_catalog(self) -> None:
        """On SIGTERM, before draining: this node's instances leave the fleet's healthy answers."""
        if self.catalog_sync is not None:
            await self.catalog_sync.stop()

    async def stop_catalog(self) -> None:
        await self.leave_catalog()
        if self.fleet is not None:
            await self.fleet.stop()

    def close(self) -> None:
        self.state.waiters.close()
        self.store.close()
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                self._lock_file.close()

    # -- config reload ---------------------------------------------------------
    def reload(self) -> None:
        """Re-read the config files: config-defined services and checks are replaced; API-registered
        ones and maintenance modes stay. Everything is validated before anything changes."""
        fresh = config_mod.load(self.flags, dict(os.environ))
        self._refuse_restart_only_changes(fresh)
        scripts = ScriptPolicy(fresh.enable_script_checks, fresh.enable_local_script_checks)
        registrations = config_registrations(fresh, scripts, self.services.validate)
        fresh_keys = {(part.service.namespace, part.service.id) for r in registrations for part in parts(r)}
        remote = {key for key, entry in self.state.services.items() if entry.service.source != "local"}
        checks = config_checks(fresh, scripts, self.check_ops.prepare_check, services=remote | fresh_keys)
        # Valid as a whole: from here on nothing refuses.
        self.config = fresh
        self.scripts.enable_script_checks = scripts.enable_script_checks
        self.scripts.enable_local_script_checks = scripts.enable_local_script_checks
        for key, entry in list(self.state.services.items()):
            if entry.service.source == "local" and key not in fresh_keys:
                self.services.remove_now(entry.service)
        for registration in registrations:
            # Checks that stay keep their status across a reload (§5 step 4); dropped ones go.
            service = registration.service
            keep = {check.check_id for check in registration.checks}
            stale = [
                (c.definition.namespace, c.definition.check_id)
                for c in self.state.checks_of(service.namespace, service.id)
                if c.definition.check_id not in keep
                and c.definition.source == "local"
                and c.definition.type != "maintenance"  # maintenance outlives a reload, as in Consul
                and (c.definition.namespace, c.definition.check_id) not in self._config_check_keys
            ]
            self.services.apply(registration, stale)
        self._reload_config_checks(checks)
        self.acl.reconfigure(fresh.acl)
        self.runner.reconfigure(fresh.check_output_max_size)
        self.check_settings.output_max_size = fresh.check_output_max_size
        self.check_settings.reap_interval = fresh.check_reap_interval
        self.check_settings.deregister_interval_min = fresh.check_deregister_interval_min
        for listener in self.reload_listeners:
            listener(fresh)
        logging.getLogger().setLevel(config_mod.LOG_LEVELS.get(fresh.log_level, logging.INFO))

    def _refuse_restart_only_changes(self, fresh: AgentConfig) -> None:
        """What only a restart can change: half-applied, a node rename or ACLs turned off would leave the
        agent inconsistent, or less strict than its files say. Listeners and ports keep their start's."""
        old = self.config
        changed = [
            name
            for name, before, after in (
                ("node_name", old.node_name, fresh.node_name),
                ("datacenter", old.datacenter, fresh.datacenter),
                ("data_dir", old.data_dir, fresh.data_dir),
                ("acl.enabled", old.acl.enabled, fresh.acl.enabled),
                ("catalog.backend", old.catalog.backend, fresh.catalog.backend),
            )
            if before != after
        ]
        if changed:
            raise ConfigError(f"{', '.join(changed)} cannot change at reload: restart the agent")

    def _reload_config_checks(self, checks: list[CheckDefinition]) -> None:
        fresh = {(definition.namespace, definition.check_id) for definition in checks}
        for namespace, check_id in self._config_check_keys - fresh:
            if (namespace, check_id) in self.state.checks:
                self.check_table.remove(namespace, check_id)
        for definition in checks:
            self.check_table.put(definition)  # one that stays keeps its status
        self._config_check_keys = fresh


def open_agent(config: AgentConfig, flags: dict[str, Any]) -> Agent:
    """Build the agent and restore its state. A full or unwritable disk, or a store that is no SQLite
    database, stops the start with the data dir named (sqlite3 raises its own errors there)."""
    try:
        instance = Agent(config, flags)
        log.info(
            "data dir: %s", config.data_dir if config.data_dir else "none (-dev: state is kept in memory)"
        )
        instance.load()
    except sqlite3.Error as exc:
        log.debug("start-up failed", exc_info=True)
        raise ConfigError(f"{config.data_dir}: cannot open the store: {exc}") from None
    except OSError as exc:
        log.debug("start-up failed", exc_info=True)
        raise ConfigError(f"{exc.filename or config.data_dir}: {exc.strerror or exc}") from None
    state = instance.state
    log.info(
        "node %s in datacenter %s: %d services, %d checks, %d external nodes restored",
        config.node_name,
        config.datacenter,
        len(state.services),
        len(state.checks),
        len(instance.external_nodes.nodes),
    )
    return instance


def load_offline(config: AgentConfig) -> tuple[int, int]:
    """Load a configuration into a throw-away in-memory agent, as `muster validate` checks it: the
    number of services and checks it defines, or the ConfigError naming the file and key."""
    offline = Agent(dataclasses.replace(config, data_dir=None, dev=True))
    offline.load()
    return len(offline.state.services), len(offline.state.checks)
