"""The status registry (trapperkeeper-status's rules), levels, aggregation, guarded callbacks, the
built-in subsystems, process metrics, and the /status/v1 handlers in process (spec puppet-status.md)."""

from __future__ import annotations

import asyncio
import enum
import gc
import json
import operator
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import RawTestServer, TestClient

from muster.agent import Agent
from muster.api import status as status_api
from muster.api.app import Dispatcher
from muster.api.routes import GET_HEAD, ROUTES, Route, Router
from muster.config import AgentConfig
from muster.status.levels import (
    GE,
    LT,
    Level,
    State,
    aggregate_state,
    all_running,
    compare_levels,
    level_to_int,
    parse_java_int,
)
from muster.status.process import CpuSampler, GcTimer, ProcessMetrics
from muster.status.registry import RegistrationError, StatusError, StatusRegistry
from muster.status.subsystems import register_subsystems

Client = TestClient[web.BaseRequest, None]
JSON_UTF8 = "application/json; charset=utf-8"
TEXT_UTF8 = "text/plain; charset=utf-8"
STATUS_ROUTES = (  # the same four routes the lead adds to api/routes.py
    Route("/status/v1/services", GET_HEAD, status_api.list_service_statuses),
    Route("/status/v1/services/", GET_HEAD, status_api.service_status),
    Route("/status/v1/simple", GET_HEAD, status_api.simple_status),
    Route("/status/v1/simple/", GET_HEAD, status_api.simple_service_status),
)


def fixed(state: str = "running", status: Any = None, **extra: Any) -> Any:
    return lambda level: {"state": state, "status": status, **extra}


def additive(level: Level) -> dict[str, Any]:
    """compare-levels-test's callback, `z` = "y" included."""
    status = {"this-is-critical": "foo"}
    if compare_levels(GE, level, "info"):
        status |= {"bar": "bar", "baz": "baz"}
    if compare_levels(GE, level, "debug"):
        status |= {"x": "x", "y": "y", "z": "y"}
    return {"state": "running", "status": status}


# -- registration rules --------------------------------------------------------------------------
def test_second_status_version_for_a_service_is_allowed_and_highest_is_default() -> None:
    registry = StatusRegistry()
    registry.register_status("foo", "1.1.0", 1, fixed(status="v1"), inline=True)
    registry.register_status("foo", "1.1.0", 2, fixed(status="v2"), inline=True)
    assert (2, 1) == (
        registry.registration("foo").status_version,
        registry.registration("foo", 1).status_version,
    )


def test_different_service_version_is_refused_before_duplicate_status_version() -> None:
    registry = StatusRegistry()
    registry.register_status("foo", "1.1.0", 1, fixed())
    with pytest.raises(RegistrationError) as info:
        registry.register_status("foo", "2.0.0", 1, fixed())
    expected = "Cannot register multiple callbacks for a single service with different service versions."
    assert expected == str(info.value)


def test_same_status_version_twice_is_refused() -> None:
    registry = StatusRegistry()
    registry.register_status("foo", "1.1.0", 1, fixed())
    with pytest.raises(RegistrationError) as info:
        registry.register_status("foo", "1.1.0", 1, fixed())
    assert "Service function already exists for service foo with status version 1" == str(info.value)


def test_registration_is_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", "muster.status")
    StatusRegistry().register_status("foo", "1.1.0", 1, fixed())
    assert ["Registering status callback function for service 'foo', version 1.1.0"] == caplog.messages


@pytest.mark.asyncio
async def test_get_status_returns_the_raw_answer_of_the_chosen_version() -> None:
    registry = StatusRegistry()
    registry.register_status("foo", "1.1.0", 1, fixed(status="v1"), inline=True)
    registry.register_status("foo", "1.1.0", 2, fixed(status="v2", alerts=[]), inline=True)
    assert {"state": "running", "status": "v2", "alerts": []} == await registry.get_status("foo", "info")
    assert {"state": "running", "status": "v1"} == await registry.get_status("foo", "info", 1)


@pytest.mark.asyncio
async def test_get_status_errors_carry_kind_and_message() -> None:
    registry = StatusRegistry()
    registry.register_status("foo", "1.1.0", 1, fixed())
    with pytest.raises(StatusError) as unknown_service:
        await registry.get_status("bar", "info")
    with pytest.raises(StatusError) as unknown_version:
        await registry.get_status("foo", "info", 1000)
    assert ("service-info-not-found", "No service info found for service bar") == (
        unknown_service.value.kind,
        unknown_service.value.msg,
    )
    assert (
        "service-status-version-not-found",
        "No status function with version 1,000 found for service foo",
    ) == (unknown_version.value.kind, unknown_version.value.msg)


