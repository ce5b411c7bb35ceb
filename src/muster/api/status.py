"""Puppet's status API (trapperkeeper-status 1.2) under /status/v1: every service or one, as JSON or as
a bare state word, with the original's parameter order, error kinds and texts (spec §1, §2, §4).
HEAD answers with the status code alone. No ACL token is needed."""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from muster.api import render
from muster.api.call import Call
from muster.status.levels import Level, State, format_int, parse_java_int, to_level
from muster.status.registry import SERVICE_INFO_NOT_FOUND, Registration, StatusError
from muster.status.response import CallbackResult

log = logging.getLogger("muster.status")
_encode = msgspec.json.Encoder().encode

JSON_UTF8 = "application/json; charset=utf-8"
DATA_INVALID = "data-invalid"
SERVICE_NOT_FOUND = "service-not-found"
APPLICATION_ERROR = "application-error"
# Route parameters match [A-Za-z0-9._-]+ in the original; anything else is not a route at all (§1).
_SERVICE_NAME = re.compile(r"[A-Za-z0-9._-]+")
# The text the dispatcher gives any other unknown path under /v1/ (a 404 that is not JSON, as upstream).
NOT_A_ROUTE = "Invalid URL path: not a recognized HTTP API endpoint\n"

Outcome = tuple[int, bytes]


