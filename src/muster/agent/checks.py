"""Check operations on the agent: runner results, TTL updates (durable, §2.10, §3.5), check
register and deregister (§2.9), service and node maintenance (§2.6, §2.15), and the reaper (§3.8)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Protocol

import msgspec

from muster.agent.checktable import CheckTable
from muster.agent.locks import ServiceLocks
from muster.agent.registration import check_tags_by_checks, definition_for_register, unknown_service
from muster.agent.scripts import ScriptPolicy
from muster.agent.state import LocalState
from muster.bodies import CheckDefinitionBody
from muster.checks.base import output_cap, ttl_output
from muster.checks.definition import validate_check
from muster.errors import BadRequest, NotFound, StoreError
from muster.golang import quote
from muster.models import (
    CHECK_STATUSES,
    CRITICAL,
    NODE_MAINTENANCE_ID,
    SERVICE_MAINTENANCE_PREFIX,
    CheckDefinition,
)
from muster.quarantine import Quarantine
from muster.store import Delete, Put, Store

log = logging.getLogger("muster.checks")
_encode = msgspec.json.Encoder().encode
SERVICE_MAINTENANCE_NOTE = (
    "Maintenance mode is enabled for this service, but no reason was provided. This is a default message."
)
NODE_MAINTENANCE_NOTE = (
    "Maintenance mode is enabled for this node, but no reason was provided. This is a default message."
)


class TTLState(msgspec.Struct):
    CheckID: str
    Output: str
    Status: str
    Expires: float  # unix seconds


def unknown_check(check_id: str) -> NotFound:
    return NotFound(
        f"Unknown check ID {quote(check_id)}. Ensure that the check ID is passed, not the check name."
    )


def _missing_service(service_id: str) -> NotFound:
    return NotFound(f"ServiceID {quote(service_id)} does not exist")


class TTLTimers(Protocol):
    """What TTL updates need of the check runner."""

    def ttl_updated(self, key: tuple[str, str], ttl_ns: int, output: str) -> None: ...
    def restore_ttl_output(self, key: tuple[str, str], output: str) -> None: ...


@dataclass
class CheckSettings:
    """The config a reload may change: the output cap and the reaper's pace."""

    output_max_size: int
    reap_interval: float
    deregister_interval_min: float


