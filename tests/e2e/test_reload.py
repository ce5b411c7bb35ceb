"""`PUT /v1/agent/reload` replaces what the config files define (services and top-level checks), keeps
what the API registered and maintenance modes, and changes nothing when the new files are invalid."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import wait_check

WEB = {"name": "web", "id": "web-1", "check": {"ttl": "1h"}}


def _write(path: Path, services: list[Any], checks: list[Any]) -> None:
    path.write_text(json.dumps({"services": services, "checks": checks}))


def _checks(agent: AgentProcess) -> list[str]:
    return sorted(agent.get("/v1/agent/checks").json())


def test_reload_replaces_top_level_config_checks(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = tmp_path / "agent.json"
    _write(config, [WEB], [{"name": "disk", "ttl": "1h"}])
    agent = make_agent("-config-file", str(config)).start()
    assert 200 == agent.put("/v1/agent/check/pass/disk").status
    _write(config, [WEB], [{"name": "disk", "ttl": "1h"}, {"name": "mem", "ttl": "1h"}])

    assert 200 == agent.put("/v1/agent/reload").status

    assert ["disk", "mem", "service:web-1"] == _checks(agent)
    assert "passing" == agent.get("/v1/agent/checks").json()["disk"]["Status"]  # kept across the reload
    _write(config, [WEB], [{"name": "mem", "ttl": "1h"}])
    assert 200 == agent.put("/v1/agent/reload").status
    assert ["mem", "service:web-1"] == _checks(agent)


def test_reload_keeps_maintenance_of_a_config_service(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = tmp_path / "agent.json"
    _write(config, [WEB], [])
    agent = make_agent("-config-file", str(config)).start()
    assert 200 == agent.put("/v1/agent/service/maintenance/web-1?enable=true&reason=deploy").status

    assert 200 == agent.put("/v1/agent/reload").status

    maintenance = agent.get("/v1/agent/checks").json()["_service_maintenance:web-1"]
    assert ("critical", "deploy") == (maintenance["Status"], maintenance["Notes"])


def test_reload_with_an_invalid_check_changes_nothing(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = tmp_path / "agent.json"
    _write(config, [WEB], [{"name": "disk", "ttl": "1h"}])
    agent = make_agent("-config-file", str(config)).start()
    huge = {"name": "mem", "http": "http://127.0.0.1:1/", "interval": "1s", "timeout": "1" + "0" * 60 + "s"}
    _write(config, [{**WEB, "name": "changed"}], [huge])

    reply = agent.put("/v1/agent/reload")

    assert 400 == reply.status
    assert "invalid check definition" in reply.text
    assert ["disk", "service:web-1"] == _checks(agent)
    assert "web" == agent.get("/v1/agent/service/web-1").json()["Service"]


def test_reload_validates_a_check_of_a_service_added_by_the_same_reload(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = tmp_path / "agent.json"
    _write(config, [], [])
    agent = make_agent("-config-file", str(config)).start()
    _write(config, [WEB], [{"name": "web-extra", "ttl": "1h", "service_id": "web-1"}])

    assert 200 == agent.put("/v1/agent/reload").status

    assert "web-1" == agent.get("/v1/agent/checks").json()["web-extra"]["ServiceID"]


def test_reload_gives_running_probes_the_new_output_cap(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = tmp_path / "agent.json"
    words = "x" * 200
    check = {"name": "echo", "args": ["/bin/echo", words], "interval": "1s"}

    def write(cap: int) -> None:
        config.write_text(
            json.dumps({"enable_script_checks": True, "check_output_max_size": cap, "checks": [check]})
        )

    write(16)
    agent = make_agent("-config-file", str(config)).start()
    first = wait_check(agent, "echo", lambda found: found is not None and found[0] == "passing")
    assert first is not None
    assert "Captured 16 of 201 bytes\n...\n" + "x" * 15 + "\n" == first[1]
    write(4096)

    assert 200 == agent.put("/v1/agent/reload").status

    grown = wait_check(agent, "echo", lambda found: found is not None and not found[1].startswith("Captured"))
    assert (words + "\n") == (grown[1] if grown else None)


def test_reload_applies_the_script_check_settings(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({"enable_script_checks": False}))
    agent = make_agent("-config-file", str(config)).start()
    script = {"Name": "s", "Args": ["/bin/true"], "Interval": "10s"}
    assert 400 == agent.put("/v1/agent/check/register", script).status
    config.write_text(json.dumps({"enable_script_checks": True}))

    assert 200 == agent.put("/v1/agent/reload").status

    assert 200 == agent.put("/v1/agent/check/register", script).status


def test_script_checks_stop_running_when_scripts_are_turned_off(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = tmp_path / "agent.json"
    runs = tmp_path / "runs"
    config.write_text(json.dumps({"enable_script_checks": True}))
    data = tmp_path / "data"
    agent = make_agent("-config-file", str(config), data_dir=data).start()
    script = {"Name": "s", "Args": ["/bin/sh", "-c", f"echo run >> {runs}"], "Interval": "1s"}
    assert 200 == agent.put("/v1/agent/check/register", script).status
    assert wait_check(agent, "s", lambda found: found is not None and found[0] == "passing")
    config.write_text(json.dumps({"enable_script_checks": False}))

    assert 200 == agent.put("/v1/agent/reload").status

    disabled = wait_check(agent, "s", lambda found: found is not None and found[0] == "critical")
    assert disabled is not None
    assert "Scripts are disabled on this agent" in disabled[1]
    counted = runs.read_text().count("run")
    time.sleep(2.5)
    assert counted == runs.read_text().count("run")  # listed, never run again
    agent.stop()
    agent.start()  # restored with scripts off: still never run
    time.sleep(2.5)
    assert counted == runs.read_text().count("run")
    assert "critical" == agent.get("/v1/agent/checks").json()["s"]["Status"]


def test_reload_applies_the_acl_default_policy_and_rotates_the_agent_tokens(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = tmp_path / "agent.json"

    def write(policy: str, recovery: str, enabled: bool = True) -> None:
        tokens = {"initial_management": "root", "agent_recovery": recovery}
        config.write_text(
            json.dumps({"acl": {"enabled": enabled, "default_policy": policy, "tokens": tokens}})
        )

    write("allow", "old-recovery")
    agent = make_agent("-config-file", str(config)).start()
    assert 200 == agent.put("/v1/agent/service/register", {"Name": "anon"}).status
    write("deny", "new-recovery")

    assert 200 == agent.put("/v1/agent/reload", headers={"X-Consul-Token": "root"}).status

    assert 403 == agent.put("/v1/agent/service/register", {"Name": "anon"}).status
    assert "deny" == agent.get("/v1/agent/self", headers={"X-Consul-Token": "root"}).header(
        "X-Consul-Default-ACL-Policy"
    )
    recovery = [
        agent.get("/v1/agent/self", headers={"X-Consul-Token": secret}).status  # agent:read
        for secret in ("old-recovery", "new-recovery")
    ]
    assert [403, 200] == recovery


@pytest.mark.parametrize(
    ("change", "named"),
    [({"datacenter": "dc2"}, "datacenter"), ({"acl": {"enabled": True}}, "acl.enabled")],
)
def test_reload_refuses_what_only_a_restart_can_change(
    make_agent: type[AgentProcess], tmp_path: Path, change: dict[str, object], named: str
) -> None:
    config = tmp_path / "agent.json"
    config.write_text(json.dumps({"services": [WEB]}))
    agent = make_agent("-config-file", str(config)).start()
    config.write_text(json.dumps({"services": [{**WEB, "name": "changed"}], **change}))

    reply = agent.put("/v1/agent/reload")

    assert 400 == reply.status
    assert f"{named} cannot change at reload: restart the agent" in reply.text
    assert "web" == agent.get("/v1/agent/service/web-1").json()["Service"]  # nothing applied
    assert "dc1" == agent.get("/v1/agent/self").json()["Config"]["Datacenter"]
