"""The fast path's eligibility comes from the route table (api/routes.py `fast=`) and the dispatcher's
own matching: it answers exactly the GETs the table marks, and nothing a redirect or another route owns."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

import pytest

from muster import config
from muster.agent import Agent
from muster.api.app import Dispatcher
from muster.api.routes import GET, PUT, ROUTES, Fast, Route
from muster.http.agentanswers import ANSWERS, fast_answers
from muster.http.fastpath import FastRoutes

FAST_ROUTES = [route for route in ROUTES if route.fast is not None]
# One service whose ID and name are both "api", so any subtree route can take it as its path ID.
SERVICES = (
    {"Name": "api", "ID": "api"},
    {"Name": "register", "ID": "register"},
    {"Name": "x", "ID": "deregister"},
)


def head(target: str) -> bytes:
    return b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\nUser-Agent: lb"


def target_of(route: Route) -> str:
    assert route.fast is not None
    return (
        route.path + ("api" if route.subtree else "") + (f"?{route.fast.query}" if route.fast.query else "")
    )


def with_fast_routes(check: Callable[[FastRoutes], None]) -> None:
    async def scenario() -> None:
        agent = Agent(dataclasses.replace(config.load({"dev": True}, environ={}), dev=False))
        for fields in SERVICES:
            registration = agent.services.prepare(dict(fields), namespace="default", token="")
            await agent.services.register(registration, replace_existing_checks=False)
        try:
            check(FastRoutes(agent.state, agent.acl, agent.config.dev, Dispatcher(agent)))
        finally:
            agent.close()

    asyncio.run(scenario())


def test_the_table_marks_routes_the_fast_path_can_answer() -> None:
    assert sorted(ANSWERS) == sorted(route.fast.answer for route in FAST_ROUTES if route.fast)
    assert all("GET" in route.methods for route in FAST_ROUTES)
    assert ["/v1/agent/services", "/v1/agent/service/", "/v1/agent/health/service/name/"] == [
        route.path for route in FAST_ROUTES
    ]


@pytest.mark.parametrize("route", FAST_ROUTES, ids=lambda route: route.path)
def test_every_fast_route_in_the_table_is_answered_here_under_its_own_path(route: Route) -> None:
    def check(routes: FastRoutes) -> None:
        answer = routes.answer(head(target_of(route)))
        assert answer is not None
        assert route.path == answer[0]
        assert any(r.path == answer[0] and "GET" in r.methods for r in ROUTES)

    with_fast_routes(check)


@pytest.mark.parametrize(
    "target",
    [
        "/v1/agent/service/register",  # an exact PUT route, though a service has that ID: 405
        "/v1/agent/service/deregister",  # ServeMux's redirect to the subtree, though a service has that ID
        "/v1/agent/service/deregister/api",  # another route's subtree
        "/v1/agent//services",  # the dispatcher's clean-path redirect
        "/v1/agent/services/",
        "/v1/agent/services?stale",  # a query the table does not name
        "/v1/agent/service/api?format=text",
        "/v1/agent/health/service/name/api",  # the JSON answer is aiohttp's
        "/v1/agent/health/service/name/api?format=text&x=1",
        "/v1/agent/service/a%70i",  # percent-encoded: aiohttp decodes it
        "/v1/agent/health/service/id/api?format=text",  # a GET route without fast=
        "/v1/agent/service/missing",  # the handler's 404
    ],
)
def test_requests_the_table_gives_elsewhere_go_to_aiohttp(target: str) -> None:
    with_fast_routes(lambda routes: assert_none(routes.answer(head(target))))


def assert_none(value: object) -> None:
    assert value is None


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ((*ROUTES, Route("/v1/x", GET, ROUTES[0].handler, Fast("nowhere"))), "unknown ['nowhere']"),
        (tuple(route for route in ROUTES if route.path != "/v1/agent/services"), "unused ['agent_services']"),
        (
            tuple(
                dataclasses.replace(r, methods=PUT) if r.path == "/v1/agent/services" else r for r in ROUTES
            ),
            "without GET ['agent_services']",
        ),
    ],
)
def test_a_table_out_of_step_with_the_fast_answers_stops_the_agent(
    table: tuple[Route, ...], problem: str
) -> None:
    with pytest.raises(RuntimeError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        fast_answers(table)
