"""The route table: one flat list, in Consul's path spelling. A path ending in "/" is a subtree
(the rest of the path is the ID, percent-decoded); any other path matches exactly (§1.1, §2.1). A route
with `fast=` is also answered from cached bytes below aiohttp (http/fastpath.py) for the GET it names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from muster.api import (
    acl,
    agent_checks,
    agent_health,
    agent_info,
    agent_services,
    catalog,
    catalog_write,
    coordinate,
    health,
    metrics,
    servers,
    status,
)
from muster.api.call import Call
from muster.api.openapi import openapi_document
from muster.api.ui import ui_services

Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Fast:
    """A GET the fast path answers with the handler's bytes: `answer` names its function in
    http/fastpath.py (a name it lacks stops the agent at start), `query` is the exact raw query."""

    answer: str
    query: str = ""


@dataclass(frozen=True)
class Route:
    path: str
    methods: tuple[str, ...]
    handler: Handler
    fast: Fast | None = None
    # Its GET answers may be repeated from bytes below aiohttp (http/answers.py) while the freshness
    # test the handler sets (`call.reuse`) holds: an answer that is a function of the path, the query,
    # the token and state the test watches.
    reuse: bool = False

    @property
    def subtree(self) -> bool:
        return self.path.endswith("/")


GET, PUT = ("GET",), ("PUT",)
GET_PUT_DELETE = ("GET", "PUT", "DELETE")
GET_HEAD = ("GET", "HEAD")  # HEAD for load balancers on the health endpoints (a Muster addition)

ROUTES: tuple[Route, ...] = (
    Route("/v1/agent/services", GET, agent_services.list_services, Fast("agent_services")),
    Route("/v1/agent/service/", GET, agent_services.get_service, Fast("agent_service")),
    Route("/v1/agent/service/register", PUT, agent_services.register_service),
    Route("/v1/agent/service/deregister/", PUT, agent_services.deregister_service),
    Route("/v1/agent/service/maintenance/", PUT, agent_checks.service_maintenance),
    Route("/v1/agent/maintenance", PUT, agent_checks.node_maintenance),
    Route("/v1/agent/checks", GET, agent_checks.list_checks),
    Route("/v1/agent/check/register", PUT, agent_checks.register_check),
    Route("/v1/agent/check/deregister/", PUT, agent_checks.deregister_check),
    Route("/v1/agent/check/pass/", PUT, agent_checks.pass_check),
    Route("/v1/agent/check/warn/", PUT, agent_checks.warn_check),
    Route("/v1/agent/check/fail/", PUT, agent_checks.fail_check),
    Route("/v1/agent/check/update/", PUT, agent_checks.update_check),
    Route("/v1/agent/health/service/id/", GET_HEAD, agent_health.health_by_id),
    Route(
        "/v1/agent/health/service/name/",
        GET_HEAD,
        agent_health.health_by_name,
        Fast("agent_health_text", "format=text"),
    ),
    Route("/v1/agent/self", GET, agent_info.agent_self),
    Route("/v1/agent/members", GET, agent_info.agent_members),
    Route("/v1/agent/version", GET, agent_info.agent_version),
    Route("/v1/agent/reload", PUT, agent_info.agent_reload),
    Route("/v1/agent/metrics", GET, metrics.agent_metrics),
    Route("/v1/openapi.json", GET, openapi_document),  # this API as an OpenAPI 3.1 document
    Route("/v1/agent/token/", PUT, acl.set_agent_token),
    Route("/v1/acl/bootstrap", PUT, acl.bootstrap_acls),
    Route("/v1/acl/policy", PUT, acl.create_policy),
    Route("/v1/acl/policy/", GET_PUT_DELETE, acl.policy_by_id),
    Route("/v1/acl/policy/name/", GET, acl.policy_by_name),
    Route("/v1/acl/policies", GET, acl.list_policies),
    Route("/v1/acl/token", PUT, acl.create_token),
    Route("/v1/acl/token/self", GET, acl.read_self_token),
    Route("/v1/acl/token/", GET_PUT_DELETE, acl.token_by_accessor),
    Route("/v1/acl/tokens", GET, acl.list_tokens),
    Route("/v1/catalog/datacenters", GET, catalog.catalog_datacenters),
    Route("/v1/catalog/services", GET, catalog.catalog_services, reuse=True),
    Route("/v1/catalog/nodes", GET, catalog.catalog_nodes, reuse=True),
    Route("/v1/catalog/service/", GET, catalog.catalog_service, reuse=True),
    Route("/v1/catalog/node/", GET, catalog.catalog_node, reuse=True),
    Route("/v1/catalog/node-services/", GET, catalog.catalog_node_services, reuse=True),
    Route("/v1/catalog/register", PUT, catalog_write.catalog_register),
    Route("/v1/catalog/deregister", PUT, catalog_write.catalog_deregister),
    Route("/v1/health/service/", GET, health.health_service, reuse=True),
    Route("/v1/health/checks/", GET, health.health_checks, reuse=True),
    Route("/v1/health/node/", GET, health.health_node, reuse=True),
    Route("/v1/health/state/", GET, health.health_state, reuse=True),
    Route("/v1/internal/ui/services", GET, ui_services),  # the web UI's service summaries
    Route("/v1/status/leader", GET_HEAD, servers.status_leader),
    Route("/v1/status/peers", GET_HEAD, servers.status_peers),
    Route("/v1/operator/raft/configuration", GET, servers.raft_configuration),
    Route("/v1/operator/autopilot/health", GET, servers.autopilot_health),
    Route("/v1/coordinate/nodes", GET, coordinate.coordinate_nodes),
    # Puppet's status API (trapperkeeper-status); no token needed, HEAD for load balancers.
    Route("/status/v1/services", GET_HEAD, status.list_service_statuses),
    Route("/status/v1/services/", GET_HEAD, status.service_status),
    Route("/status/v1/simple", GET_HEAD, status.simple_status, reuse=True),
    Route("/status/v1/simple/", GET_HEAD, status.simple_service_status),
)


class Router:
    """Go ServeMux matching: exact paths first, then the longest subtree prefix."""

    def __init__(self, routes: tuple[Route, ...]) -> None:
        self.exact = {route.path: route for route in routes if not route.subtree}
        self.subtrees = sorted((route for route in routes if route.subtree), key=lambda r: -len(r.path))
        self.subtree_paths = {route.path for route in self.subtrees}

    def match(self, path: str) -> tuple[Route, str] | None:
        route = self.exact.get(path)
        if route is not None:
            return route, ""
        for candidate in self.subtrees:
            if path.startswith(candidate.path):
                return candidate, path[len(candidate.path) :]
        return None
