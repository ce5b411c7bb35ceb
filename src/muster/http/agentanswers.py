"""The answers of the three agent routes the table marks `fast=` (api/routes.py), from the agent's own
bytes, as their handlers send them: `/v1/agent/services`, `/v1/agent/service/:id` and
`/v1/agent/health/service/name/:name?format=text` (http/fastpath.py serves them while ACLs are off)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from muster.api.agent_health import STATUS_CODES, instance_status, worst_status
from muster.api.render import ROUTE_HEADERS
from muster.api.routes import Route
from muster.models import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    from muster.http.fastpath import FastRoutes

_ID = re.compile(r"[A-Za-z0-9_:-][A-Za-z0-9_.:-]*")
_COMMON = "".join(f"{k}: {v}\r\n" for k, v in ROUTE_HEADERS.items()).encode()
_JSON = b"Content-Type: application/json\r\n" + _COMMON


FastAnswer = Callable[["FastRoutes", str], "bytes | None"]


def agent_services(routes: FastRoutes, path_id: str) -> bytes | None:
    """GET /v1/agent/services, as agent_services.list_services answers it."""
    return routes.response(200, _JSON, routes.state.list_body(DEFAULT_NAMESPACE))


def agent_service(routes: FastRoutes, service_id: str) -> bytes | None:
    """GET /v1/agent/service/:id, as agent_services.get_service answers a service that exists."""
    if not _ID.fullmatch(service_id):
        return None
    entry = routes.state.service(DEFAULT_NAMESPACE, service_id)
    if entry is None:
        return None  # the 404 and its text are the handler's
    headers = _JSON + b"X-Consul-ContentHash: " + entry.content_hash.encode() + b"\r\n"
    return routes.response(200, headers, entry.hashed_body)


def agent_health_text(routes: FastRoutes, name: str) -> bytes | None:
    """GET /v1/agent/health/service/name/:name?format=text, as agent_health.health_by_name answers it."""
    if not _ID.fullmatch(name):
        return None
    state = routes.state
    entries = state.services_named(DEFAULT_NAMESPACE, name)
    if not entries:
        return None
    worst = worst_status(instance_status(state, entry) for entry in entries)
    word = worst.encode()
    headers = _COMMON + b"Content-Type: text/plain\r\nX-Consul-Reason: " + word + b"\r\n"
    return routes.response(STATUS_CODES[worst], headers, word)


ANSWERS: dict[str, FastAnswer] = {
    "agent_services": agent_services,
    "agent_service": agent_service,
    "agent_health_text": agent_health_text,
}


def fast_answers(routes: tuple[Route, ...]) -> dict[str, FastAnswer]:
    """The answer of each `fast=` route; a name without an answer, an answer no route names, or a
    fast route without GET is a programming error, raised when the agent starts."""
    named = {route.fast.answer: route for route in routes if route.fast is not None}
    unknown = sorted(set(named) - set(ANSWERS))
    unused = sorted(set(ANSWERS) - set(named))
    no_get = sorted(name for name, route in named.items() if "GET" not in route.methods)
    if unknown or unused or no_get:
        raise RuntimeError(
            f"fast routes out of step: unknown {unknown}, unused {unused}, without GET {no_get}"
        )
    return {name: ANSWERS[name] for name in named}