class CheckOps:
    def __init__(
        self,
        state: LocalState,
        store: Store,
        locks: ServiceLocks,
        table: CheckTable,
        scripts: ScriptPolicy,
        timers: TTLTimers,
        settings: CheckSettings,
        deregister_service: Callable[[str, str], Awaitable[None]],
    ) -> None:
        self.state = state
        self.store = store
        self.locks = locks
        self.table = table
        self.scripts = scripts
        self.timers = timers
        self.settings = settings
        self.deregister_service = deregister_service  # the reaper's way out (ServiceWrites.deregister)
        self.critical_since: dict[tuple[str, str], float] = {}

    # -- results from runners and timers: memory only, as Consul -----------------
    def record_check_result(self, namespace: str, check_id: str, status: str, output: str) -> None:
        key = (namespace, check_id)
        check = self.state.checks.get(key)
        if check is None:
            return
        if status == CRITICAL:
            self.critical_since.setdefault(key, time.monotonic())
        else:
            self.critical_since.pop(key, None)
        if check.status == status and check.output == output:
            return
        status_changed = check.status != status
        check.status = status
        check.output = output
        if status_changed:
            self.state.check_changed(check)
        else:
            self.state.output_version += 1
        # Output-only changes are visible at once but wake no blocking query: Consul likewise defers
        # syncing them (check_update_interval), so watchers are not woken on every probe.

    def check_updated(self, definition: CheckDefinition | None, namespace: str, check_id: str) -> None:
        """A check listener: a removed check leaves no reaper clock behind (memory grew with churn)."""
        if definition is None:
            self.critical_since.pop((namespace, check_id), None)

    def reset_reap_clock(self, namespace: str, check_id: str) -> None:
        """A service re-registration clears the reaper's clock (§3.7)."""
        self.critical_since.pop((namespace, check_id), None)

    # -- TTL updates ------------------------------------------------------------------
    async def ttl_update(self, namespace: str, check_id: str, status: str, output: str) -> None:
        key = (namespace, check_id)
        check = self.state.checks.get(key)
        if check is None:
            raise unknown_check(check_id)
        definition = check.definition
        if definition.ttl <= 0:
            raise BadRequest(f"CheckID {quote(check_id)} does not have associated TTL")
        output = ttl_output(output, output_cap(definition, self.settings.output_max_size))
        state = TTLState(check_id, output, status, time.time() + definition.ttl / 1e9)
        put = Put("check_state", namespace, check_id, _encode(state))

        def apply() -> None:
            if key in self.state.checks:
                self.record_check_result(namespace, check_id, status, output)
                self.timers.ttl_updated(key, definition.ttl, output)

        try:
            await self.store.commit([put] if definition.source == "remote" else [], apply)
        except StoreError as exc:
            # Liveness must not depend on the disk: the refresh holds in memory, as Consul's does,
            # and the answer says it was not saved (a restart would find the last saved state).
            apply()
            raise StoreError(f"failed persisting state for check {quote(check_id)}: {exc.text}") from None

    def restore_ttl_states(
        self, rows: Iterable[tuple[str, str, bytes]], quarantine: Quarantine
    ) -> list[Delete]:
        """At start, TTL checks take back their status within their window; stale rows go (§5)."""
        stale: list[Delete] = []
        now = time.time()
        for namespace, check_id, body in rows:
            check = self.state.checks.get((namespace, check_id))
            if check is None:
                stale.append(Delete("check_state", namespace, check_id))
                continue
            saved = quarantine.decode("check_state", namespace, check_id, body, TTLState)
            if saved is None:
                continue
            if saved.Status not in CHECK_STATUSES:
                quarantine.set_aside(
                    "check_state", namespace, check_id, body, f"unknown status {saved.Status!r}"
                )
                continue
            if saved.Expires <= now:
                stale.append(Delete("check_state", namespace, check_id))
                continue
            check.status, check.output = saved.Status, saved.Output
            self.timers.restore_ttl_output((namespace, check_id), saved.Output)
        return stale

    # -- /v1/agent/check/register and deregister ----------------------------------------
    def prepare_check(
        self,
        body: CheckDefinitionBody,
        *,
        namespace: str,
        token: str,
        source: str = "remote",
        services: Collection[tuple[str, str]] | None = None,
    ) -> CheckDefinition:
        """Steps 7-8 of §2.9 (the caller did 1-6): check type validation, then the service exists (in
        `services` when given: a reload validates against the services it is about to have)."""
        validate_check(body, embedded=False)
        definition = definition_for_register(body, namespace=namespace, token=token, source=source)
        if definition.service_id:
            key = (namespace, definition.service_id)
            entry = self.state.service(*key)
            known = key in services if services is not None else entry is not None
            if not known:
                raise _missing_service(definition.service_id)
            if entry is not None:
                others = {c.definition.check_id for c in self.state.checks_of(*key)} - {definition.check_id}
                check_tags_by_checks(len(entry.service.tags or ()), len(others) + 1)
        return definition

    def check_scripts(self, definition: CheckDefinition) -> None:
        """Step 10 of §2.9: Consul answers 500 here; a client's mistake, so Muster answers 400."""
        self.scripts.require([definition], definition.source)

    async def register_check(
        self, definition: CheckDefinition, vet: Callable[[], None] = lambda: None
    ) -> None:
        """`vet` (the endpoint's ACL decisions) runs again just before the commit, holding the lock of
        the check's service."""
        namespace, service_id = definition.namespace, definition.service_id
        if not service_id:
            await self._register_check_locked(definition, vet)
            return
        await self.locks.run([(namespace, service_id)], lambda: self._register_check_locked(definition, vet))

    async def _register_check_locked(self, definition: CheckDefinition, vet: Callable[[], None]) -> None:
        key = (definition.namespace, definition.check_id)
        if definition.service_id and self.state.service(key[0], definition.service_id) is None:
            raise _missing_service(definition.service_id)  # deregistered while this call waited
        vet()

        def apply() -> None:
            self.table.put(definition)
            if key in self.critical_since:  # still critical: critical since now (§3.7)
                self.critical_since[key] = time.monotonic()

        put = Put("checks", definition.namespace, definition.check_id, _encode(definition))
        await self.store.commit([put], apply)

    async def deregister_check(self, namespace: str, check_id: str) -> None:
        if (namespace, check_id) not in self.state.checks:
            raise unknown_check(check_id)
        ops = [Delete("checks", namespace, check_id), Delete("check_state", namespace, check_id)]
        await self.store.commit(ops, lambda: self.table.remove(namespace, check_id))

    # -- maintenance -------------------------------------------------------------------
    async def service_maintenance(
        self, namespace: str, service_id: str, enable: bool, reason: str, token: str
    ) -> None:
        if self.state.service(namespace, service_id) is None:
            raise unknown_service(service_id)
        check_id = SERVICE_MAINTENANCE_PREFIX + service_id
        definition = CheckDefinition(
            check_id=check_id,
            name="Service Maintenance Mode",
            namespace=namespace,
            service_id=service_id,
            status=CRITICAL,
            notes=reason or SERVICE_MAINTENANCE_NOTE,
            type="maintenance",
            token=token,
            source="local",
        )

        async def locked() -> None:
            if self.state.service(namespace, service_id) is None:  # deregistered meanwhile
                raise unknown_service(service_id)
            await self._maintenance(definition, enable)

        await self.locks.run([(namespace, service_id)], locked)

    async def node_maintenance(self, enable: bool, reason: str, token: str) -> None:
        definition = CheckDefinition(
            check_id=NODE_MAINTENANCE_ID,
            name="Node Maintenance Mode",
            status=CRITICAL,
            notes=reason or NODE_MAINTENANCE_NOTE,
            type="maintenance",
            token=token,
            source="local",
        )
        await self._maintenance(definition, enable)

    async def _maintenance(self, definition: CheckDefinition, enable: bool) -> None:
        namespace, check_id = definition.namespace, definition.check_id
        present = (namespace, check_id) in self.state.checks
        if enable and not present:  # idempotent: an existing maintenance keeps its reason
            put = Put("checks", namespace, check_id, _encode(definition))
            await self.store.commit([put], lambda: self.table.put(definition))
        elif not enable and present:
            await self.deregister_check(namespace, check_id)

    # -- the reaper ----------------------------------------------------------------------
    async def reap_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reap_interval)
            try:
                await self.reap_once()
            except Exception:
                log.exception("reaping critical services failed")

    async def reap_once(self) -> None:
        now = time.monotonic()
        minimum = self.settings.deregister_interval_min
        doomed: set[tuple[str, str]] = set()
        for key, since in list(self.critical_since.items()):
            check = self.state.checks.get(key)
            if check is None or check.status != CRITICAL or not check.definition.service_id:
                continue
            after = check.definition.deregister_critical_service_after / 1e9
            if after > 0 and now - since > max(after, minimum):
                doomed.add((key[0], check.definition.service_id))
        for namespace, service_id in doomed:
            if self.state.service(namespace, service_id) is not None:
                log.info(
                    "reaping service %s: critical for longer than DeregisterCriticalServiceAfter", service_id
                )
                await self.deregister_service(namespace, service_id)
