"""End-to-end: Puppet's status API on the real agent (spec puppet-status.md): every endpoint and level,
the error kinds and texts, HEAD, 404s, `timeout`, the store forced into `error` and back, and callbacks
that are slow, raise or answer nonsense (registered by a small launcher around `muster agent`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess, Reply
from tests.reliability.disks import writes_fail

# tests/agentproc.py never closes the agent's stdout/stderr pipes; see test_agent_services.py. When the
# stderr reader thread drops its pipe, the same warning arrives as an "unraisable" one.
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

JSON_UTF8 = "application/json; charset=utf-8"
TEXT_UTF8 = "text/plain; charset=utf-8"
SUBSYSTEMS = ["check-runner", "http-api", "status-service", "store"]
SERVICE_STATUS_KEYS = {
    "service_version",
    "service_status_version",
    "detail_level",
    "state",
    "status",
    "active_alerts",
}
JVM_KEYS = {
    "heap-memory",
    "non-heap-memory",
    "memory-pools",
    "file-descriptors",
    "nio-buffer-pools",
    "threading",
    "gc-stats",
    "up-time-ms",
    "start-time-ms",
    "cpu-usage",
    "gc-cpu-usage",
}
NOT_A_ROUTE = "Invalid URL path: not a recognized HTTP API endpoint\n"  # the dispatcher's generic 404s
NOT_UNDER_V1 = "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n"

# `muster agent` itself, with extra status callbacks registered the way any subsystem registers one.
LAUNCHER = """
import asyncio, importlib, time
cli = importlib.import_module("muster.cli.agent")  # the package re-exports the command as `agent`
agent_module = importlib.import_module("muster.agent.root")  # open_agent builds the Agent named here

def slow_thread(level):
    time.sleep(3)
    return {"state": "running", "status": None}

async def slow_async(level):
    await asyncio.sleep(3)
    return {"state": "running", "status": None}

def broken(level):
    raise RuntimeError("don't")

class WithTestCallbacks(agent_module.Agent):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.register_status("slow-thread", "1.0.0", 1, slow_thread)
        self.status.register_status("slow-async", "1.0.0", 1, slow_async)
        self.status.register_status("broken", "1.0.0", 1, broken)
        self.status.register_status("malformed", "1.0.0", 1, lambda level: "baz", inline=True)

