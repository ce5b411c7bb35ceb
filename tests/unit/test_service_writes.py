"""ServiceWrites on an in-process dev agent (memory store, no sockets): validation in one place, the
change applied once committed, sidecars, check pruning and deregistration."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from muster import config
from muster.agent import Agent
from muster.bodies import SERVICE_DEFINITION
from muster.errors import BadRequest, NotFound
from muster.models import PASSING


def _run(scenario: Callable[[Agent], Awaitable[Any]], **flags: Any) -> Any:
    async def main() -> Any:
        agent = Agent(config.load({"dev": True, **flags}, environ={}))
        try:
            return await scenario(agent)
        finally:
            agent.close()

    return asyncio.run(main())


async def _register(agent: Agent, fields: dict[str, Any], replace: bool = False) -> None:
    registration = agent.services.prepare(SERVICE_DEFINITION.convert(fields), namespace="default", token="")
    agent.services.validate(registration)
    await agent.services.register(registration, replace_existing_checks=replace)


def test_a_registration_adds_the_service_and_its_checks() -> None:
    async def scenario(agent: Agent) -> tuple[list[str], list[str]]:
        await _register(agent, {"Name": "web", "ID": "web-1", "Checks": [{"TTL": 10**10}, {"TTL": 10**10}]})
        services = [entry.service.id for entry in agent.state.services_named("default", "web")]
        return services, sorted(c.definition.check_id for c in agent.state.checks_of("default", "web-1"))

    assert (["web-1"], ["service:web-1:1", "service:web-1:2"]) == _run(scenario)


def test_a_reregistration_keeps_check_status_and_replace_prunes_the_rest() -> None:
    async def scenario(agent: Agent) -> tuple[str, list[str]]:
        checks = [{"CheckID": "a", "TTL": 10**10}, {"CheckID": "b", "TTL": 10**10}]
        await _register(agent, {"Name": "web", "ID": "web-1", "Checks": checks})
        agent.check_ops.record_check_result("default", "a", PASSING, "fine")
        await _register(agent, {"Name": "web", "ID": "web-1", "Checks": checks[:1]}, replace=True)
        kept = agent.state.checks[("default", "a")]
        return kept.status, sorted(c.definition.check_id for c in agent.state.checks_of("default", "web-1"))

    assert (PASSING, ["a"]) == _run(scenario)


def test_script_checks_are_refused_unless_enabled() -> None:
    body = {"Name": "web", "Check": {"ScriptArgs": ["/bin/true"], "Interval": 10**10}}

    async def refused(agent: Agent) -> None:
        await _register(agent, body)

    with pytest.raises(BadRequest, match="Scripts are disabled on this agent"):
        _run(refused)

    async def allowed(agent: Agent) -> int:
        await _register(agent, body)
        return len(agent.state.checks)

    assert 1 == _run(allowed, enable_script_checks=True)


def test_an_empty_sidecar_block_adds_a_sidecar_and_deregistration_takes_both() -> None:
    async def scenario(agent: Agent) -> tuple[list[str], list[str], int]:
        await _register(agent, {"Name": "web", "ID": "web-1", "Port": 80, "Connect": {"SidecarService": {}}})
        both = sorted(entry.service.id for entry in agent.state.services_in("default"))
        await agent.services.deregister("default", "web-1")
        return (
            both,
            [entry.service.id for entry in agent.state.services_in("default")],
            len(agent.state.checks),
        )

    assert (["web-1", "web-1-sidecar-proxy"], [], 0) == _run(scenario)


@pytest.mark.parametrize("check", [{}, {"Name": ""}, {"Notes": "", "H2PingUseTLS": False}])
def test_a_sidecar_whose_check_is_all_zero_gets_the_default_checks(check: dict[str, Any]) -> None:
    """Consul skips an all-zero `Check` and, with no check left, gives the sidecar its defaults."""

    async def scenario(agent: Agent) -> list[str]:
        sidecar = {"Check": check}
        await _register(agent, {"Name": "web", "ID": "w", "Port": 80, "Connect": {"SidecarService": sidecar}})
        return sorted(c.definition.name for c in agent.state.checks_of("default", "w-sidecar-proxy"))

    assert ["Connect Sidecar Aliasing w", "Connect Sidecar Listening"] == _run(scenario)


def test_deregistering_an_unknown_service_is_consuls_404() -> None:
    async def scenario(agent: Agent) -> None:
        await agent.services.deregister("default", "nope")

    with pytest.raises(NotFound, match='Unknown service ID "nope"'):
        _run(scenario)
