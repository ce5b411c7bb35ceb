"""A database file removed or replaced under a running agent (a data dir deleted, a backup copied over)
is noticed at the next write: nothing more is acknowledged into a file no start will read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess


def _replace_db(data: Path) -> None:
    (data / "muster.db").rename(data / "muster.db.moved")
    (data / "muster.db").write_bytes(b"")


def _remove_data_dir(data: Path) -> None:
    shutil.rmtree(data)


@pytest.mark.parametrize("fault", [_replace_db, _remove_data_dir], ids=["db-replaced", "data-dir-removed"])
def test_writes_after_the_database_file_changes_are_refused(tmp_path: Path, fault: object) -> None:
    data = tmp_path / "data"
    agent = AgentProcess(data_dir=data).start()
    try:
        assert 200 == agent.put("/v1/agent/service/register", {"Name": "before"}).status
        fault(data)  # type: ignore[operator]

        reply = agent.put("/v1/agent/service/register", {"Name": "after"})

        assert 500 == reply.status
        assert "was removed or replaced while the agent ran: restart the agent" in reply.text
        assert ["before"] == list(agent.get("/v1/agent/services").json())  # nothing applied
        store = agent.get("/status/v1/services/store").json()
        assert "error" == store["state"]
        assert [] == [line for line in agent.stderr_lines if "Traceback" in line]
    finally:
        agent.close()