# -- levels, aggregation, integers ------------------------------------------------------------------
def test_levels_order_and_compare() -> None:
    assert [0, 1, 2] == [level_to_int(name) for name in ("critical", "info", "debug")]
    assert compare_levels(LT, "critical", "debug")
    assert not compare_levels(operator.gt, "info", "debug")


@pytest.mark.parametrize("raw", ["bar", "", "DEBUG", '"debug"'])
def test_invalid_level_text_has_the_keyword_colon(raw: str) -> None:
    with pytest.raises(ValueError, match=f"^Invalid level: :{raw}$"):
        level_to_int(raw)


@pytest.mark.asyncio
async def test_levels_are_additive_for_the_reference_callback() -> None:
    registry = StatusRegistry()
    registry.register_status("foo", "1", 1, additive, inline=True)
    statuses = [
        (await registry.get_status("foo", level))["status"] for level in ("critical", "info", "debug")
    ]
    assert {"this-is-critical": "foo", "bar": "bar", "baz": "baz", "x": "x", "y": "y", "z": "y"} == statuses[
        2
    ]
    assert statuses[0].items() <= statuses[1].items() <= statuses[2].items()


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ({"running", "error", "unknown", "stopping", "starting"}, "error"),
        ({"running", "unknown", "stopping", "starting"}, "unknown"),
        ({"running", "stopping", "starting"}, "stopping"),
        ({"running", "starting"}, "starting"),
        ({"running"}, "running"),
        (set(), "unknown"),
    ],
)
def test_aggregate_order(states: set[str], expected: str) -> None:
    assert expected == aggregate_state(states)


def test_rollup_code_needs_every_state_running_and_is_vacuously_true() -> None:
    assert (True, False, False) == (
        all_running([]),
        all_running(["running", "starting"]),
        all_running(["stopping"]),
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("5", 5), ("+5", 5), ("-0", 0), ("2147483647", 2147483647), ("-2147483648", -(2**31))]
    + [(bad, None) for bad in (" 5", "5 ", "1_000", "1.0", "1e3", "", "+", "2147483648", "٣")],
)
def test_integers_parse_as_java_parse_int(raw: str, expected: int | None) -> None:
    assert expected == parse_java_int(raw)


# -- guarded calls -------------------------------------------------------------------------------
class Color(enum.Enum):
    RUNNING = "RUNNING"
    WARNING = "Warning"


@pytest.mark.parametrize(
    ("answer", "explanation"),
    [
        ("baz", '(not (map? "baz"))'),
        (None, "(not (map? nil))"),
        ({"state": "running"}, "{:status missing-required-key}"),
        ({"state": "running", "status": 1, "foo": 2}, "{:foo disallowed-key}"),
        (
            {"state": "bar", "status": 1},
            '{:state (not (#{:running :error :starting :stopping :unknown} "bar"))}',
        ),
        ({"state": "running", "status": 1, "alerts": [{"severity": "bad", "message": "m"}]}, "{:alerts (not"),
        ({"state": "running", "status": object()}, "{:status (not (json-serialisable? <object object"),
    ],
)
@pytest.mark.asyncio
async def test_malformed_answers_are_unknown(answer: Any, explanation: str) -> None:
    registry = StatusRegistry()
    registry.register_status("baz", "1", 1, lambda level: answer, inline=True)
    result = await registry.get_status("baz", "info")
    assert "unknown" == result["state"]
    assert result["status"].startswith(f"Status check response for baz malformed: {explanation}")


@pytest.mark.asyncio
async def test_enums_are_normalised_and_null_status_kept() -> None:
    registry = StatusRegistry()
    answer = {"state": Color.RUNNING, "status": None, "alerts": [{"severity": Color.WARNING, "message": "m"}]}
    registry.register_status("e", "1", 1, lambda level: answer)
    expected = {"state": "running", "status": None, "alerts": [{"severity": "warning", "message": "m"}]}
    assert expected == await registry.get_status("e", "critical")


@pytest.mark.parametrize("inline", [True, False])
@pytest.mark.asyncio
async def test_a_raising_callback_is_unknown_with_the_exception(inline: bool) -> None:
    def broken(level: Level) -> Any:
        raise RuntimeError("don't")

    registry = StatusRegistry()
    registry.register_status("broken", "1", 1, broken, inline=inline)
    expected = {
        "state": "unknown",
        "status": "Status check for broken threw an exception: RuntimeError: don't",
    }
    assert expected == await registry.get_status("broken", "info")
    await registry.stop()


