"""Check operations on a dev agent built in-process (no sockets): removed checks leave nothing behind."""

from __future__ import annotations

import asyncio

from muster import config
from muster.agent import Agent
from muster.agent.registration import definition_for_register
from muster.bodies import CHECK_DEFINITION
from muster.models import CRITICAL


def _dev_agent() -> Agent:
    return Agent(config.load({"dev": True}, environ={}))


def test_churned_critical_checks_leave_no_reaper_clocks() -> None:
    async def scenario() -> int:
        agent = _dev_agent()
        ops = agent.check_ops
        for i in range(50):
            fields = {"Name": f"c{i}", "TTL": 3_600_000_000_000}
            body = CHECK_DEFINITION.convert(fields)
            definition = definition_for_register(body, namespace="default", token="", source="remote")
            await ops.register_check(definition)
            ops.record_check_result("default", f"c{i}", CRITICAL, "down")
            await ops.deregister_check("default", f"c{i}")
        agent.close()
        return len(ops.critical_since)

    assert 0 == asyncio.run(scenario())