class Refusal(Exception):
    """A request the status API answers with an error body: kind and message as the original."""

    def __init__(self, status: int, kind: str, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.kind = kind
        self.msg = msg


class NotARoute(Exception):
    """A path the original's router would not match: the generic 404, not a JSON one."""


# -- the four endpoints --------------------------------------------------------------------------
async def list_service_statuses(call: Call) -> web.Response:
    """GET /status/v1/services: every service at `level` (default info), 200 iff all running."""
    return await _answer(call, _list_services, JSON_UTF8)


async def service_status(call: Call) -> web.Response:
    """GET /status/v1/services/:name: one service, flat, with `service_name` added."""
    return await _answer(call, _one_service, JSON_UTF8)


async def simple_status(call: Call) -> web.Response:
    """GET /status/v1/simple: the aggregate state as a plain word, always at critical."""
    return await _answer(call, _simple, render.TEXT_UTF8)


async def simple_service_status(call: Call) -> web.Response:
    """GET /status/v1/simple/:name: that service's state as a plain word, at critical."""
    return await _answer(call, _simple_one, render.TEXT_UTF8)


# -- what each one computes ------------------------------------------------------------------------
async def _list_services(call: Call) -> Outcome:
    registry = call.parts.status
    level = parse_level(call.query)
    timeout = parse_timeout(call.query)
    results = await registry.call_latest(level, timeout)
    _, all_running = registry.rollup(results)
    rendered = registry.rendered.get(level)
    if rendered is not None and rendered[0] is results:  # the same cached rollup: the same bytes
        return (200 if all_running else 503), rendered[1]
    entries = [_encode(reg.name) + b":" + service_status_json(reg, level, result) for reg, result in results]
    body = b"{" + b",".join(entries) + b"}"
    registry.rendered[level] = (results, body)
    return (200 if all_running else 503), body


async def _one_service(call: Call) -> Outcome:
    registry = call.parts.status
    name = _route_name(call)
    if name not in registry:
        raise Refusal(404, SERVICE_NOT_FOUND, f"No status information found for service {name}")
    level = parse_level(call.query)
    status_version = parse_status_version(call.query)
    timeout = parse_timeout(call.query)
    try:
        registration = registry.registration(name, status_version)
    except StatusError as exc:
        if exc.kind == SERVICE_INFO_NOT_FOUND:  # deregistered since the check above
            raise Refusal(404, SERVICE_NOT_FOUND, f"No status information found for service {name}") from None
        raise Refusal(400, exc.kind, exc.msg) from None
    result = await registry.call(registration, level, timeout)
    body = service_status_json(registration, level, result, service_name=name)
    return (200 if result.state is State.RUNNING else 503), body


async def _simple(call: Call) -> Outcome:
    registry = call.parts.status
    timeout = parse_timeout(call.query)
    results = await registry.call_latest(Level.CRITICAL, timeout)
    state, all_running = registry.rollup(results)
    parts, config = call.parts, call.parts.config
    call.reuse = (lambda: registry.still_latest(results) and parts.config is config, 0)
    return (200 if all_running else 503), state.encode()


async def _simple_one(call: Call) -> Outcome:
    registry = call.parts.status
    name = _route_name(call)
    if name not in registry:
        raise Refusal(404, SERVICE_NOT_FOUND, f"not found: {name}")
    timeout = parse_timeout(call.query)
    try:
        registration = registry.registration(name)
    except StatusError:
        raise Refusal(404, SERVICE_NOT_FOUND, f"not found: {name}") from None
    result = await registry.call(registration, Level.CRITICAL, timeout)
    return (200 if result.state is State.RUNNING else 503), result.state.encode()


def service_status_json(
    registration: Registration, level: Level, result: CallbackResult, service_name: str | None = None
) -> bytes:
    """ServiceStatus: exactly six keys, all present (`status` may be null); the single-service
    answer adds `service_name` (the code's flat shape, not the docs' `{name: {...}}`, §7)."""
    document: dict[str, Any] = {
        "service_version": registration.service_version,
        "service_status_version": registration.status_version,
        "detail_level": level,  # StrEnums encode as their value; `.value` is slow in 3.11
        "state": result.state,
        "status": msgspec.Raw(result.status_json),
        "active_alerts": list(result.alerts or ()),
    }
    if service_name is not None:
        document["service_name"] = service_name
    return _encode(document)


# -- parameters, in the order each endpoint reads them ----------------------------------------------
def parse_level(query: dict[str, str], default: Level = Level.INFO) -> Level:
    raw = query.get("level")
    if raw is None:
        return default
    try:
        return to_level(raw)
    except ValueError as exc:
        raise Refusal(400, DATA_INVALID, str(exc)) from None


def parse_timeout(query: dict[str, str]) -> int | None:
    raw = query.get("timeout")
    if raw is None:
        return None
    value = parse_java_int(raw)
    if value is None:
        raise Refusal(400, DATA_INVALID, f"Invalid timeout. Should be an integer but was {raw}")
    if value <= 0:
        raise Refusal(
            400,
            DATA_INVALID,
            f"Invalid timeout. Timeout must be greater than zero but was {format_int(value)}",
        )
    return value


def parse_status_version(query: dict[str, str]) -> int | None:
    raw = query.get("service_status_version")
    if raw is None:
        return None
    value = parse_java_int(raw)
    if value is None:
        raise Refusal(
            400, DATA_INVALID, f"Invalid service_status_version. Should be an integer but was {raw}"
        )
    return value


def _route_name(call: Call) -> str:
    if not _SERVICE_NAME.fullmatch(call.path_id):
        raise NotARoute
    return call.path_id


# -- responses ----------------------------------------------------------------------------------
async def _answer(
    call: Call, compute: Callable[[Call], Awaitable[Outcome]], content_type: str
) -> web.Response:
    """Run one endpoint; errors become the original's bodies: `{kind, msg}` JSON, or the bare message
    as text on the simple endpoints. A 503 is an answer; only Muster's own failure is a 500 (§7)."""
    as_json = content_type == JSON_UTF8
    try:
        status, body = await compute(call)
    except NotARoute:
        return _strip_for_head(call, render.plain(NOT_A_ROUTE, 404))  # as the dispatcher's unknown paths
    except Refusal as exc:
        if exc.status == 400:
            log.debug("Submitted data is invalid: %s", exc.msg)  # a client mistake: quiet (Puppet: ERROR)
        status, body = exc.status, _error_body(as_json, exc.kind, exc.msg)
    except Exception as exc:
        log.exception("status request %s failed", call.request.path)
        described = traceback.format_exception_only(type(exc), exc)[-1].strip()
        status, body = 500, _error_body(as_json, APPLICATION_ERROR, f"Internal Server Error: {described}")
    headers = {"Content-Type": JSON_UTF8 if as_json else render.TEXT_UTF8, **render.ROUTE_HEADERS}
    return _strip_for_head(call, web.Response(body=body, status=status, headers=headers))


def _error_body(as_json: bool, kind: str, msg: str) -> bytes:
    return _encode({"kind": kind, "msg": msg}) if as_json else msg.encode()


def _strip_for_head(call: Call, response: web.Response) -> web.Response:
    if call.request.method == "HEAD":
        response.body = b""
    return response