@pytest.mark.asyncio
async def test_a_raising_async_callback_is_unknown() -> None:
    async def broken(level: Level) -> Any:
        await asyncio.sleep(0)
        raise ValueError("don't")

    registry = StatusRegistry()
    registry.register_status("broken", "1", 1, broken)
    result = await registry.get_status("broken", "info")
    assert "Status check for broken threw an exception: ValueError: don't" == result["status"]


@pytest.mark.asyncio
async def test_slow_async_callback_times_out_and_is_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    cancelled = asyncio.Event()

    async def slow(level: Level) -> Any:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    registry = StatusRegistry()
    registry.register_status("slow", "1", 1, slow)
    started = time.monotonic()
    result = await registry.get_status("slow", "info", timeout=1)
    assert {"state": "unknown", "status": "Status check timed out after 1 seconds"} == result
    assert 1.0 <= time.monotonic() - started < 1.5
    await asyncio.wait_for(cancelled.wait(), 1)
    assert "Status callback for slow timed out, shutting down background task" in caplog.messages


@pytest.mark.asyncio
async def test_rollup_runs_slow_callbacks_concurrently_and_others_stay_running() -> None:
    release = threading.Event()
    calls: list[int] = []

    def stuck(level: Level) -> Any:
        calls.append(1)
        release.wait(10)
        return {"state": "running", "status": None}

    async def slow(level: Level) -> Any:
        await asyncio.sleep(60)

    registry = StatusRegistry()
    registry.register_status("stuck", "1", 1, stuck)
    registry.register_status("slow", "1", 1, slow)
    registry.register_status("fine", "1", 1, fixed(), inline=True)
    started = time.monotonic()
    results = await registry.call_latest(Level.INFO, 1)
    assert 1.0 <= time.monotonic() - started < 1.5  # one timeout, not the sum
    assert {"fine": "running", "slow": "unknown", "stuck": "unknown"} == {r.name: c.state for r, c in results}
    assert (State.UNKNOWN, False) == registry.rollup(results)
    # The stuck thread is waited for, not duplicated, by the next call.
    again = await registry.call_latest(Level.INFO, 1)
    assert ([1], "unknown") == (calls, dict((r.name, c.state) for r, c in again)["stuck"])
    release.set()
    await asyncio.sleep(0.1)
    assert "running" == (await registry.get_status("stuck", "info"))["state"]
    await registry.stop()


@pytest.mark.asyncio
async def test_excluded_service_is_shown_but_not_counted() -> None:
    registry = StatusRegistry(exclude_from_rollup=["catalog-sync"])
    registry.register_status("a", "1", 1, fixed(), inline=True)
    registry.register_status("catalog-sync", "1", 1, fixed("error"), inline=True)
    results = await registry.call_latest(Level.CRITICAL, None)
    assert ["a", "catalog-sync"] == [r.name for r, _ in results]
    assert (State.RUNNING, True) == registry.rollup(results)


@pytest.mark.asyncio
async def test_a_service_registered_out_of_the_rollup_counts_only_when_included() -> None:
    registry = StatusRegistry()
    registry.register_status("a", "1", 1, fixed(), inline=True)
    registry.register_status("catalog-sync", "1", 1, fixed("error"), inline=True, rollup=False)
    results = await registry.call_latest(Level.CRITICAL, None)
    opted_in = StatusRegistry(include_in_rollup=["catalog-sync"])
    both = StatusRegistry(include_in_rollup=["catalog-sync"], exclude_from_rollup=["catalog-sync"])
    assert [(State.RUNNING, True), (State.ERROR, False), (State.RUNNING, True)] == [
        registry.rollup(results),
        opted_in.rollup(results),
        both.rollup(results),
    ]


# -- process metrics ---------------------------------------------------------------------------------
def test_cpu_sampler_is_minus_one_then_zero_then_a_clamped_share_of_the_machine() -> None:
    clock = {"wall": 0.0, "cpu": 0.0, "gc": 0.0}
    sampler = CpuSampler(2, lambda: clock["gc"], lambda: clock["cpu"], lambda: clock["wall"])
    assert (-1.0, -1.0) == (sampler.cpu_usage, sampler.gc_cpu_usage)
    sampler.sample()
    assert (0.0, 0.0) == (sampler.cpu_usage, sampler.gc_cpu_usage)
    clock.update(wall=10.0, cpu=5.0, gc=1.0)  # 5 CPU-seconds of 2 CPUs over 10 s
    sampler.sample()
    assert (25.0, 5.0) == (sampler.cpu_usage, sampler.gc_cpu_usage)
    clock.update(wall=11.0, cpu=50.0)
    sampler.sample()
    assert 100.0 == sampler.cpu_usage


