"""`/v1/acl/*` (bootstrap, policies, tokens) and `PUT /v1/agent/token/<kind>`: Consul's ACL HTTP API
(agent/acl_endpoint.go, api-docs/acl). Order as upstream: ACLs enabled (401), body decoding and ID checks,
then the token (403 `ACL not found`), then `acl:read`/`acl:write`, then the lookup (404) and validation."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import unquote_plus

from aiohttp import web

from muster.acl.authorizer import DEFAULT_NAMESPACE, Authorizer
from muster.acl.bodies import BOOTSTRAP_REQUEST, POLICY_BODY, TOKEN_BODY, PolicyBody, TokenBody
from muster.acl.manager import ACLManager
from muster.acl.policies import policy_json, policy_stub
from muster.acl.rules import READ, WRITE
from muster.acl.tokens import Token, token_json, token_stub
from muster.api import render
from muster.api.call import Call
from muster.bodies import TOKEN_UPDATE
from muster.bodytypes import BodyType
from muster.errors import BadRequest, DecodeError, NotFound, Unauthorized
from muster.golang import encode_json

ACLBody = TypeVar("ACLBody", PolicyBody, TokenBody)


def _manager(call: Call) -> ACLManager:
    manager = call.parts.acl
    if not manager.enabled:
        raise Unauthorized("ACL support disabled")
    return manager


async def _decode(call: Call, body_type: BodyType[ACLBody], what: str) -> ACLBody:
    try:
        body = body_type.decode(await call.body())
    except DecodeError as exc:
        raise BadRequest(f"{what}: {exc.text}") from None
    if body.partition and body.partition != "default":
        raise BadRequest('Invalid field: "Partition" - Partitions are a Consul Enterprise feature')
    return body


def _namespace(call: Call, authz: Authorizer, from_body: str = "") -> str:
    """Enterprise precedence: body Namespace > ?ns= > X-Consul-Namespace > the token's namespace."""
    if from_body or call.query.get("ns") or call.header("X-Consul-Namespace"):
        return call.namespace(from_body)
    call.guard_partition()
    return authz.namespace


def _json(call: Call, value: Any, manager: ACLManager | None = None) -> web.Response:
    response = render.json_bytes(encode_json(value), pretty=call.pretty, dev=call.parts.config.dev)
    if manager is not None:  # reads carry the query metadata of an RPC-backed endpoint
        response.headers["X-Consul-Index"] = str(max(manager.index, 1))
        response.headers["X-Consul-KnownLeader"] = "true"
        response.headers["X-Consul-LastContact"] = "0"
    return response


def _not_found(kind: str, namespace: str) -> NotFound:
    """acl.ACLResourceNotExistError, sent with a 404 by the read handlers."""
    if namespace != DEFAULT_NAMESPACE:
        return NotFound(f"Requested {kind} not found in namespace {namespace}: ACL not found")
    return NotFound(f"Requested {kind} does not exist: ACL not found")


def _token_json(manager: ACLManager, token: Token, redact: bool = False) -> dict[str, Any]:
    return token_json(token, manager.state.policy_names(), redact=redact)


# -- bootstrap ------------------------------------------------------------------
async def bootstrap_acls(call: Call) -> web.Response:
    manager = _manager(call)
    secret = ""
    if (call.request.content_length or 0) > 0:
        try:
            secret = BOOTSTRAP_REQUEST.decode(await call.body()).bootstrap_secret
        except DecodeError as exc:
            raise BadRequest(f"Request decoding failed: {exc.text}") from None
    token = await manager.bootstrap(secret)
    return _json(call, {"ID": token.secret_id, **_token_json(manager, token)})


# -- policies -------------------------------------------------------------------
async def create_policy(call: Call) -> web.Response:
    manager = _manager(call)
    body = await _decode(call, POLICY_BODY, "Policy decoding failed")
    if body.id:
        raise BadRequest("Cannot specify the ID when creating a new policy")
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz, body.namespace)
    authz.require("acl", "", WRITE, namespace)
    return _json(call, policy_json(await manager.put_policy(body, namespace)))


async def _read_policy(call: Call, manager: ACLManager, policy_id: str = "", name: str = "") -> web.Response:
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz)
    authz.require("acl", "", READ, namespace)
    policy = manager.policy(policy_id, namespace) if policy_id else manager.policy_by_name(name, namespace)
    if policy is None:
        raise _not_found("policy", namespace)
    return _json(call, policy_json(policy), manager)


async def _update_policy(call: Call, manager: ACLManager, policy_id: str) -> web.Response:
    body = await _decode(call, POLICY_BODY, "Policy decoding failed")
    if body.id and body.id != policy_id:
        raise BadRequest("Policy ID in URL and payload do not match")
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz, body.namespace)
    authz.require("acl", "", WRITE, namespace)
    return _json(call, policy_json(await manager.put_policy(body, namespace, policy_id)))


