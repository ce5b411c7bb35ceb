"""`/v1/agent/checks`, check register and deregister, the TTL endpoints, and service and node
maintenance (§2.6, §2.8-2.10, §2.15)."""

from __future__ import annotations

from aiohttp import web

from muster.api import render
from muster.api.call import Call
from muster.api.filtering import apply_filter
from muster.errors import BadRequest
from muster.golang import encode_json, parse_bool, quote
from muster.models import CHECK_STATUSES, CRITICAL, PASSING, WARNING, agent_check
from muster.schemas import CHECK_DEFINITION, CHECK_UPDATE


async def list_checks(call: Call) -> web.Response:
    namespace = call.namespace()
    node = call.agent.config.node_name
    checks = sorted(call.agent.state.checks_in(namespace), key=lambda c: c.definition.check_id)
    wires = [(check.definition.check_id, agent_check(check, node)) for check in checks]
    expression = call.query.get("filter", "")
    if expression:
        wires = apply_filter(expression, "HealthCheck", wires, lambda pair: pair[1])
    body = encode_json(dict(wires))
    return render.json_bytes(body, pretty=call.pretty, dev=call.agent.config.dev)


async def register_check(call: Call) -> web.Response:
    call.guard_partition()
    fields = await call.decode(CHECK_DEFINITION)
    namespace = call.namespace(fields.get("Namespace", ""))
    definition = call.agent.check_ops.prepare_check(fields, namespace=namespace, token=call.token())
    await call.agent.check_ops.register_check(definition)
    return render.empty_ok()


async def deregister_check(call: Call) -> web.Response:
    await call.agent.check_ops.deregister_check(call.namespace(), call.path_id)
    return render.empty_ok()


async def _ttl(call: Call, status: str) -> web.Response:
    namespace = call.namespace()
    await call.agent.check_ops.ttl_update(namespace, call.path_id, status, call.query.get("note", ""))
    return render.empty_ok()


async def pass_check(call: Call) -> web.Response:
    return await _ttl(call, PASSING)


async def warn_check(call: Call) -> web.Response:
    return await _ttl(call, WARNING)


async def fail_check(call: Call) -> web.Response:
    return await _ttl(call, CRITICAL)


async def update_check(call: Call) -> web.Response:
    call.guard_partition()
    fields = await call.decode(CHECK_UPDATE)
    status = fields.get("Status", "")
    if status not in CHECK_STATUSES:
        raise BadRequest(f"Invalid check status: '{status}'")
    namespace = call.namespace()
    await call.agent.check_ops.ttl_update(namespace, call.path_id, status, fields.get("Output", ""))
    return render.empty_ok()


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
    namespace = call.namespace()
    await call.agent.check_ops.service_maintenance(
        namespace, call.path_id, enable, call.query.get("reason", ""), call.token()
    )
    return render.empty_ok()


async def node_maintenance(call: Call) -> web.Response:
    enable = _enable(call)
    await call.agent.check_ops.node_maintenance(enable, call.query.get("reason", ""), call.token())
    return render.empty_ok()
