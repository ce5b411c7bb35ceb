"""Writes that race on one service are ordered: a check or a maintenance mode registered while its
service is being deregistered lands before it (and goes with it) or after it (404), never as a check
of a service that no longer exists, which a restart would silently drop (issue 13, item 11)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.agentproc import AgentProcess

ROUNDS = 150


Request = Callable[[int, str], tuple[str, str, Any]]  # round, service ID -> method, path, body


async def _race(base: str, second: Request) -> list[int]:
    statuses: list[int] = []
    async with aiohttp.ClientSession() as session:
        for i in range(ROUNDS):
            service_id = f"svc-{i}"
            async with session.put(
                f"{base}/v1/agent/service/register", json={"ID": service_id, "Name": "svc"}
            ):
                pass
            method, path, body = second(i, service_id)
            racing = session.request(method, base + path, json=body)
            deregister = session.put(f"{base}/v1/agent/service/deregister/{service_id}")
            first_reply, deregister_reply = await asyncio.gather(racing, deregister)
            statuses.append(first_reply.status)
            assert deregister_reply.status in (200, 404)
            first_reply.release()
            deregister_reply.release()
    return statuses


def _orphans(agent: AgentProcess) -> list[str]:
    services = agent.get("/v1/agent/services").json()
    checks = agent.get("/v1/agent/checks").json()
    return sorted(c["CheckID"] for c in checks.values() if c["ServiceID"] and c["ServiceID"] not in services)


def _assert_ordered(agent: AgentProcess, statuses: list[int]) -> None:
    """Each racing write landed before the deregistration (200) or after it (404); no check is left
    pointing at a missing service, and what memory holds is what a restart finds."""
    assert set(statuses) <= {200, 404}
    assert [] == _orphans(agent)
    before = agent.get("/v1/agent/checks").json()
    agent.kill9()
    agent.start()
    assert before == agent.get("/v1/agent/checks").json()


def test_check_registered_during_service_deregistration_is_never_orphaned(agent: AgentProcess) -> None:
    def check(i: int, service_id: str) -> tuple[str, str, Any]:
        body = {"ID": f"chk-{i}", "Name": "c", "TTL": "1h", "ServiceID": service_id}
        return "PUT", "/v1/agent/check/register", body

    statuses = asyncio.run(_race(agent.url, check))

    _assert_ordered(agent, statuses)


def test_maintenance_during_service_deregistration_is_never_orphaned(agent: AgentProcess) -> None:
    def maintenance(i: int, service_id: str) -> tuple[str, str, Any]:
        return "PUT", f"/v1/agent/service/maintenance/{service_id}?enable=true&reason=race", None

    statuses = asyncio.run(_race(agent.url, maintenance))

    _assert_ordered(agent, statuses)
