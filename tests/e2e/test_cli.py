"""End-to-end: the real `muster` command (a subprocess) against a real agent, for every command, with
human and `-format json` output, exit codes and the one-line errors (issue 8, CLI half)."""

from __future__ import annotations

import json
import os
import pty
import re
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from muster.cli import main, output
from muster.cli.client import ClientError, parse_address
from tests.agentproc import AgentProcess
from tests.e2e.targets import free_port, register_service, write_script
from tests.reliability.disks import writes_fail
from tests.unit.probe_targets import make_cert

pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

Result = subprocess.CompletedProcess[str]
ADMIN = "root-secret-0000"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONSUL_", "MUSTER_", "NO_COLOR"))}
    return {**env, **extra}


def muster(*args: str, agent: AgentProcess | None = None, env: dict[str, str] | None = None) -> Result:
    """Run `python -m muster ARGS`, pointed at `agent` through CONSUL_HTTP_ADDR."""
    extra = {"CONSUL_HTTP_ADDR": agent.address} if agent else {}
    return subprocess.run(
        [sys.executable, "-m", "muster", *args],
        capture_output=True,
        text=True,
        env=clean_env(**extra, **(env or {})),
        timeout=60,
        check=False,
    )


def ok(result: Result) -> str:
    assert (0, "") == (result.returncode, result.stderr), result.stdout
    return result.stdout


def one_error(result: Result, code: int = 1) -> str:
    """The command failed with exactly one `Error:` line on stderr; return its text."""
    assert code == result.returncode, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert 1 == len(lines), result.stderr
    assert lines[0].startswith("Error: "), result.stderr
    return lines[0]


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()]


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def ttl_service(agent: AgentProcess, name: str = "web", sid: str = "web-1") -> None:
    register_service(agent, {"Name": name, "ID": sid, "Port": 80, "Tags": ["a"], "Check": {"TTL": "60s"}})


# -- help, addresses, unreachable agents, the error texts ---------------------------------------------
def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_command_answers_help() -> None:
    commands = list(_commands(main))
    assert 25 <= len(commands)
    runner = CliRunner()
    for path in commands:
        result = runner.invoke(main, [*path, "--help"])
        assert (0, True) == (result.exit_code, result.output.startswith("Usage: ")), path
    assert "-http-addr" in ok(muster("services", "register", "-help"))


def test_unreachable_agent_is_one_line_and_exit_1() -> None:
    port = free_port()
    expected = (
        f"Error: cannot reach the agent at http://127.0.0.1:{port} (connection refused): is `muster agent` "
        "running? Set -http-addr or CONSUL_HTTP_ADDR."
    )
    assert expected == one_error(muster("members", "-http-addr", f"127.0.0.1:{port}"))
    assert expected == one_error(muster("services", "list", env={"CONSUL_HTTP_ADDR": f"127.0.0.1:{port}"}))


def test_address_flag_and_env_precedence(agent: AgentProcess) -> None:
    closed = f"127.0.0.1:{free_port()}"
    assert "test-node" in ok(
        muster("members", env={"MUSTER_HTTP_ADDR": agent.url, "CONSUL_HTTP_ADDR": closed})
    )
    assert "test-node" in ok(muster("members", env={"CONSUL_HTTP_ADDR": f"http://{agent.address}"}))
    assert "test-node" in ok(
        muster("members", "--http-addr", agent.address, env={"MUSTER_HTTP_ADDR": closed})
    )
    message = one_error(muster("members", "-http-addr", "ftp://x:1"))
    assert 'Error: invalid agent address "ftp://x:1": use host:port or http(s)://host:port' == message


