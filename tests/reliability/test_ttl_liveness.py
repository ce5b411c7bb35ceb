"""A full disk never takes a healthy TTL-checked service down: `check/pass` refreshes the TTL in memory
and answers 500 saying the state was not saved, as Consul does (issue 13, item 9)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.agentproc import AgentProcess
from tests.reliability.disks import fill, small_tmpfs

TTL_SECONDS = 2.0


def _pass_until_refused(agent: AgentProcess) -> str:
    """Refresh until a save fails (WAL slack can take a few small writes after ENOSPC)."""
    for _ in range(400):
        reply = agent.put("/v1/agent/check/pass/web-1-ttl?note=alive")
        if reply.status != 200:
            assert 500 == reply.status, reply.text
            return reply.text
    raise AssertionError("the full disk never refused a TTL update")


def test_ttl_refresh_holds_in_memory_while_the_disk_is_full(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "data") as data:
        agent = AgentProcess(data_dir=data).start()
        try:
            body = {"ID": "web-1", "Name": "web", "Check": {"CheckID": "web-1-ttl", "TTL": f"{TTL_SECONDS}s"}}
            assert 200 == agent.put("/v1/agent/service/register", body).status
            assert 200 == agent.put("/v1/agent/check/pass/web-1-ttl").status
            filler = fill(data)

            refused = _pass_until_refused(agent)

            assert refused.startswith('failed persisting state for check "web-1-ttl": '), refused
            assert "database or disk is full" in refused
            deadline = time.monotonic() + 3 * TTL_SECONDS  # well past the TTL: refreshes keep it alive
            while time.monotonic() < deadline:
                assert agent.put("/v1/agent/check/pass/web-1-ttl?note=alive").status in (200, 500)
                health = agent.get("/v1/agent/health/service/name/web")
                assert (200, "passing") == (health.status, health.json()[0]["AggregatedStatus"])
                time.sleep(TTL_SECONDS / 4)
            check = agent.get("/v1/agent/checks").json()["web-1-ttl"]
            assert ("passing", "alive") == (check["Status"], check["Output"])
            assert [] == [line for line in agent.stderr_lines if "Traceback" in line]
            filler.unlink()
            assert 200 == agent.put("/v1/agent/check/pass/web-1-ttl").status
        finally:
            agent.close()
