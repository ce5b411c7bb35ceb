"""`/v1/agent/services`, `/v1/agent/service/:id` (with hash-based blocking), service register and
deregister: Consul's agent service endpoints (§2.2-2.5, §4.1)."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from muster.acl.authorizer import Authorizer
from muster.agent.registration import ServiceRegistration, check_name_and_address, unknown_service
from muster.agent.state import LocalState, join_services
from muster.api import render
from muster.api.agent_checks import require_owner_write
from muster.api.call import Call
from muster.api.filtering import apply_filter
from muster.blocking import MAX_WAIT_SECONDS, effective_wait
from muster.bodies import SERVICE_DEFINITION
from muster.errors import NotFound


async def list_services(call: Call) -> web.Response:
    authz = call.authorize()
    namespace = call.namespace()
    state = call.parts.state
    expression = call.query.get("filter", "")
    if authz.allow_all and not expression:  # the hot path: cached bytes, nothing to filter
        return render.json_bytes(state.list_body(namespace), pretty=call.pretty, dev=call.parts.config.dev)
    entries = state.services_in(namespace)
    visible, removed = authz.filter(entries, "service", lambda e: e.service.name, namespace=namespace)
    if expression:  # ACL filtering first, then ?filter= (Consul's current order)
        visible = apply_filter(expression, "AgentService", visible, lambda e: e.wire)
    body = state.list_body(namespace) if not expression and not removed else join_services(visible)
    response = render.json_bytes(body, pretty=call.pretty, dev=call.parts.config.dev)
    if authz.filtered_header(removed):
        response.headers["X-Consul-Results-Filtered-By-ACLs"] = "true"
    return response


def _service_not_found(service_id: str) -> NotFound:
    return NotFound(f"unknown service ID: {service_id}")


async def get_service(call: Call) -> web.Response:
    wait_ns = call.wait_nanos()
    call.index()  # validated, otherwise unused (§2.3)
    authz = call.authorize()
    namespace = call.namespace()
    service_id = call.path_id
    state = call.parts.state
    given_hash = call.query.get("hash", "")
    entry = state.service(namespace, service_id)
    if entry is not None:  # no waiting for what the token may not read
        authz.require("service", entry.service.name, "read", namespace)
    if given_hash and entry is not None:
        deadline = time.monotonic() + effective_wait(wait_ns, maximum=MAX_WAIT_SECONDS)
        key = ("service", namespace, service_id)
        while entry is not None and entry.content_hash == given_hash:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or state.waiters.closing:
                break
            # A reload removes and re-adds config services synchronously, so by the time this
            # waiter runs again the service is back: no spurious 404 (§4.1 step 5).
            await state.waiters.wait(key, remaining)
            entry = state.service(namespace, service_id)
    if entry is None:
        raise _service_not_found(service_id)
    if given_hash:
        authz = call.reauthorize()  # the token may have been deleted or narrowed while it waited
    authz.require("service", entry.service.name, "read", namespace)
    response = render.json_bytes(entry.hashed_body, pretty=call.pretty, dev=call.parts.config.dev)
    response.headers["X-Consul-ContentHash"] = entry.content_hash
    return response


def _require_check_owners(
    authz: Authorizer, registration: ServiceRegistration, state: LocalState, node: str
) -> None:
    """An embedded check whose ID another service or the node already uses would take that check over:
    it needs the same write on its current owner as /v1/agent/check/register asks for."""
    service = registration.service
    for definition in registration.checks:
        existing = state.checks.get((definition.namespace, definition.check_id))
        if existing is not None and existing.definition.service_id != service.id:
            require_owner_write(authz, existing, node)


def _registration_acl(
    call: Call, authz: Authorizer, registration: ServiceRegistration, namespace: str
) -> Callable[[], None]:
    """Every permission a registration needs, as one function: run once before it waits for the
    service locks, and again holding them, since what it reads (the service and checks an ID already
    names) can change while it waits."""
    agent, node = call.parts, call.parts.config.node_name
    service = registration.service
    sidecar_authz = authz
    if registration.sidecar is not None and registration.sidecar.service.token != service.token:
        sidecar_authz = agent.acl.authorize(registration.sidecar.service.token)

    def vet() -> None:
        authz.require("service", service.name, "write", namespace)
        existing = agent.state.service(namespace, service.id)
        if existing is not None:
            authz.require("service", existing.service.name, "write", namespace)
        if service.kind == "connect-proxy":
            destination = (service.proxy or {}).get("DestinationServiceName", "")
            authz.require("service", destination, "write", namespace)
        _require_check_owners(authz, registration, agent.state, node)
        if registration.sidecar is not None:
            sidecar = registration.sidecar.service
            sidecar_authz.require("service", sidecar.name, "write", namespace)
            taken = agent.state.service(namespace, sidecar.id)  # its ID is fixed: <id>-sidecar-proxy
            if taken is not None:
                sidecar_authz.require("service", taken.service.name, "write", namespace)
            _require_check_owners(sidecar_authz, registration.sidecar, agent.state, node)

    return vet


async def register_service(call: Call) -> web.Response:
    call.guard_partition()
    body = await call.decode(SERVICE_DEFINITION)
    check_name_and_address(body)
    authz = call.authorize()
    namespace = call.namespace(body.namespace)
    agent = call.parts
    registration = agent.services.prepare(body, namespace=namespace, token=call.token())
    vet = _registration_acl(call, authz, registration, namespace)
    vet()
    agent.services.validate(registration)
    replace = "replace-existing-checks" in call.query and call.query["replace-existing-checks"] in (
        "",
        "true",
    )
    await agent.services.register(registration, replace_existing_checks=replace, vet=vet)
    return render.empty_ok()


async def deregister_service(call: Call) -> web.Response:
    authz = call.authorize()
    namespace = call.namespace()
    entry = call.parts.state.service(namespace, call.path_id)
    if entry is None:
        raise unknown_service(call.path_id)
    authz.require("service", entry.service.name, "write", namespace)
    await call.parts.services.deregister(namespace, call.path_id)
    return render.empty_ok()
