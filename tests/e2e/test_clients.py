"""End-to-end: the released Consul clients against a real agent (issue 3 "Proof"; spec Appendix B).

- py-consul (criteo, module `consul`), from the test environment;
- python-consul2 0.1.5, which also installs a top-level `consul` module and so cannot share an
  environment with py-consul: it is installed into its own plain venv, made once per session;
- the npm `consul` package (silas/node-consul 2.x), installed with npm into a temp dir from
  tests/e2e/node_client/package.json, running tests/e2e/node_client/client.js.

Each client runs the same scenario: a service with a TTL check, an extra check registered against
it, pass/warn/fail, health service (with and without ?passing) and health checks, service and node
maintenance, deregistration. A client that cannot be installed FAILS its test: it is never skipped.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import DEADLINE, agent_checks, environ_without_consul, poll

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

NODE_CLIENT = Path(__file__).parent / "node_client"
INSTALL_TIMEOUT = 300

# The scenario for both Python clients: their APIs agree on every call used here.
PY_SCENARIO = textwrap.dedent(
    """
    import json, sys
    import consul

    c = consul.Consul(host="127.0.0.1", port=int(sys.argv[1]))
    obs = {"client": [consul.__file__, getattr(consul, "__version__", None), hasattr(consul, "api")]}

    def status(check_id):
        check = c.agent.checks()[check_id]
        return [check["Status"], check["Output"]]

    def ids(entries):
        return sorted(e["Service"]["ID"] for e in entries)

    def check_ids(checks):
        return sorted(ch["CheckID"] for ch in checks)

    obs["register_service"] = c.agent.service.register(
        "web", service_id="web-1", port=8080, tags=["v1"], check=consul.Check.ttl("10s")
    )
    obs["register_check"] = c.agent.check.register(
        "mem", check=consul.Check.ttl("10s"), check_id="mem", service_id="web-1"
    )
    obs["register_check_unknown_service"] = c.agent.check.register(
        "x", check=consul.Check.ttl("10s"), check_id="x", service_id="ghost"
    )
    obs["check_ids"] = sorted(c.agent.checks())

    obs["pass"] = [c.agent.check.ttl_pass("mem", "ok"), status("mem")]
    obs["warn"] = [c.agent.check.ttl_warn("mem", "meh"), status("mem")]
    obs["fail"] = [c.agent.check.ttl_fail("mem", "bad"), status("mem")]
    c.agent.check.ttl_pass("service:web-1", "up")

    obs["health_all"] = ids(c.health.service("web")[1])
    obs["health_passing_while_mem_critical"] = ids(c.health.service("web", passing=True)[1])
    c.agent.check.ttl_pass("mem")
    obs["health_passing"] = ids(c.health.service("web", passing=True)[1])
    obs["health_checks"] = check_ids(c.health.checks("web")[1])
    obs["catalog_services"] = c.catalog.services()[1]
    tagged = c.catalog.service("web", tag="V1", near="_agent")[1]
    obs["catalog_service_tagged"] = [n["ServiceID"] for n in tagged]
    obs["health_tagged_passing"] = ids(c.health.service("web", tag="v1", passing=True, near="_agent")[1])
    obs["health_state_passing"] = check_ids(c.health.state("passing")[1])

    obs["service_maintenance_on"] = c.agent.service.maintenance("web-1", True, "deploy")
    obs["service_maintenance_notes"] = c.agent.checks()["_service_maintenance:web-1"]["Notes"]
    obs["health_passing_in_service_maintenance"] = ids(c.health.service("web", passing=True)[1])
    obs["health_checks_in_service_maintenance"] = check_ids(c.health.checks("web")[1])
    obs["service_maintenance_off"] = c.agent.service.maintenance("web-1", False)

    obs["node_maintenance_on"] = c.agent.maintenance(True, "kernel")
    obs["node_maintenance_notes"] = c.agent.checks()["_node_maintenance"]["Notes"]
    obs["health_passing_in_node_maintenance"] = ids(c.health.service("web", passing=True)[1])
    obs["node_maintenance_off"] = c.agent.maintenance(False)
    obs["health_passing_after_maintenance"] = ids(c.health.service("web", passing=True)[1])

    obs["deregister_check"] = c.agent.check.deregister("mem")
    obs["deregister_service"] = c.agent.service.deregister("web-1")
    obs["checks_at_end"] = c.agent.checks()
    print(json.dumps(obs))
    """
)

EXPECTED: dict[str, Any] = {
    "register_service": True,
    "register_check": True,
    "register_check_unknown_service": False,  # a 404: the Python clients' boolean callback gives False
    "check_ids": ["mem", "service:web-1"],
    "pass": [True, ["passing", "ok"]],
    "warn": [True, ["warning", "meh"]],
    "fail": [True, ["critical", "bad"]],
    "health_all": ["web-1"],
    "health_passing_while_mem_critical": [],
    "health_passing": ["web-1"],
    "health_checks": ["mem", "service:web-1"],
    "catalog_services": {"consul": [], "web": ["v1"]},
    "catalog_service_tagged": ["web-1"],
    "health_tagged_passing": ["web-1"],
    "health_state_passing": ["mem", "serfHealth", "service:web-1"],
    "service_maintenance_on": True,
    "service_maintenance_notes": "deploy",
    "health_passing_in_service_maintenance": [],
    "health_checks_in_service_maintenance": ["_service_maintenance:web-1", "mem", "service:web-1"],
    "service_maintenance_off": True,
    "node_maintenance_on": True,
    "node_maintenance_notes": "kernel",
    "health_passing_in_node_maintenance": [],
    "node_maintenance_off": True,
    "health_passing_after_maintenance": ["web-1"],
    "deregister_check": True,
    "deregister_service": True,
    "checks_at_end": {},
}


def run_client(cmd: list[str], cwd: Path | None = None) -> dict[str, Any]:
    done = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=120, env=environ_without_consul(), check=False
    )
    assert 0 == done.returncode, f"client failed:\n{done.stderr}\n{done.stdout}"
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- installs (session-wide, never skipped) --------------------------------------------------------


@pytest.fixture(scope="session")
def consul2_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The python of a plain venv holding python-consul2 (not py-consul: both own `consul`)."""
    venv = tmp_path_factory.mktemp("python-consul2") / "venv"
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "python-consul2",
        ],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False)
        if done.returncode != 0:
            pytest.fail(f"cannot install python-consul2 ({' '.join(step)}):\n{done.stdout}\n{done.stderr}")
    return str(venv / "bin" / "python")