def test_error_messages_name_the_fix() -> None:
    body = "Permission denied: token with AccessorID 'abc' lacks permission 'service:write' on \"web\""
    assert (
        "permission denied: token with AccessorID 'abc' lacks permission 'service:write' on \"web\". "
        "Pass a token with -token or CONSUL_HTTP_TOKEN."
    ) == output.api_error_message(403, body, "PUT", "/v1/agent/service/register")
    assert output.forbidden_message("ACL not found") == output.api_error_message(403, "", "GET", "/v1/x")
    assert "the agent answered 400 to PUT /p: 2 errors occurred: a; b" == output.api_error_message(
        400, "2 errors occurred:\n\t* a\n\t* b\n\n", "PUT", "/p"
    )
    assert "the agent answered 404 to GET /s: no such service" == output.api_error_message(
        404, '{"kind":"service-not-found","msg":"no such service"}', "GET", "/s"
    )


def test_addresses_take_consul_forms() -> None:
    assert "http://127.0.0.1:8500" == parse_address("127.0.0.1").url
    assert "https://h:8501" == parse_address("h:8501", ssl_default=True).url
    assert "https://h:443" == parse_address("https://h").url
    assert "http://[::1]:9" == parse_address("http://[::1]:9").url
    with pytest.raises(ClientError, match="port is not a number"):
        parse_address("h:http")


# -- services -----------------------------------------------------------------------------------
def test_services_register_from_flags_then_list(agent: AgentProcess) -> None:
    args = ("-name", "web", "-id", "web-1", "-port", "80", "--tag", "a", "-tag", "b", "-meta", "team=x")
    assert "Registered service: web\n" == ok(muster("services", "register", *args, agent=agent))
    service = agent.get("/v1/agent/service/web-1").json()
    assert ("web", 80, ["a", "b"], {"team": "x"}) == (
        service["Service"],
        service["Port"],
        service["Tags"],
        service["Meta"],
    )
    listed = ok(muster("services", "list", agent=agent))
    assert [["ID", "SERVICE", "ADDRESS", "PORT", "TAGS"], ["web-1", "web", "80", "a,b"]] == rows(listed)
    as_json = json.loads(ok(muster("services", "list", "-format", "json", agent=agent)))
    assert ["web-1"] == list(as_json)


def test_services_list_filter_and_bad_filter(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "web", "ID": "web-1"})
    register_service(agent, {"Name": "db", "ID": "db-1"})
    listed = ok(muster("services", "list", "-filter", "Service == db", agent=agent))
    assert ["db-1"] == [row[0] for row in rows(listed)[1:]]
    assert "No services registered.\n" == ok(
        muster("services", "list", "-filter", "Service == x", agent=agent)
    )
    message = one_error(muster("services", "list", "-filter", "Service ==", agent=agent))
    assert message.startswith("Error: the agent answered 400 to GET /v1/agent/services: ")


def test_services_register_and_deregister_hcl_file(agent: AgentProcess, tmp_path: Path) -> None:
    path = write(
        tmp_path / "web.hcl",
        'service {\n  name = "web"\n  id = "web-1"\n  port = 8080\n  check {\n    ttl = "30s"\n  }\n}\n',
    )
    assert "Registered service: web\n" == ok(muster("services", "register", path, agent=agent))
    assert ["web-1"] == list(agent.get("/v1/agent/services").json())
    assert ["service:web-1"] == list(agent.get("/v1/agent/checks").json())
    assert "Deregistered service: web-1\n" == ok(muster("services", "deregister", path, agent=agent))
    assert {} == agent.get("/v1/agent/services").json()


def test_services_register_json_list_and_deregister_by_id(agent: AgentProcess, tmp_path: Path) -> None:
    path = tmp_path / "two.json"
    path.write_text(json.dumps({"services": [{"name": "a", "port": 1}, {"Name": "b", "ID": "b-1"}]}))
    assert "Registered service: a\nRegistered service: b\n" == ok(
        muster("services", "register", str(path), agent=agent)
    )
    assert ["a", "b-1"] == sorted(agent.get("/v1/agent/services").json())
    assert "Deregistered service: b-1\n" == ok(muster("services", "deregister", "b-1", agent=agent))
    assert "Deregistered service: a\n" == ok(muster("services", "deregister", "-id", "a", agent=agent))
    message = one_error(muster("services", "deregister", "nope", agent=agent))
    assert message.startswith("Error: the agent answered 404 to PUT /v1/agent/service/deregister/nope: ")