def test_gc_timer_times_collections_per_generation() -> None:
    ticks = iter([1.0, 1.25, 2.0, 2.5])
    timer = GcTimer(lambda: next(ticks))
    timer("start", {"generation": 2})
    timer("stop", {"generation": 2})
    timer("start", {"generation": 0})
    timer("stop", {"generation": 0})
    assert ([0.5, 0.0, 0.25], [1, 0, 1], 0.75) == (timer.total, timer.timed, timer.total_seconds)


@pytest.mark.asyncio
async def test_jvm_metrics_have_the_eleven_keys_with_sane_values() -> None:
    metrics = ProcessMetrics(cpu_interval_seconds=0)
    await metrics.start()
    assert metrics.gc_timer in gc.callbacks
    # A collection as the hook sees it; gc.collect() here would finalise other tests' garbage.
    metrics.gc_timer("start", {"generation": 2})
    metrics.gc_timer("stop", {"generation": 2})
    jvm = metrics.jvm_metrics()
    await metrics.stop()
    assert {
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
    } == set(jvm)
    assert all(value > 0 or value == -1 for value in jvm["heap-memory"].values())
    assert all(value > 0 for value in jvm["file-descriptors"].values() if value != -1)
    assert jvm["up-time-ms"] > 0
    assert jvm["start-time-ms"] > 0
    assert (-1.0, -1.0) == (jvm["cpu-usage"], jvm["gc-cpu-usage"])  # interval 0: never sampled
    assert {"type", "usage"} == set(next(iter(jvm["memory-pools"].values())))
    assert {"count", "memory-used", "total-capacity"} == set(jvm["nio-buffer-pools"]["direct"])
    assert ["gen0", "gen1", "gen2"] == list(jvm["gc-stats"])
    assert "last-gc-info" in jvm["gc-stats"]["gen2"]  # only once a collection was timed
    assert metrics.gc_timer not in gc.callbacks


# -- the built-in subsystems -------------------------------------------------------------------------
@pytest.fixture
def agent() -> Iterator[Agent]:
    made = Agent(AgentConfig(node_name="n", dev=True))
    yield made
    made.close()


def subsystems(agent: Agent, requests: dict[str, int] | None = None) -> StatusRegistry:
    registry = StatusRegistry()
    register_subsystems(
        registry,
        state=agent.state,
        store=agent.store,
        runner=agent.runner,
        quarantine=agent.quarantine,
        requests_by_route=requests or {},
        cpu_interval_seconds=0,
    )
    return registry


@pytest.mark.asyncio
async def test_subsystems_start_run_drain_and_stop(agent: Agent) -> None:
    registry = subsystems(agent)
    names = ["check-runner", "http-api", "status-service", "store"]

    async def states() -> list[str]:
        return [(await registry.get_status(name, "critical"))["state"] for name in names]

    assert ["starting", "starting", "running", "starting"] == await states()
    await agent.runner.start()
    registry.mark_running()
    assert ["running"] * 4 == await states()
    registry.draining = True
    assert ["running", "stopping", "running", "running"] == await states()
    registry.mark_stopping()
    assert ["stopping"] * 4 == await states()
    await agent.runner.stop()


@pytest.mark.asyncio
async def test_node_maintenance_makes_http_api_stopping(agent: Agent) -> None:
    registry = subsystems(agent)
    registry.mark_running()
    await agent.check_ops.node_maintenance(True, "", "")
    assert "stopping" == (await registry.get_status("http-api", "critical"))["state"]
    await agent.check_ops.node_maintenance(False, "", "")
    assert "running" == (await registry.get_status("http-api", "critical"))["state"]


