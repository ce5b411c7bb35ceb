"""`/v1/agent/checks`, check register and deregister, the TTL endpoints, and service and node
maintenance (§2.6, §2.8-2.10, §2.15)."""

from __future__ import annotations

from aiohttp import web

from muster.acl.authorizer import Authorizer
from muster.agent.checks import unknown_check
from muster.agent.registration import unknown_service
from muster.api import render
from muster.api.call import Call
from muster.api.filtering import apply_filter
from muster.bodies import CHECK_DEFINITION, CHECK_UPDATE
from muster.errors import BadRequest
from muster.golang import encode_json, parse_bool, quote
from muster.models import CHECK_STATUSES, CRITICAL, PASSING, WARNING, Check, agent_check


def require_owner_write(authz: Authorizer, check: Check, node: str) -> None:
    """Service checks need service:write on their service, node checks node:write (§6). Every write
    that replaces an existing check passes this for its current owner, whichever endpoint carries it."""
    if check.definition.service_id:
        authz.require("service", check.service_name, "write", check.definition.namespace)
    else:
        authz.require("node", node, "write")


def _require_check_write(call: Call, check: Check) -> None:
    require_owner_write(call.authorize(), check, call.parts.config.node_name)


def _existing_check(call: Call, namespace: str) -> Check:
    check = call.parts.state.checks.get((namespace, call.path_id))
    if check is None:
        raise unknown_check(call.path_id)
    return check


async def list_checks(call: Call) -> web.Response:
    authz = call.authorize()
    namespace = call.namespace()
    node = call.parts.config.node_name
    checks = sorted(call.parts.state.checks_in(namespace), key=lambda c: c.definition.check_id)
    node_visible = authz.allowed("node", node, "read")

    def visible(check: Check) -> bool:
        if check.definition.service_id:
            return authz.allowed("service", check.service_name, "read", namespace)
        return node_visible

    kept = [check for check in checks if visible(check)]
    removed = len(checks) - len(kept)
    wires = [(check.definition.check_id, agent_check(check, node)) for check in kept]
    expression = call.query.get("filter", "")
    if expression:
        wires = apply_filter(expression, "HealthCheck", wires, lambda pair: pair[1])
    response = render.json_bytes(encode_json(dict(wires)), pretty=call.pretty, dev=call.parts.config.dev)
    if authz.filtered_header(removed):
        response.headers["X-Consul-Results-Filtered-By-ACLs"] = "true"
    return response


async def register_check(call: Call) -> web.Response:
    call.token()
    call.guard_partition()
    body = await call.decode(CHECK_DEFINITION)
    if not body.name:
        raise BadRequest("Missing check name")
    if body.status not in ("", *CHECK_STATUSES):
        raise BadRequest("Bad check status")
    authz = call.authorize()
    namespace = call.namespace(body.namespace)
    ops = call.parts.check_ops
    definition = ops.prepare_check(body, namespace=namespace, token=call.token())
    node, state = call.parts.config.node_name, call.parts.state

    def vet() -> None:  # again holding the service lock: the owners it reads can change meanwhile
        if definition.service_id:
            entry = state.service(namespace, definition.service_id)
            authz.require("service", entry.service.name if entry is not None else "", "write", namespace)
        else:
            authz.require("node", node, "write")
        existing = state.checks.get((namespace, definition.check_id))
        if existing is not None:
            require_owner_write(authz, existing, node)

    vet()
    ops.check_scripts(definition)
    await ops.register_check(definition, vet=vet)
    return render.empty_ok()


async def deregister_check(call: Call) -> web.Response:
    call.authorize()
    namespace = call.namespace()
    _require_check_write(call, _existing_check(call, namespace))
    await call.parts.check_ops.deregister_check(namespace, call.path_id)
    return render.empty_ok()


async def _ttl(call: Call, status: str, output: str) -> web.Response:
    call.authorize()
    namespace = call.namespace()
    _require_check_write(call, _existing_check(call, namespace))
    await call.parts.check_ops.ttl_update(namespace, call.path_id, status, output)
    return render.empty_ok()


async def pass_check(call: Call) -> web.Response:
    return await _ttl(call, PASSING, call.query.get("note", ""))


async def warn_check(call: Call) -> web.Response:
    return await _ttl(call, WARNING, call.query.get("note", ""))


async def fail_check(call: Call) -> web.Response:
    return await _ttl(call, CRITICAL, call.query.get("note", ""))


async def update_check(call: Call) -> web.Response:
    call.guard_partition()
    body = await call.decode(CHECK_UPDATE)
    if body.status not in CHECK_STATUSES:  # checked before the lookup and the ACL (§2.10)
        raise BadRequest(f"Invalid check status: '{body.status}'")
    return await _ttl(call, body.status, body.output)


def _enable(call: Call) -> bool:
    if "enable" not in call.query:
        raise BadRequest("Missing value for enable")
    raw = call.query["enable"]
    try:
        return parse_bool(raw)
    except ValueError:
        raise BadRequest(f"Invalid value for enable: {quote(raw)}") from None


async def service_maintenance(call: Call) -> web.Response:
    if not call.path_id:
        raise BadRequest("Missing service ID")
    enable = _enable(call)
    authz = call.authorize()
    namespace = call.namespace()
    entry = call.parts.state.service(namespace, call.path_id)
    if entry is None:
        raise unknown_service(call.path_id)
    authz.require("service", entry.service.name, "write", namespace)
    await call.parts.check_ops.service_maintenance(
        namespace, call.path_id, enable, call.query.get("reason", ""), call.token()
    )
    return render.empty_ok()


async def node_maintenance(call: Call) -> web.Response:
    enable = _enable(call)
    call.authorize().require("node", call.parts.config.node_name, "write")
    await call.parts.check_ops.node_maintenance(enable, call.query.get("reason", ""), call.token())
    return render.empty_ok()