def test_services_register_errors(agent: AgentProcess, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.hcl", "service {\n  name = \n")
    assert one_error(muster("services", "register", bad, agent=agent)).startswith(
        f"Error: {bad}: cannot parse config file: "
    )
    empty = write(tmp_path / "empty.json", "{}")
    expected = f'Error: {empty}: no service definition found (expected a "service" or "services" key)'
    assert expected == one_error(muster("services", "register", empty, agent=agent))
    missing = str(tmp_path / "missing.json")
    assert f"Error: {missing}: cannot read config file: No such file or directory" == one_error(
        muster("services", "register", missing, agent=agent)
    )
    invalid = write(tmp_path / "port.json", '{"service": {"name": "w", "port": "x"}}')
    assert "Error: the agent answered 400" in one_error(muster("services", "register", invalid, agent=agent))
    usage = muster("services", "register", agent=agent)
    assert (2, True) == (usage.returncode, "give a FILE or at least -name" in usage.stderr)


# -- catalog, checks, members, info, reload --------------------------------------------------------
def test_catalog_services_and_nodes(agent: AgentProcess) -> None:
    ttl_service(agent)
    assert "consul\nweb\n" == ok(muster("catalog", "services", agent=agent))
    tagged = rows(ok(muster("catalog", "services", "-tags", agent=agent)))
    assert [["SERVICE", "TAGS"], ["consul"], ["web", "a"]] == tagged
    assert {"consul": [], "web": ["a"]} == json.loads(
        ok(muster("catalog", "services", "-format", "json", agent=agent))
    )
    nodes = rows(ok(muster("catalog", "nodes", agent=agent)))
    assert (["NODE", "ID", "ADDRESS", "DC"], "test-node", 8) == (nodes[0], nodes[1][0], len(nodes[1][1]))
    detailed = json.loads(
        ok(muster("catalog", "nodes", "-format", "json", "-filter", "Node == x", agent=agent))
    )
    assert [] == detailed


def test_checks_list_shows_status_and_output(agent: AgentProcess) -> None:
    ttl_service(agent)
    assert 200 == agent.put("/v1/agent/check/warn/service:web-1?note=slow%20disk").status
    listed = ok(muster("checks", "list", agent=agent))
    assert ["CHECK ID", "NAME", "STATUS", "SERVICE", "OUTPUT"] == re.split(r"\s{2,}", listed.splitlines()[0])
    assert ["service:web-1", "Service", "'web'", "check", "warning", "web-1", "slow", "disk"] == rows(listed)[
        1
    ]
    checks = json.loads(
        ok(muster("checks", "list", "-format", "json", "-filter", "Status == warning", agent=agent))
    )
    assert ["service:web-1"] == list(checks)
    assert "No checks registered.\n" == ok(muster("checks", "list", "-service", "other", agent=agent))


def test_members_and_info(agent: AgentProcess) -> None:
    members = rows(ok(muster("members", agent=agent)))
    assert ["NODE", "ADDRESS", "STATUS", "TYPE", "BUILD", "PROTOCOL", "DC"] == members[0]
    assert ["test-node", "127.0.0.1:8301", "alive", "server"] == members[1][:4]
    assert "test-node" == json.loads(ok(muster("members", "-format", "json", agent=agent)))[0]["Name"]
    ttl_service(agent)
    info = ok(muster("info", agent=agent))
    assert "agent:\n" in info
    assert "\tservices = 1\n" in info
    assert "\tchecks = 1\n" in info
    assert "1" == json.loads(ok(muster("info", "-format", "json", agent=agent)))["agent"]["services"]


def test_reload_rereads_config_and_reports_a_bad_file(make_agent: type[AgentProcess], tmp_path: Path) -> None:
    config = tmp_path / "svc.json"
    config.write_text(json.dumps({"service": {"name": "one"}}))
    agent = make_agent("-config-file", str(config)).start()
    config.write_text(json.dumps({"service": {"name": "two"}}))
    assert "Configuration reload triggered\n" == ok(muster("reload", agent=agent))
    assert ["two"] == list(agent.get("/v1/agent/services").json())
    config.write_text(json.dumps({"bogus": 1}))
    message = one_error(muster("reload", agent=agent))
    assert 'unknown configuration key "bogus"' in message
    assert str(config) in message


# -- maintenance and health ---------------------------------------------------------------------
def test_maint_enable_list_disable(agent: AgentProcess) -> None:
    ttl_service(agent)
    enabled = muster("maint", "-enable", "-service", "web-1", "-reason", "deploy", agent=agent)
    assert 'Service maintenance is now enabled for "web-1"\n' == ok(enabled)
    assert "Node maintenance is now enabled\n" == ok(muster("maint", "--enable", agent=agent))
    listed = rows(ok(muster("maint", agent=agent)))
    assert [
        ["KIND", "ID", "REASON"],
        ["node", "test-node", "Maintenance"],
        ["service", "web-1", "deploy"],
    ] == [row[:3] for row in listed]
    assert 2 == len(json.loads(ok(muster("maint", "-format", "json", agent=agent))))
    assert "Node maintenance is now disabled\n" == ok(muster("maint", "-disable", agent=agent))
    ok(muster("maint", "-disable", "-service", "web-1", agent=agent))
    assert "Nothing is in maintenance.\n" == ok(muster("maint", agent=agent))


def test_maint_errors(agent: AgentProcess) -> None:
    usage = muster("maint", "-enable", "-disable", agent=agent)
    assert (2, True) == (usage.returncode, "only one of -enable or -disable" in usage.stderr)
    usage = muster("maint", "-disable", "-reason", "x", agent=agent)
    assert (2, True) == (usage.returncode, "-reason may only be given with -enable" in usage.stderr)
    message = one_error(muster("maint", "-enable", "-service", "nope", agent=agent))
    assert message.startswith("Error: the agent answered 404 to PUT /v1/agent/service/maintenance/nope: ")


def test_health_exit_codes_follow_the_status(agent: AgentProcess) -> None:
    ttl_service(agent)
    assert 200 == agent.put("/v1/agent/check/pass/service:web-1").status
    passing = ok(muster("health", "web", agent=agent))
    assert ["web:", "passing"] == rows(passing)[0]
    assert ["web-1", "passing", "1", "passing"] == rows(passing)[2]
    assert 200 == agent.put("/v1/agent/check/warn/service:web-1").status
    assert 1 == muster("health", "web", agent=agent).returncode
    assert 200 == agent.put("/v1/agent/check/fail/service:web-1").status
    critical = muster("health", "web", "-format", "json", agent=agent)
    assert (2, "critical") == (critical.returncode, json.loads(critical.stdout)["AggregatedStatus"])
    assert 200 == agent.put("/v1/agent/check/pass/service:web-1").status
    assert 200 == agent.put("/v1/agent/service/maintenance/web-1?enable=true").status
    maintenance = muster("health", "web", agent=agent)
    assert (2, "web: maintenance") == (maintenance.returncode, maintenance.stdout.splitlines()[0])
    unknown = muster("health", "nope", agent=agent)
    assert (2, "nope: unknown") == (unknown.returncode, unknown.stdout.splitlines()[0])


def test_health_of_an_unreachable_agent_is_unknown() -> None:
    result = muster("health", "web", "-http-addr", f"127.0.0.1:{free_port()}")
    assert "cannot reach the agent" in one_error(result, code=2)


# -- status -------------------------------------------------------------------------------------
def test_status_lists_subsystems_and_one_in_detail(agent: AgentProcess) -> None:
    listed = rows(ok(muster("status", agent=agent)))
    assert ["SERVICE", "STATE", "VERSION", "ALERTS"] == listed[0]
    assert {"check-runner", "http-api", "status-service", "store"} == {row[0] for row in listed[1:]}
    assert {"running"} == {row[1] for row in listed[1:]}
    detail = ok(muster("status", "store", "-level", "debug", agent=agent))
    assert "Service:        store\nState:          running\n" in detail
    assert "Detail level:   debug\n" in detail
    document = json.loads(ok(muster("status", "-format", "json", "-level", "critical", agent=agent)))
    assert {"critical"} == {entry["detail_level"] for entry in document.values()}
    missing = one_error(muster("status", "nope", agent=agent))
    assert "Error: the agent answered 404 to GET /status/v1/services/nope: No status information" in missing


def test_status_exit_code_follows_the_worst_state(agent: AgentProcess) -> None:
    ok(muster("maint", "-enable", agent=agent))
    stopping = muster("status", "http-api", agent=agent)
    assert (1, "State:          stopping") == (stopping.returncode, stopping.stdout.splitlines()[1])
    ok(muster("maint", "-disable", agent=agent))
    with writes_fail(agent):  # the agent's next write fails: the store reports error
        assert 500 == agent.put("/v1/agent/service/register", {"Name": "web"}).status
        failing = muster("status", agent=agent)
        assert 2 == failing.returncode
        assert ["store", "error"] == next(row[:2] for row in rows(failing.stdout) if row[0] == "store")


# -- ACLs ---------------------------------------------------------------------------------------
@pytest.fixture
def acl_agent(make_agent: type[AgentProcess], tmp_path: Path) -> AgentProcess:
    config = write(tmp_path / "acl.hcl", 'acl {\n  enabled = true\n  default_policy = "deny"\n}\n')
    return make_agent("-config-file", config).start()


def test_acl_bootstrap_policies_and_tokens(acl_agent: AgentProcess, tmp_path: Path) -> None:
    agent = acl_agent
    boot = json.loads(ok(muster("acl", "bootstrap", "-format", "json", agent=agent)))
    admin = {"CONSUL_HTTP_TOKEN": boot["SecretID"]}
    again = one_error(muster("acl", "bootstrap", agent=agent))
    assert again.startswith("Error: the ACL system is already bootstrapped (")
    rules = write(tmp_path / "rules.hcl", 'service_prefix "" {\n  policy = "read"\n}\n')
    created = ok(
        muster("acl", "policy", "create", "-name", "read", "-rules", f"@{rules}", agent=agent, env=admin)
    )
    assert "Name:        read\n" in created
    assert 'service_prefix ""' in created
    listed = rows(ok(muster("acl", "policy", "list", agent=agent, env=admin)))
    assert {"global-management", "read"} == {row[1] for row in listed[1:]}
    policy = json.loads(
        ok(muster("acl", "policy", "read", "-name", "read", "-format", "json", agent=agent, env=admin))
    )
    assert (
        "read"
        == json.loads(
            ok(
                muster(
                    "acl", "policy", "read", "-id", policy["ID"], "-format", "json", agent=agent, env=admin
                )
            )
        )["Name"]
    )
    create = ("acl", "token", "create", "-policy-name", "read", "-description", "reader", "-format", "json")
    token = json.loads(ok(muster(*create, agent=agent, env=admin)))
    assert [{"ID": policy["ID"], "Name": "read"}] == token["Policies"]
    assert "reader" in ok(muster("acl", "token", "list", agent=agent, env=admin))
    shown = ok(muster("acl", "token", "read", "-id", token["AccessorID"], agent=agent, env=admin))
    assert f"   {policy['ID']} - read" in shown
    own = ok(muster("acl", "token", "read", "-self", "-token", token["SecretID"], agent=agent))
    assert ["AccessorID:", token["AccessorID"]] == rows(own)[0]
    assert f'Token "{token["AccessorID"]}" deleted successfully\n' == ok(
        muster("acl", "token", "delete", "-id", token["AccessorID"], agent=agent, env=admin)
    )
    assert f'Policy "{policy["ID"]}" deleted successfully\n' == ok(
        muster("acl", "policy", "delete", "-name", "read", agent=agent, env=admin)
    )
    assert "read" not in ok(muster("acl", "policy", "list", agent=agent, env=admin))


def test_acl_403_says_to_pass_a_token(acl_agent: AgentProcess) -> None:
    denied = one_error(muster("services", "register", "-name", "web", agent=acl_agent))
    assert denied.startswith("Error: permission denied: anonymous token lacks permission 'service:write'")
    assert denied.endswith(". Pass a token with -token or CONSUL_HTTP_TOKEN.")
    boot = json.loads(ok(muster("acl", "bootstrap", "-format", "json", agent=acl_agent)))
    ok(muster("services", "register", "-name", "web", "-token", boot["SecretID"], agent=acl_agent))
    ok(muster("services", "deregister", "web", agent=acl_agent, env={"CONSUL_HTTP_TOKEN": boot["SecretID"]}))


def test_acl_commands_on_an_agent_without_acls(agent: AgentProcess) -> None:
    expected = "Error: the agent answered 401 to GET /v1/acl/policies: ACL support disabled"
    assert expected == one_error(muster("acl", "policy", "list", agent=agent))
    usage = muster("acl", "token", "read", agent=agent)
    assert (2, True) == (usage.returncode, "give exactly one of -id or -self" in usage.stderr)


# -- watch ---------------------------------------------------------------------------------------
def wait_for_lines(path: Path, count: int, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)  # the watch process writes on its own schedule; poll the file it appends to
    raise AssertionError(f"{path} has fewer than {count} lines")


def watch(agent: AgentProcess, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "muster", "watch", "-max-runs", "2", *args]
    env = clean_env(CONSUL_HTTP_ADDR=agent.address)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_watch_services_runs_the_handler_on_each_change(agent: AgentProcess, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    handler = write_script(tmp_path, "handler.sh", f'cat >> "{log}"')
    proc = watch(agent, "-type", "services", "--", handler)
    try:
        assert [{"consul": []}] == [json.loads(line) for line in wait_for_lines(log, 1)]
        register_service(agent, {"Name": "web", "Tags": ["v1"]})
        assert 0 == proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    assert [{"consul": []}, {"consul": [], "web": ["v1"]}] == [
        json.loads(line) for line in log.read_text().splitlines()
    ]


def test_watch_service_through_a_shell_handler_with_consul_index(agent: AgentProcess, tmp_path: Path) -> None:
    log, indexes = tmp_path / "runs.log", tmp_path / "index.log"
    proc = watch(
        agent,
        "-type",
        "service",
        "-service",
        "web",
        "--",
        f'echo "$CONSUL_INDEX" >> "{indexes}"; cat >> "{log}"',
    )
    try:
        assert [[]] == [json.loads(line) for line in wait_for_lines(log, 1)]
        register_service(agent, {"Name": "web", "ID": "web-1", "Port": 80})
        assert 0 == proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.communicate()
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert ["web-1"] == [entry["Service"]["ID"] for entry in runs[1]]
    first, second = (int(line) for line in indexes.read_text().split())
    assert 0 < first < second


def test_watch_prints_json_without_a_handler_and_reports_errors(agent: AgentProcess) -> None:
    printed = ok(muster("watch", "-type", "checks", "-max-runs", "1", agent=agent))
    assert ["serfHealth"] == [check["CheckID"] for check in json.loads(printed)]
    usage = muster("watch", "-type", "service", agent=agent)
    assert (2, True) == (usage.returncode, "-type service needs -service NAME" in usage.stderr)
    closed = f"127.0.0.1:{free_port()}"
    assert "cannot reach the agent" in one_error(muster("watch", "-type", "services", "-http-addr", closed))


# -- validate -------------------------------------------------------------------------------------
def test_validate_good_files_and_directories(tmp_path: Path) -> None:
    good = write(
        tmp_path / "good.hcl",
        'node_name = "n"\nservice {\n  name = "web"\n  check {\n    ttl = "5s"\n  }\n}\n',
    )
    assert "Configuration is valid! (1 services, 1 checks)\n" == ok(muster("validate", good))
    (tmp_path / "more.json").write_text(json.dumps({"services": [{"name": "a"}, {"name": "b"}]}))
    assert "Configuration is valid! (3 services, 1 checks)\n" == ok(muster("validate", str(tmp_path)))
    assert "" == ok(muster("validate", "-quiet", good))


def test_validate_bad_files_name_file_and_key(tmp_path: Path) -> None:
    unknown = write(tmp_path / "a.json", '{"node_nam": "x"}')
    expected = f'Error: config validation failed: {unknown}: unknown configuration key "node_nam"'
    assert expected == one_error(muster("validate", unknown))
    typed = write(tmp_path / "b.json", '{"ports": {"http": "x"}}')
    assert f'{typed}: "ports.http" must be a int' in one_error(muster("validate", typed))
    port = write(tmp_path / "c.hcl", 'service {\n  name = "w"\n  port = "x"\n}\n')
    message = one_error(muster("validate", port))
    assert f"{port}: invalid service definition: " in message
    assert "Port" in message
    syntax = write(tmp_path / "d.hcl", "service {")
    assert f"{syntax}: cannot parse config file" in one_error(muster("validate", syntax))
    missing = tmp_path / "none.json"
    assert f"Error: {missing}: no such file or directory" == one_error(muster("validate", str(missing)))


# -- colour, tokens and TLS ----------------------------------------------------------------------------
def test_colour_only_on_a_terminal(agent: AgentProcess) -> None:
    ttl_service(agent)
    piped = ok(muster("checks", "list", agent=agent))
    assert "\x1b[" not in piped
    command = [sys.executable, "-m", "muster", "checks", "list"]
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, stdout=follower, env=clean_env(CONSUL_HTTP_ADDR=agent.address))
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert 0 == proc.wait(timeout=30)
    assert "\x1b[31m\x1b[1mcritical" in b"".join(chunks).decode()


class FakeAgent:
    """An HTTPS server that answers /v1/agent/members and records each request's token; it requires a
    client certificate signed by `cert` (the test's self-signed one)."""

    def __init__(self, directory: Path) -> None:
        self.cert = make_cert(directory)
        self.tokens: list[str | None] = []
        tokens = self.tokens

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                tokens.append(self.headers.get("X-Consul-Token"))
                body = json.dumps([{"Name": "tls-node", "Addr": "127.0.0.1", "Port": 8301, "Status": 1}])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, format: str, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert.cert, self.cert.key)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(self.cert.cert)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_agent(tmp_path: Path) -> Iterator[FakeAgent]:
    fake = FakeAgent(tmp_path)
    yield fake
    fake.close()


def test_tls_files_and_token_from_env_and_flags(tls_agent: FakeAgent) -> None:
    cert, key = str(tls_agent.cert.cert), str(tls_agent.cert.key)
    tls = {"CONSUL_HTTP_ADDR": tls_agent.url, "CONSUL_CACERT": cert, "CONSUL_CLIENT_CERT": cert}
    env = {**tls, "CONSUL_CLIENT_KEY": key, "CONSUL_HTTP_TOKEN": "from-env"}
    assert "tls-node" in ok(muster("members", env=env))
    assert "tls-node" in ok(muster("members", "-token", "from-flag", env=env))
    assert "tls-node" in ok(
        muster(
            "members", "-http-addr", tls_agent.url, "-ca-file", cert, "-client-cert", cert, "-client-key", key
        )
    )
    assert ["from-env", "from-flag", None] == tls_agent.tokens
    unverified = one_error(muster("members", env={"CONSUL_HTTP_ADDR": tls_agent.url}))
    assert "(TLS: CERTIFICATE_VERIFY_FAILED)" in unverified
    missing = one_error(muster("members", env={**env, "CONSUL_CACERT": "/nonexistent.pem"}))
    assert missing.startswith("Error: cannot load the TLS files: ")