@pytest.mark.asyncio
async def test_subsystem_levels_are_additive(agent: Agent) -> None:
    registry = subsystems(agent, {"/v1/agent/services": 3})
    registry.mark_running()
    for name in registry.names():
        by_level = [
            (await registry.get_status(name, level))["status"] for level in ("critical", "info", "debug")
        ]
        assert set(by_level[0]) <= set(by_level[1]) <= set(by_level[2]), name
    http = (await registry.get_status("http-api", "debug"))["status"]
    assert ({"/v1/agent/services": 3}, 3, 0) == (
        http["requests-by-route"],
        http["requests-total"],
        http["blocking-waiters"],
    )
    store = (await registry.get_status("store", "debug"))["status"]
    assert {
        "backend",
        "size-bytes",
        "commits",
        "ops",
        "batches",
        "last-commit-ms",
        "errors",
        "last-error",
    } == set(store)


@pytest.mark.asyncio
async def test_store_follows_the_latest_batch_and_the_reserve(agent: Agent) -> None:
    registry = subsystems(agent)
    registry.mark_running()
    stats = agent.store.stats
    stats.errors, stats.last_error, stats.failing = 1, "disk I/O error", True
    failed = await registry.get_status("store", "critical")
    alert = {"severity": "error", "message": "The last write to the store failed: disk I/O error"}
    assert ("error", [alert]) == (failed["state"], failed["alerts"])
    assert "error" == (await registry.get_status("store", "critical"))["state"]  # no write since
    stats.commits, stats.failing = stats.commits + 1, False
    assert "running" == (await registry.get_status("store", "critical"))["state"]
    stats.disk_full = True
    full = await registry.get_status("store", "critical")
    message = "The data dir's disk is full: only deletions are accepted until space is freed"
    assert ("error", [{"severity": "error", "message": message}]) == (full["state"], full["alerts"])


# -- the HTTP handlers, in process -----------------------------------------------------------------
@pytest_asyncio.fixture
async def client(agent: Agent) -> AsyncIterator[Client]:
    registry = subsystems(agent)
    registry.register_status("foo", "1.1.0", 1, additive, inline=True)
    registry.register_status(
        "foo", "1.1.0", 2, fixed(status={"v": 2}, alerts=[{"severity": "info", "message": "hi"}])
    )
    registry.mark_running()
    agent.status = registry  # what the Agent owns once wired
    dispatcher = Dispatcher(agent)
    dispatcher.router = Router(ROUTES + STATUS_ROUTES)
    async with TestClient(RawTestServer(dispatcher)) as test_client:
        await agent.runner.start()
        yield test_client
        await agent.runner.stop()
        await registry.stop()


async def fetch(client: Client, path: str, method: str = "GET") -> tuple[int, str, str]:
    async with client.request(method, path) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


@pytest.mark.asyncio
async def test_http_rollup_and_single_service_bodies(client: Client) -> None:
    status, content_type, body = await fetch(
        client, "/status/v1/services?level=critical&service_status_version=1"
    )
    assert (200, JSON_UTF8) == (status, content_type)
    rollup = json.loads(body)
    assert ["check-runner", "foo", "http-api", "status-service", "store"] == sorted(rollup)
    expected_foo = {
        "service_version": "1.1.0",
        "service_status_version": 2,  # the rollup always uses the latest format
        "detail_level": "critical",
        "state": "running",
        "status": {"v": 2},
        "active_alerts": [{"severity": "info", "message": "hi"}],
    }
    assert expected_foo == rollup["foo"]
    status, content_type, body = await fetch(
        client, "/status/v1/services/foo?service_status_version=1&level=debug"
    )
    single = json.loads(body)
    assert (200, JSON_UTF8, "foo", "debug", [], 1) == (
        status,
        content_type,
        single.pop("service_name"),
        single["detail_level"],
        single["active_alerts"],
        single["service_status_version"],
    )
    assert 6 == len(single)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/status/v1/simple", (200, TEXT_UTF8, "running")),
        ("/status/v1/simple/foo?level=bogus&service_status_version=x", (200, TEXT_UTF8, "running")),
        ("/status/v1/simple/nope", (404, TEXT_UTF8, "not found: nope")),
        (
            "/status/v1/simple?timeout=abc",
            (400, TEXT_UTF8, "Invalid timeout. Should be an integer but was abc"),
        ),
        (
            "/status/v1/simple/foo?timeout=0",
            (400, TEXT_UTF8, "Invalid timeout. Timeout must be greater than zero but was 0"),
        ),
        ("/status/v1/simple/nope?timeout=abc", (404, TEXT_UTF8, "not found: nope")),  # existence first
        (
            "/status/v1/services?level=bar",
            (400, JSON_UTF8, '{"kind":"data-invalid","msg":"Invalid level: :bar"}'),
        ),
        ("/status/v1/services?level=", (400, JSON_UTF8, '{"kind":"data-invalid","msg":"Invalid level: :"}')),
        (
            "/status/v1/services/nope?level=bar",
            (
                404,
                JSON_UTF8,
                '{"kind":"service-not-found","msg":"No status information found for service nope"}',
            ),
        ),
        (
            "/status/v1/services/foo?service_status_version=99&timeout=abc",
            (
                400,
                JSON_UTF8,
                '{"kind":"data-invalid","msg":"Invalid timeout. Should be an integer but was abc"}',
            ),
        ),
        (
            "/status/v1/services/foo?service_status_version=1.0",
            (
                400,
                JSON_UTF8,
                '{"kind":"data-invalid",'
                '"msg":"Invalid service_status_version. Should be an integer but was 1.0"}',
            ),
        ),
        (
            "/status/v1/services/foo?service_status_version=1000",
            (
                400,
                JSON_UTF8,
                '{"kind":"service-status-version-not-found",'
                '"msg":"No status function with version 1,000 found for service foo"}',
            ),
        ),
        (
            "/status/v1/services/foo?timeout=-1000",
            (
                400,
                JSON_UTF8,
                '{"kind":"data-invalid",'
                '"msg":"Invalid timeout. Timeout must be greater than zero but was -1,000"}',
            ),
        ),
        ("/status/v1/services/", (404, TEXT_UTF8, "Invalid URL path: not a recognized HTTP API endpoint\n")),
        (
            "/status/v1/services/a%20b",
            (404, TEXT_UTF8, "Invalid URL path: not a recognized HTTP API endpoint\n"),
        ),
        ("/status/v1/simple/a:b", (404, TEXT_UTF8, "Invalid URL path: not a recognized HTTP API endpoint\n")),
    ],
)
@pytest.mark.asyncio
async def test_http_answers(client: Client, path: str, expected: tuple[int, str, str]) -> None:
    assert expected == await fetch(client, path)


