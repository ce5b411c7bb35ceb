"""Service register and deregister (Consul's AddService and RemoveService, §2.4, §2.5): the checks
Consul makes while adding, sidecar expansion, then one durable commit under the service locks and the
change applied to the local state once it is fsync'd. Decoding and ACLs stay in the endpoint."""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from muster.agent.checktable import CheckTable
from muster.agent.locks import ServiceLocks
from muster.agent.registration import (
    ServiceRegistration,
    build_registration,
    build_sidecar,
    check_tags_by_checks,
    unknown_service,
    validate_tagged_addresses,
)
from muster.agent.scripts import ScriptPolicy
from muster.agent.state import LocalState
from muster.bodies import ServiceBody
from muster.models import Service
from muster.store import Delete, Op, Put, Store

_encode = msgspec.json.Encoder().encode


def parts(registration: ServiceRegistration) -> list[ServiceRegistration]:
    """A registration and its sidecar, when it has one."""
    return [part for part in (registration, registration.sidecar) if part is not None]


class ServiceWrites:
    def __init__(
        self,
        state: LocalState,
        store: Store,
        locks: ServiceLocks,
        checks: CheckTable,
        scripts: ScriptPolicy,
        reset_reap_clock: Callable[[str, str], None],
    ) -> None:
        self.state = state
        self.store = store
        self.locks = locks
        self.checks = checks
        self.scripts = scripts
        self.reset_reap_clock = reset_reap_clock  # a re-registration clears the reaper's clock (§3.7)

    def prepare(self, body: ServiceBody, *, namespace: str, token: str) -> ServiceRegistration:
        """A decoded body as a registration, its sidecar's port chosen among the ports in use."""
        registration = build_registration(body, namespace=namespace, token=token, source="remote")
        sidecar = registration.sidecar_definition
        if sidecar is not None:  # `"SidecarService": {}` asks for all defaults
            service = registration.service
            sidecar_id = f"{service.id}-sidecar-proxy"
            existing = self.state.service(namespace, sidecar_id)
            used = {
                entry.service.port
                for entry in self.state.services.values()
                if entry.service.sidecar_of and entry.service.id != sidecar_id
            }
            if existing is not None and not sidecar.port:
                sidecar = msgspec.structs.replace(sidecar, port=existing.service.port)
            registration.sidecar = build_sidecar(service, sidecar, used, token)
        return registration

    def validate(self, registration: ServiceRegistration, scripts: ScriptPolicy | None = None) -> None:
        """Step 13 of §2.4: checks Consul makes while adding (a 500 there, a 400 in Muster). A reload
        validates with the policy it is about to apply."""
        for part in parts(registration):
            validate_tagged_addresses(part.service.tagged_addresses)
            (scripts or self.scripts).require(part.checks, part.service.source)
            service = part.service
            kept = {c.definition.check_id for c in self.state.checks_of(service.namespace, service.id)}
            checks = len(kept | {c.check_id for c in part.checks})
            check_tags_by_checks(len(service.tags or ()), checks)

    async def register(
        self,
        registration: ServiceRegistration,
        *,
        replace_existing_checks: bool,
        vet: Callable[[], None] = lambda: None,
    ) -> None:
        """`vet` (the endpoint's ACL decisions) runs again holding the service locks: what it read
        before waiting for them can have changed."""
        keys = [(part.service.namespace, part.service.id) for part in parts(registration)]
        await self.locks.run(keys, lambda: self._register_locked(registration, replace_existing_checks, vet))

    async def _register_locked(
        self, registration: ServiceRegistration, replace_existing_checks: bool, vet: Callable[[], None]
    ) -> None:
        vet()
        ops: list[Op] = []
        pruned: list[tuple[str, str]] = []
        for part in parts(registration):
            service = part.service
            if service.source == "remote":
                ops.append(Put("services", service.namespace, service.id, _encode(service)))
                ops.extend(Put("checks", c.namespace, c.check_id, _encode(c)) for c in part.checks)
            if replace_existing_checks:
                keep = {c.check_id for c in part.checks}
                for check in self.state.checks_of(service.namespace, service.id):
                    if check.definition.check_id not in keep:
                        pruned.append((check.definition.namespace, check.definition.check_id))
        for namespace, check_id in pruned:
            ops += [Delete("checks", namespace, check_id), Delete("check_state", namespace, check_id)]
        await self.store.commit(ops, lambda: self.apply(registration, pruned))

    def apply(self, registration: ServiceRegistration, pruned: list[tuple[str, str]]) -> None:
        """Into memory: at commit, and for config services at start-up and reload."""
        for part in parts(registration):
            self.state.put_service(part.service)
            for definition in part.checks:
                self.checks.put(definition, part.service)
                self.reset_reap_clock(definition.namespace, definition.check_id)
        for namespace, check_id in pruned:
            self.checks.remove(namespace, check_id)

    def remove_now(self, service: Service) -> None:
        """A config service a reload dropped: memory only, it was never stored."""
        for check in self.state.checks_of(service.namespace, service.id):
            self.checks.remove(check.definition.namespace, check.definition.check_id)
        self.state.remove_service(service.namespace, service.id)

    async def deregister(self, namespace: str, service_id: str) -> None:
        if self.state.service(namespace, service_id) is None:
            raise unknown_service(service_id)
        keys = [(namespace, sid) for sid in self._with_sidecars(namespace, service_id)]
        await self.locks.run(keys, lambda: self._deregister_locked(namespace, service_id))

    def _with_sidecars(self, namespace: str, service_id: str) -> list[str]:
        return [service_id] + [
            e.service.id
            for (ns, _), e in self.state.services.items()
            if ns == namespace and e.service.sidecar_of == service_id
        ]

    async def _deregister_locked(self, namespace: str, service_id: str) -> None:
        if self.state.service(namespace, service_id) is None:  # a concurrent deregistration won
            raise unknown_service(service_id)
        service_ids = self._with_sidecars(namespace, service_id)
        check_ids = [
            check.definition.check_id for sid in service_ids for check in self.state.checks_of(namespace, sid)
        ]
        ops: list[Op] = [Delete("services", namespace, sid) for sid in service_ids]
        for check_id in check_ids:
            ops += [Delete("checks", namespace, check_id), Delete("check_state", namespace, check_id)]

        def apply() -> None:
            for check_id in check_ids:
                self.checks.remove(namespace, check_id)
            for sid in service_ids:
                self.state.remove_service(namespace, sid)

        await self.store.commit(ops, apply)