agent_module.Agent = WithTestCallbacks
cli.agent()
"""
EXTRA = ["broken", "malformed", "slow-async", "slow-thread"]


class LaunchedAgent(AgentProcess):
    def command(self) -> list[str]:
        return [sys.executable, "-c", LAUNCHER, *super().command()[4:]]


def get_json(agent: AgentProcess, path: str, status: int = 200) -> Any:
    reply = agent.get(path)
    assert (status, JSON_UTF8) == (reply.status, reply.header("Content-Type")), reply.text
    return reply.json()


def answer(reply: Reply) -> tuple[int, str | None, str]:
    return reply.status, reply.header("Content-Type"), reply.text


def error(kind: str, msg: str) -> str:
    return '{"kind":"%s","msg":"%s"}' % (kind, msg)  # noqa: UP031 - the exact compact body


# -- the four endpoints -------------------------------------------------------------------------
def test_rollup_lists_every_subsystem_at_info(agent: AgentProcess) -> None:
    rollup = get_json(agent, "/status/v1/services")
    assert SUBSYSTEMS == sorted(rollup)
    for name, entry in rollup.items():
        assert SERVICE_STATUS_KEYS == set(entry), name
        assert ("info", "running", 1, []) == (
            entry["detail_level"],
            entry["state"],
            entry["service_status_version"],
            entry["active_alerts"],
        )
    assert {} == rollup["status-service"]["status"]
    assert ("sqlite", True) == (
        rollup["store"]["status"]["backend"],
        rollup["store"]["status"]["size-bytes"] > 0,
    )


def test_levels_are_echoed_and_additive(agent: AgentProcess) -> None:
    by_level = {
        level: get_json(agent, f"/status/v1/services?level={level}")
        for level in ("critical", "info", "debug")
    }
    for name in SUBSYSTEMS:
        keys = [set(by_level[level][name]["status"]) for level in ("critical", "info", "debug")]
        assert keys[0] <= keys[1] <= keys[2], name
        assert ["critical", "info", "debug"] == [by_level[level][name]["detail_level"] for level in by_level]
    debug = by_level["debug"]["status-service"]["status"]["experimental"]
    assert JVM_KEYS == set(debug["jvm-metrics"])
    assert debug["jvm-metrics"]["start-time-ms"] > 0
    assert {"gc", "threads", "open-fds", "rss-bytes", "cpu"} <= set(debug["python-metrics"])


def test_single_service_is_flat_with_its_name(agent: AgentProcess) -> None:
    single = get_json(agent, "/status/v1/services/store?level=critical&service_status_version=1")
    assert SERVICE_STATUS_KEYS | {"service_name"} == set(single)
    assert ("store", "critical", "running", {}) == (
        single["service_name"],
        single["detail_level"],
        single["state"],
        single["status"],
    )


def test_simple_endpoints_answer_a_plain_word(agent: AgentProcess) -> None:
    assert (200, TEXT_UTF8, "running") == answer(agent.get("/status/v1/simple?level=bogus"))
    assert (200, TEXT_UTF8, "running") == answer(agent.get("/status/v1/simple/http-api?timeout=5"))


def test_status_endpoints_need_no_token(agent: AgentProcess) -> None:
    reply = agent.get("/status/v1/simple", headers={"X-Consul-Token": "not-a-token"})
    assert (200, "running") == (reply.status, reply.text)


def test_head_answers_the_code_alone(agent: AgentProcess) -> None:
    for path, status in [
        ("/status/v1/services", 200),
        ("/status/v1/services/store", 200),
        ("/status/v1/simple", 200),
        ("/status/v1/simple/store", 200),
        ("/status/v1/services/nope", 404),
        ("/status/v1/services?level=bar", 400),
    ]:
        reply = agent.request("HEAD", path)
        assert (status, b"") == (reply.status, reply.body), path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/status/v1/services?level=bar", (400, JSON_UTF8, error("data-invalid", "Invalid level: :bar"))),
        ("/status/v1/services?level=DEBUG", (400, JSON_UTF8, error("data-invalid", "Invalid level: :DEBUG"))),
        (
            "/status/v1/services?timeout=1.5",
            (400, JSON_UTF8, error("data-invalid", "Invalid timeout. Should be an integer but was 1.5")),
        ),
        (
            "/status/v1/services?level=info&timeout=-1000",
            (
                400,
                JSON_UTF8,
                error("data-invalid", "Invalid timeout. Timeout must be greater than zero but was -1,000"),
            ),
        ),
        (
            "/status/v1/services/nope?level=bar",
            (404, JSON_UTF8, error("service-not-found", "No status information found for service nope")),
        ),
        (
            "/status/v1/services/store?service_status_version=abc",
            (
                400,
                JSON_UTF8,
                error("data-invalid", "Invalid service_status_version. Should be an integer but was abc"),
            ),
        ),
        (
            "/status/v1/services/store?service_status_version=99&timeout=abc",
            (400, JSON_UTF8, error("data-invalid", "Invalid timeout. Should be an integer but was abc")),
        ),
        (
            "/status/v1/services/store?service_status_version=1000",
            (
                400,
                JSON_UTF8,
                error(
                    "service-status-version-not-found",
                    "No status function with version 1,000 found for service store",
                ),
            ),
        ),
        ("/status/v1/simple/nope", (404, TEXT_UTF8, "not found: nope")),
        ("/status/v1/simple?timeout=x", (400, TEXT_UTF8, "Invalid timeout. Should be an integer but was x")),
        (
            "/status/v1/simple/store?timeout=0",
            (400, TEXT_UTF8, "Invalid timeout. Timeout must be greater than zero but was 0"),
        ),
        ("/status/v1/services/", (404, TEXT_UTF8, NOT_A_ROUTE)),
        ("/status/v1/services/a%40b", (404, TEXT_UTF8, NOT_A_ROUTE)),
        ("/status/v1/simple/a%20b", (404, TEXT_UTF8, NOT_A_ROUTE)),
        ("/status/v1/bogus", (404, TEXT_UTF8, NOT_A_ROUTE)),
        ("/status/v2/services", (404, TEXT_UTF8, NOT_UNDER_V1)),
    ],
)
def test_errors_have_the_original_kinds_and_texts(
    agent: AgentProcess, path: str, expected: tuple[int, str, str]
) -> None:
    assert expected == answer(agent.get(path))


# -- what the subsystems report -------------------------------------------------------------------
def test_check_runner_counts_and_request_counts(agent: AgentProcess) -> None:
    for body in (
        {"Name": "web", "ID": "w1", "Check": {"TTL": "60s", "Status": "passing"}},
        {"Name": "db", "ID": "d1", "Check": {"TTL": "60s"}},
    ):
        assert 200 == agent.put("/v1/agent/service/register", body).status
    agent.get("/v1/agent/services")
    rollup = get_json(agent, "/status/v1/services?level=debug")
    runner = rollup["check-runner"]["status"]
    assert {"total": 2, "passing": 1, "warning": 0, "critical": 1, "maintenance": 0} == runner["services"]
    assert {"total": 2, "passing": 1, "warning": 0, "critical": 1} == runner["checks"]
    http = rollup["http-api"]["status"]
    assert http["requests-by-route"]["/v1/agent/services"] >= 1
    assert http["requests-by-route"]["/v1/agent/service/register"] >= 2
    assert rollup["store"]["status"]["commits"] >= 2


def test_store_failing_to_write_turns_the_rollup_503_and_back(agent: AgentProcess) -> None:
    with writes_fail(agent):  # every file write of the agent fails: its store answers disk I/O error
        assert 500 == agent.put("/v1/agent/service/register", {"Name": "web"}).status
        assert (503, TEXT_UTF8, "error") == answer(agent.get("/status/v1/simple"))
        store = get_json(agent, "/status/v1/services/store", 503)
        assert ("error", "error") == (store["state"], store["active_alerts"][0]["severity"])
        assert store["active_alerts"][0]["message"].startswith("The last write to the store failed: ")
        rollup = get_json(agent, "/status/v1/services", 503)
        assert "running" == rollup["http-api"]["state"]  # only the failing subsystem changes
    assert 200 == agent.put("/v1/agent/service/register", {"Name": "web"}).status
    assert (200, TEXT_UTF8, "running") == answer(agent.get("/status/v1/simple"))


def test_node_maintenance_drains_http_api_and_back(agent: AgentProcess) -> None:
    assert 200 == agent.put("/v1/agent/maintenance?enable=true&reason=patching").status
    assert (503, TEXT_UTF8, "stopping") == answer(agent.get("/status/v1/simple"))
    http = get_json(agent, "/status/v1/services/http-api", 503)
    assert ("stopping", True) == (http["state"], http["status"]["node-maintenance"])
    assert 200 == agent.put("/v1/agent/maintenance?enable=false").status
    assert (200, TEXT_UTF8, "running") == answer(agent.get("/status/v1/simple"))


# -- callbacks that are slow, raise, or answer nonsense ------------------------------------------------
@pytest.fixture
def launch() -> Iterator[Callable[..., AgentProcess]]:
    """Start launcher agents (-dev) with extra flags; all are stopped at the end of the test."""
    made: list[AgentProcess] = []

    def start(*args: str) -> AgentProcess:
        proc = LaunchedAgent(*args, dev=True)
        made.append(proc)
        return proc.start()

    yield start
    for proc in made:
        proc.close()


def test_slow_callback_becomes_unknown_at_its_timeout(launch: Callable[..., AgentProcess]) -> None:
    agent = launch()
    for name in ("slow-thread", "slow-async"):
        started = time.monotonic()
        body = get_json(agent, f"/status/v1/services/{name}?timeout=1", 503)
        assert ("unknown", "Status check timed out after 1 seconds") == (body["state"], body["status"])
        assert time.monotonic() - started < 2.5
    assert (503, TEXT_UTF8, "unknown") == answer(agent.get("/status/v1/simple/slow-async?timeout=1"))


def test_rollup_with_broken_callbacks_still_answers_every_service(
    launch: Callable[..., AgentProcess],
) -> None:
    agent = launch()
    started = time.monotonic()
    rollup = get_json(agent, "/status/v1/services?timeout=1", 503)
    assert time.monotonic() - started < 2.5  # the slow callbacks ran concurrently
    assert sorted(SUBSYSTEMS + EXTRA) == sorted(rollup)
    assert "Status check for broken threw an exception: RuntimeError: don't" == rollup["broken"]["status"]
    assert (
        'Status check response for malformed malformed: (not (map? "baz"))' == rollup["malformed"]["status"]
    )
    assert {"unknown"} == {rollup[name]["state"] for name in EXTRA}
    assert {"running"} == {rollup[name]["state"] for name in SUBSYSTEMS}
    assert (503, TEXT_UTF8, "unknown") == answer(agent.get("/status/v1/simple?timeout=1"))


def test_excluded_services_are_shown_but_do_not_turn_the_rollup_503(
    launch: Callable[..., AgentProcess], tmp_path: Path
) -> None:
    config = tmp_path / "status.hcl"
    config.write_text(
        'status {\n  exclude_from_rollup = ["broken", "malformed", "slow-thread", "slow-async"]\n}\n'
    )
    agent = launch("-config-file", str(config))
    rollup = get_json(agent, "/status/v1/services?timeout=1")
    assert "unknown" == rollup["broken"]["state"]
    assert (200, TEXT_UTF8, "running") == answer(agent.get("/status/v1/simple?timeout=1"))
    assert 503 == agent.get("/status/v1/simple/broken").status  # its own endpoint still tells the truth
