"""End-to-end: the graceful drain. On SIGTERM (or SIGINT) `/status/v1/simple` turns 503 at once while
every other request, new or in flight, is served normally for `status.drain_grace_seconds`; blocking
queries are woken when the grace period ends, then the agent exits 0. A second signal ends it early."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import pytest

from tests.agentproc import AgentProcess, Reply

pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

TEXT_UTF8 = "text/plain; charset=utf-8"


def until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def blocking_waiters(agent: AgentProcess) -> int:
    return int(agent.get("/status/v1/services/http-api?level=info").json()["status"]["blocking-waiters"])


def simple(agent: AgentProcess) -> tuple[int, str | None, str]:
    reply = agent.get("/status/v1/simple")
    return reply.status, reply.header("Content-Type"), reply.text


def test_sigterm_drains_for_the_grace_period_then_exits_zero(make_agent: type[AgentProcess]) -> None:
    agent = make_agent("-drain-grace-seconds", "2", dev=True).start()
    assert agent.proc is not None
    assert 200 == agent.put("/v1/agent/service/register", {"Name": "web"}).status
    index = agent.get("/v1/catalog/services").header("X-Consul-Index")
    blocked: list[tuple[float, Reply]] = []

    def block() -> None:
        reply = agent.get(f"/v1/catalog/services?index={index}&wait=60s", timeout=60)
        blocked.append((time.monotonic(), reply))

    waiter = threading.Thread(target=block, daemon=True)
    waiter.start()
    assert until(lambda: blocking_waiters(agent) == 1, 10)

    signalled = time.monotonic()
    agent.proc.send_signal(signal.SIGTERM)
    assert until(lambda: agent.get("/status/v1/simple").status == 503, 2)
    assert (503, TEXT_UTF8, "stopping") == simple(agent)
    assert "stopping" == agent.get("/status/v1/services").json()["http-api"]["state"]
    assert ["web"] == list(agent.get("/v1/agent/services").json())  # new requests are served as usual
    assert 200 == agent.get("/v1/agent/self").status
    if time.monotonic() - signalled < 1.5:  # well inside the grace period: the query is still parked
        assert ([], 1) == (blocked, blocking_waiters(agent))

    assert 0 == agent.proc.wait(timeout=15)
    exited = time.monotonic() - signalled
    waiter.join(5)
    assert 1 == len(blocked)
    answered_at, reply = blocked[0]
    assert (200, {"consul": [], "web": []}) == (reply.status, reply.json())
    assert 1.9 <= answered_at - signalled <= exited  # woken when the grace period ended, not at wait=60s
    assert 1.9 <= exited < 10


def test_a_second_signal_ends_the_drain_early(make_agent: type[AgentProcess]) -> None:
    agent = make_agent("-drain-grace-seconds", "60", dev=True).start()
    assert agent.proc is not None
    signalled = time.monotonic()
    agent.proc.send_signal(signal.SIGINT)  # SIGINT drains as SIGTERM does
    assert until(lambda: agent.get("/status/v1/simple").status == 503, 2)
    assert 200 == agent.put("/v1/agent/service/register", {"Name": "late"}).status  # writes too
    assert ["late"] == list(agent.get("/v1/agent/services").json())
    agent.proc.send_signal(signal.SIGTERM)
    assert 0 == agent.proc.wait(timeout=15)
    assert time.monotonic() - signalled < 10