async def policy_by_id(call: Call) -> web.Response:
    """GET, PUT and DELETE /v1/acl/policy/:id."""
    manager = _manager(call)
    policy_id = call.path_id
    method = call.request.method
    if not policy_id and method != "PUT":
        raise BadRequest("Missing policy ID")
    if method == "GET":
        return await _read_policy(call, manager, policy_id=policy_id)
    if method == "PUT":
        return await _update_policy(call, manager, policy_id)
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz)
    authz.require("acl", "", WRITE, namespace)
    await manager.delete_policy(policy_id, namespace)
    return _json(call, True)


async def policy_by_name(call: Call) -> web.Response:
    manager = _manager(call)
    name = call.path_id
    if not name:
        raise BadRequest("Missing policy Name")
    return await _read_policy(call, manager, name=unquote_plus(name))  # Consul unescapes once more


async def list_policies(call: Call) -> web.Response:
    manager = _manager(call)
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz)
    authz.require("acl", "", READ, namespace)
    return _json(call, [policy_stub(policy) for policy in manager.policies(namespace)], manager)


# -- tokens ---------------------------------------------------------------------
async def create_token(call: Call) -> web.Response:
    manager = _manager(call)
    body = await _decode(call, TOKEN_BODY, "Token decoding failed")
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz, body.namespace)
    authz.require("acl", "", WRITE, namespace)
    return _json(call, _token_json(manager, await manager.create_token(body, namespace)))


async def read_self_token(call: Call) -> web.Response:
    manager = _manager(call)
    token = manager.token_by_secret(call.token() or manager.agent_token("default"))
    if token is None:
        raise NotFound("Supplied token does not exist")
    return _json(call, _token_json(manager, token), manager)


async def _read_token(call: Call, manager: ACLManager, accessor_id: str) -> web.Response:
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz)
    authz.require("acl", "", READ, namespace)
    token = manager.token(accessor_id, namespace)
    if token is None:
        raise _not_found("token", namespace)
    redact = not authz.allowed("acl", "", WRITE, namespace)
    return _json(call, _token_json(manager, token, redact), manager)


async def _update_token(call: Call, manager: ACLManager, accessor_id: str) -> web.Response:
    body = await _decode(call, TOKEN_BODY, "Token decoding failed")
    if body.accessor_id is not None and body.accessor_id != accessor_id:
        raise BadRequest("Token Accessor ID in URL and payload do not match")
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz, body.namespace)
    authz.require("acl", "", WRITE, namespace)
    if not accessor_id:  # PUT /v1/acl/token/ with no ID anywhere creates, as upstream does
        return _json(call, _token_json(manager, await manager.create_token(body, namespace)))
    return _json(call, _token_json(manager, await manager.update_token(accessor_id, body, namespace)))


async def _clone_token(call: Call, manager: ACLManager, accessor_id: str) -> web.Response:
    body = await _decode(call, TOKEN_BODY, "Token decoding failed")
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz, body.namespace)
    authz.require("acl", "", WRITE, namespace)
    token = await manager.clone_token(accessor_id, body.description, namespace)
    return _json(call, _token_json(manager, token))


async def token_by_accessor(call: Call) -> web.Response:
    """GET, PUT and DELETE /v1/acl/token/:accessor, and PUT /v1/acl/token/:accessor/clone."""
    manager = _manager(call)
    accessor_id = call.path_id
    method = call.request.method
    if method == "PUT" and accessor_id.endswith("/clone"):
        return await _clone_token(call, manager, accessor_id[: -len("/clone")])
    if not accessor_id and method != "PUT":
        raise BadRequest("Missing token AccessorID")
    if method == "GET":
        return await _read_token(call, manager, accessor_id)
    if method == "PUT":
        return await _update_token(call, manager, accessor_id)
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz)
    authz.require("acl", "", WRITE, namespace)
    await manager.delete_token(accessor_id, namespace, call.token() or manager.agent_token("default"))
    return _json(call, True)


async def list_tokens(call: Call) -> web.Response:
    manager = _manager(call)
    authz = manager.authorize(call.token())
    namespace = _namespace(call, authz)
    authz.require("acl", "", READ, namespace)
    query = call.query
    if query.get("role") or query.get("authmethod"):
        tokens: list[Token] = []  # Muster has no roles or auth methods: nothing can match
    else:
        tokens = manager.tokens(
            namespace, policy=query.get("policy", ""), service_name=query.get("servicename", "")
        )
    redact = not authz.allowed("acl", "", WRITE, namespace)
    names = manager.state.policy_names()
    return _json(call, [token_stub(token, names, redact=redact) for token in tokens], manager)


# -- the agent's own tokens -----------------------------------------------------
async def set_agent_token(call: Call) -> web.Response:
    """PUT /v1/agent/token/<kind>: needs `agent:write` on this agent; 404 for an unknown kind."""
    manager = _manager(call)
    authz = manager.authorize(call.token())
    authz.require("agent", call.parts.config.node_name, WRITE)
    body = await call.decode(TOKEN_UPDATE)
    await manager.set_agent_token(call.path_id, body.token)
    return render.empty_ok()
