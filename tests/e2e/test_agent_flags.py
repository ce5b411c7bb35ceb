"""End-to-end: the real `muster agent` started with Consul's flag forms (issue 14): `-ui=false` (which
click refused), `-enable-script-checks` and `-server` (which answered "No such option '-e'")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import register_check, wait_status, write_script

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

NO_DNS = ("-dns-port", "-1")


def test_ui_false_and_enable_script_checks_start_the_agent_and_run_a_script_check(
    make_agent: Any, tmp_path: Path
) -> None:
    agent: AgentProcess = make_agent(
        "-ui=false", "-enable-script-checks", "-server", *NO_DNS, dev=True
    ).start()
    assert 404 == agent.get("/ui/").status  # -dev turns the UI on; -ui=false turns it off again
    script = write_script(tmp_path, "ok.sh", "echo flag on; exit 0")
    register_check(agent, {"Name": "by-flag", "Args": [script], "Interval": "1s"})
    assert ("passing", "flag on\n") == wait_status(agent, "by-flag", "passing")
    ignored = "flag -server is accepted for Consul compatibility and has no effect"
    assert 1 == sum(ignored in line for line in agent.stderr_lines)


def test_enable_script_checks_false_keeps_script_checks_refused(make_agent: Any, tmp_path: Path) -> None:
    agent: AgentProcess = make_agent("-enable-script-checks=false", *NO_DNS).start()
    script = write_script(tmp_path, "ok.sh", "exit 0")
    reply = agent.put("/v1/agent/check/register", {"Name": "off", "Args": [script], "Interval": "1s"})
    assert (400, "Scripts are disabled on this agent from remote calls") == (
        reply.status,
        reply.text.split(";")[0],
    )
