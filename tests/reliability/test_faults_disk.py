"""Disk faults on the data dir, for real: a full file system (a small tmpfs) and a data dir that refuses
writes (immutable files on an ext4 loop mount). The agent keeps serving reads, answers writes with a 500
and Consul's-style text (no traceback), reports `store` as error in /status/v1, and recovers."""

from __future__ import annotations

from pathlib import Path

from tests.agentproc import AgentProcess
from tests.reliability.disks import (
    ext4_loop,
    fill,
    immutable,
    register_until_refused,
    small_tmpfs,
    store_state,
    wait_store,
)


def assert_serving_reads(agent: AgentProcess, known: str) -> None:
    services = agent.get("/v1/agent/services")
    assert 200 == services.status
    assert known in services.json()
    assert 200 == agent.get(f"/v1/agent/service/{known}").status
    assert 200 == agent.get("/v1/health/service/filler").status


def assert_refused_cleanly(status: int, body: str, cause: str) -> None:
    assert 500 == status
    assert body.startswith("Failed to persist the change: "), body
    assert cause in body
    assert "Traceback" not in body


def assert_recovers(agent: AgentProcess) -> None:
    after = agent.put("/v1/agent/service/register", {"ID": "after", "Name": "after"})
    assert 200 == after.status, after.text
    state = wait_store(agent, "running")
    assert ("running", []) == (state["state"], state["active_alerts"])
    assert 200 == agent.get("/status/v1/simple").status


def test_a_full_disk_refuses_writes_keeps_reads_reports_and_recovers(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "data") as data:
        agent = AgentProcess(data_dir=data).start()
        try:
            assert 200 == agent.put("/v1/agent/service/register", {"ID": "before", "Name": "filler"}).status
            filler = fill(data)
            status, body, accepted = register_until_refused(agent, "full")
            assert_refused_cleanly(status, body, "database or disk is full")
            assert_serving_reads(agent, "before")
            assert 404 == agent.get(f"/v1/agent/service/full-{accepted}").status  # memory follows disk
            failing = wait_store(agent, "error")
            assert "error" == failing["state"]
            assert "database or disk is full" in failing["active_alerts"][0]["message"]
            assert 503 == agent.get("/status/v1/simple").status
            filler.unlink()
            assert_recovers(agent)
        finally:
            agent.close()
        restarted = AgentProcess(data_dir=data).start()  # what was acknowledged is still there
        try:
            held = restarted.get("/v1/agent/services").json()
            assert {"before", "after"} <= set(held)
            assert f"full-{accepted}" not in held
        finally:
            restarted.close()


def test_a_data_dir_refusing_writes_keeps_reads_reports_and_recovers(tmp_path: Path) -> None:
    with ext4_loop(tmp_path / "data") as data:
        agent = AgentProcess(data_dir=data).start()
        try:
            assert 200 == agent.put("/v1/agent/service/register", {"ID": "before", "Name": "filler"}).status
            immutable(data, True)
            try:
                refused = agent.put("/v1/agent/service/register", {"ID": "during", "Name": "filler"})
                assert_refused_cleanly(refused.status, refused.text, "disk I/O error")
                assert 500 == agent.put("/v1/agent/check/register", {"Name": "c", "TTL": "1m"}).status
                assert_serving_reads(agent, "before")
                assert 404 == agent.get("/v1/agent/service/during").status
                assert "error" == store_state(agent)["state"]
            finally:
                immutable(data, False)
            assert_recovers(agent)
        finally:
            agent.close()