@pytest.fixture(scope="session")
def node_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp dir with tests/e2e/node_client's files and `npm install`ed node_modules."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the npm `consul` client test")
    work = tmp_path_factory.mktemp("node-consul")
    for name in ("package.json", "client.js"):
        shutil.copy(NODE_CLIENT / name, work / name)
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if done.returncode != 0 or not (work / "node_modules" / "consul").is_dir():
        pytest.fail(f"cannot install the npm consul package:\n{done.stdout}\n{done.stderr}")
    return work


@pytest.fixture(scope="session")
def py_scenario(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("py-scenario") / "scenario.py"
    path.write_text(PY_SCENARIO)
    return str(path)


# -- the shared scenario, per client -------------------------------------------------------------


def test_py_consul_runs_the_scenario(agent: AgentProcess, py_scenario: str) -> None:
    obs = run_client([sys.executable, py_scenario, str(agent.port)])
    client = obs.pop("client")
    assert True is client[2], f"not py-consul: {client}"
    assert EXPECTED == obs
    assert {} == agent_checks(agent)


def test_python_consul2_runs_the_scenario(agent: AgentProcess, consul2_python: str, py_scenario: str) -> None:
    obs = run_client([consul2_python, py_scenario, str(agent.port)])
    client = obs.pop("client")
    assert ("0.1.5", False) == (client[1], client[2]), f"not python-consul2: {client}"
    assert EXPECTED == obs
    assert {} == agent_checks(agent)


def test_npm_consul_runs_the_scenario(agent: AgentProcess, node_client: Path) -> None:
    node = shutil.which("node")
    assert node is not None
    version = json.loads((node_client / "node_modules" / "consul" / "package.json").read_text())["version"]
    assert version.startswith("2."), version
    obs = run_client([node, "client.js", str(agent.port)], cwd=node_client)
    expected = {**EXPECTED, "register_check_unknown_service": [404, 'ServiceID "ghost" does not exist']}
    assert expected == obs
    assert {} == agent_checks(agent)


# -- py-consul in process: checks that target the agent itself, as its own tests do ----------------


def test_py_consul_service_with_http_and_tcp_checks_on_the_agent_itself_passes(agent: AgentProcess) -> None:
    import consul

    c = consul.Consul(host="127.0.0.1", port=agent.port)
    assert c.agent.service.register(
        "web",
        service_id="web-1",
        check=consul.Check.http(agent.url, "1s"),
        extra_checks=[consul.Check.tcp("127.0.0.1", agent.port, "1s"), consul.Check.ttl("10s")],
    )
    checks = c.agent.checks()
    assert {
        "service:web-1:1": ("http", "1s"),
        "service:web-1:2": ("tcp", "1s"),
        "service:web-1:3": ("ttl", ""),
    } == {k: (v["Type"], v["Interval"]) for k, v in checks.items()}

    def statuses() -> dict[str, str]:
        return {k: v["Status"] for k, v in c.agent.checks().items() if k != "service:web-1:3"}

    assert {"service:web-1:1": "passing", "service:web-1:2": "passing"} == poll(
        statuses, lambda s: set(s.values()) == {"passing"}, timeout=DEADLINE
    )
    assert c.agent.check.ttl_pass("service:web-1:3")
    _, nodes = c.health.service("web", passing=True)
    assert ["web-1"] == [n["Service"]["ID"] for n in nodes]


def test_py_consul_ttl_of_100ms_goes_critical_after_a_pass(agent: AgentProcess) -> None:
    import consul

    c = consul.Consul(host="127.0.0.1", port=agent.port)
    assert c.agent.check.register("t", check=consul.Check.ttl("100ms"))
    assert c.agent.check.ttl_pass("t")
    time.sleep(0.12)  # py-consul's own test: ttl 100ms, pass, sleep 120 ms -> critical
    seen = poll(lambda: c.agent.checks()["t"]["Status"], lambda s: s == "critical", timeout=5)
    assert "critical" == seen


def test_py_consul_maps_agent_errors_to_its_exceptions(agent: AgentProcess) -> None:
    import consul
    from consul.exceptions import BadRequest

    c = consul.Consul(host="127.0.0.1", port=agent.port)
    with pytest.raises(BadRequest, match="Scripts are disabled on this agent"):
        c.agent.check.register("s", check=consul.Check.script(["/bin/true"], "10s"))
    assert c.agent.check.register("h", check=consul.Check.http("http://127.0.0.1:1/", "10s"))
    with pytest.raises(BadRequest, match='CheckID "h" does not have associated TTL'):
        c.agent.check.ttl_pass("h")
    assert False is c.agent.check.ttl_pass("ghost")
    assert False is c.agent.service.maintenance("ghost", True)
