"""End-to-end: DeregisterCriticalServiceAfter, the reaper (spec §3.8, §5, §7.6 item 23).

Agents here run with a config file setting check_reap_interval=1 and check_deregister_interval_min=1
(seconds), so reaping happens within seconds instead of minutes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import (
    agent_checks,
    background,
    poll,
    register_check,
    register_service,
    status_of,
    ttl,
    write_config,
)

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

REAP_DEADLINE = 25.0


def reaping_agent(make_agent: Any, tmp_path: Path, minimum: float = 1) -> AgentProcess:
    config = write_config(tmp_path, check_reap_interval=1, check_deregister_interval_min=minimum)
    return make_agent("-config-file", config).start()


def service_ids(agent: AgentProcess) -> list[str]:
    reply = agent.get("/v1/agent/services")
    assert 200 == reply.status, reply.text
    return sorted(reply.json())


def wait_gone(agent: AgentProcess, service_id: str, timeout: float = REAP_DEADLINE) -> list[str]:
    return poll(lambda: service_ids(agent), lambda ids: service_id not in ids, timeout=timeout, every=0.1)


def test_service_whose_ttl_check_stays_critical_is_reaped_and_one_kept_passing_stays(
    make_agent: Any, tmp_path: Path
) -> None:
    agent = reaping_agent(make_agent, tmp_path)
    reap = {"TTL": "1s", "DeregisterCriticalServiceAfter": "2s"}
    register_service(agent, {"Name": "doomed", "Tags": ["x"], "Check": reap})
    register_check(agent, {"Name": "doomed-extra", "TTL": "60s", "ServiceID": "doomed", "Status": "passing"})
    register_service(agent, {"Name": "keeper", "Check": reap})
    register_service(agent, {"Name": "bystander"})

    with background(lambda: ttl(agent, "pass", "service:keeper", "alive"), every=0.25):
        remaining = wait_gone(agent, "doomed")
        assert ["bystander", "keeper"] == remaining
        time.sleep(3.5)  # keeper's check has been passing all along: it must survive further passes
        assert ["bystander", "keeper"] == service_ids(agent)
        assert ["service:keeper"] == sorted(agent_checks(agent))
        assert ("passing", "alive") == status_of(agent, "service:keeper")

    assert "doomed" not in agent.get("/v1/catalog/services").json()
    assert [] == agent.get("/v1/health/checks/doomed").json()


def test_critical_clock_starts_at_the_first_critical_update_not_at_registration(
    make_agent: Any, tmp_path: Path
) -> None:
    agent = reaping_agent(make_agent, tmp_path)
    registered = time.monotonic()
    # registered critical (the default); TTL expiry at ~3 s is the first critical *update*
    register_service(agent, {"Name": "late", "Check": {"TTL": "3s", "DeregisterCriticalServiceAfter": "1s"}})
    time.sleep(2.5)
    assert ["late"] == service_ids(agent), "reaped before its TTL had even expired"
    assert [] == wait_gone(agent, "late")
    assert time.monotonic() - registered >= 4.0


def test_a_pass_before_the_timeout_resets_the_critical_clock(make_agent: Any, tmp_path: Path) -> None:
    agent = reaping_agent(make_agent, tmp_path)
    register_service(
        agent, {"Name": "flappy", "Check": {"TTL": "1s", "DeregisterCriticalServiceAfter": "3s"}}
    )
    for _ in range(3):  # critical for ~2 s (< 3 s), then a pass; three times
        time.sleep(3.0)
        assert ["flappy"] == service_ids(agent)
        assert 200 == ttl(agent, "pass", "service:flappy").status
    assert [] == wait_gone(agent, "flappy")


def test_deregister_interval_minimum_raises_short_timeouts(make_agent: Any, tmp_path: Path) -> None:
    agent = reaping_agent(make_agent, tmp_path, minimum=6)
    register_service(agent, {"Name": "slow", "Check": {"TTL": "1s", "DeregisterCriticalServiceAfter": "1s"}})
    time.sleep(4.5)  # critical since ~1 s; 1 s would have reaped it, the 6 s minimum must not yet
    assert ["slow"] == service_ids(agent)
    assert [] == wait_gone(agent, "slow")


def test_node_level_checks_never_reap_anything(make_agent: Any, tmp_path: Path) -> None:
    agent = reaping_agent(make_agent, tmp_path)
    register_service(agent, {"Name": "bystander"})
    register_check(agent, {"Name": "node-ttl", "TTL": "1s", "DeregisterCriticalServiceAfter": "1s"})
    time.sleep(5.0)
    assert ["bystander"] == service_ids(agent)
    assert ("critical", "TTL expired") == status_of(agent, "node-ttl")


def test_reaper_settings_survive_kill_9_and_reaped_services_stay_gone(
    make_agent: Any, tmp_path: Path
) -> None:
    agent = reaping_agent(make_agent, tmp_path)
    register_service(
        agent, {"Name": "doomed", "Check": {"TTL": "1s", "DeregisterCriticalServiceAfter": "2s"}}
    )
    register_service(agent, {"Name": "bystander"})
    agent.kill9()
    agent.start()
    assert ["bystander", "doomed"] == service_ids(agent)
    assert ["bystander"] == wait_gone(agent, "doomed")

    agent.kill9()
    agent.start()
    assert (["bystander"], {}) == (service_ids(agent), agent_checks(agent))