@pytest.mark.asyncio
async def test_http_non_running_is_503_with_the_full_map(client: Client, agent: Agent) -> None:
    agent.status.register_status("down", "1", 1, fixed("starting", status=None), inline=True)
    status, _, body = await fetch(client, "/status/v1/services")
    assert (503, "starting", None) == (status, json.loads(body)["down"]["state"], None)
    assert (503, TEXT_UTF8, "starting") == await fetch(client, "/status/v1/simple")
    assert (503, TEXT_UTF8, "starting") == await fetch(client, "/status/v1/simple/down")
    assert (200, TEXT_UTF8, "running") == await fetch(client, "/status/v1/simple/foo")
    status, _, body = await fetch(client, "/status/v1/services/down")
    assert (503, None) == (status, json.loads(body)["status"])


@pytest.mark.asyncio
async def test_http_head_gives_the_code_alone(client: Client, agent: Agent) -> None:
    assert (200, "") == (await fetch(client, "/status/v1/simple", "HEAD"))[::2]
    assert (404, "") == (await fetch(client, "/status/v1/services/nope", "HEAD"))[::2]
    agent.status.register_status("bad", "1", 1, fixed("error"), inline=True)
    assert (503, "") == (await fetch(client, "/status/v1/services", "HEAD"))[::2]


@pytest.mark.asyncio
async def test_http_internal_failure_is_a_500_application_error(
    client: Client, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: object) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(agent.status, "call_latest", explode)
    expected_json = '{"kind":"application-error","msg":"Internal Server Error: RuntimeError: boom"}'
    assert (500, JSON_UTF8, expected_json) == await fetch(client, "/status/v1/services")
    assert (500, TEXT_UTF8, "Internal Server Error: RuntimeError: boom") == await fetch(
        client, "/status/v1/simple"
    )


@pytest.mark.asyncio
async def test_http_check_runner_counts_services_and_checks_by_health(
    client: Client,
) -> None:
    for body in (
        {"Name": "web", "ID": "web1", "Check": {"TTL": "30s", "Status": "passing"}},
        {"Name": "web", "ID": "web2", "Check": {"TTL": "30s"}},
        {"Name": "db", "ID": "db1"},
    ):
        async with client.put("/v1/agent/service/register", json=body) as response:
            assert 200 == response.status, await response.text()
    _, _, text = await fetch(client, "/status/v1/services/check-runner")
    status = json.loads(text)["status"]
    assert {"total": 3, "passing": 2, "warning": 0, "critical": 1, "maintenance": 0} == status["services"]
    assert {"total": 2, "passing": 1, "warning": 0, "critical": 1} == status["checks"]
