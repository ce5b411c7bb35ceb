"""Each file of the data dir refusing writes in turn (immutable on a real ext4 loop mount), and a data dir
left by a version that mapped the WAL index (`muster.db-shm`): the agent must never die (SIGBUS from a
mapped page the disk refuses), hang or lose what it acknowledged; reads go on and writes recover."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.agentproc import AgentProcess
from tests.reliability.disks import ext4_loop, made_immutable
from tests.reliability.test_faults_disk import assert_recovers, assert_refused_cleanly, assert_serving_reads

# A writer of the old kind (WAL index in a mapped -shm file) that dies mid-way, as after kill -9: it adds
# service `old-2` (a copy of `old-1`) in a WAL that is not checkpointed, and leaves the -shm file behind.
_OLD_WRITER = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA journal_mode=WAL")
conn.execute(
    "INSERT INTO services SELECT ns, 'old-2', "
    "CAST(replace(CAST(body AS TEXT), '\\"old-1\\"', '\\"old-2\\"') AS BLOB) FROM services WHERE id = 'old-1'"
)
os.kill(os.getpid(), signal.SIGKILL)
"""


def data_dir_mappings(agent: AgentProcess, data: Path) -> list[str]:
    assert agent.proc is not None
    maps = Path(f"/proc/{agent.proc.pid}/maps").read_text().splitlines()
    return [line for line in maps if str(data) in line]


def register(agent: AgentProcess, service_id: str) -> tuple[int, str]:
    reply = agent.put("/v1/agent/service/register", {"ID": service_id, "Name": "filler"})
    return reply.status, reply.text


def test_the_store_maps_no_file_of_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    agent = AgentProcess(data_dir=data).start()
    try:
        assert (200, "") == register(agent, "one")
        assert [] == data_dir_mappings(agent, data)
        assert not (data / "muster.db-shm").exists()
    finally:
        agent.close()


def test_no_file_of_the_data_dir_refusing_writes_kills_or_wedges_the_agent(tmp_path: Path) -> None:
    with ext4_loop(tmp_path / "data") as data:
        agent = AgentProcess(data_dir=data).start()
        try:
            assert (200, "") == register(agent, "before")
            names = sorted(path.name for path in data.iterdir() if path.is_file())
            outcomes: dict[str, list[int]] = {}
            for name in [*names, ".", "all"]:
                refusing = (*names, ".") if name == "all" else (name,)
                with made_immutable(data, *refusing):
                    replies = [register(agent, f"{name}-{n}") for n in range(3)]
                    assert agent.proc is not None
                    assert agent.proc.poll() is None, agent.stderr_lines  # alive
                    for status, body in replies:
                        if status != 200:
                            assert_refused_cleanly(status, body, "disk I/O error")
                    assert_serving_reads(agent, "before")
                    outcomes[name] = [status for status, _ in replies]
                assert_recovers(agent)
            # The WAL is the only file a commit writes; the database only at a checkpoint.
            expected = {name: [500] * 3 if name == "muster.db-wal" else [200] * 3 for name in names}
            expected.update({".": [200] * 3, "all": [500] * 3})
            assert expected == outcomes
            assert ["muster.db", "muster.db-wal", "muster.lock", "muster.reserve"] == names
        finally:
            agent.close()


def test_a_data_dir_left_with_a_shm_file_starts_replays_its_wal_and_ignores_the_file(tmp_path: Path) -> None:
    with ext4_loop(tmp_path / "data") as data:
        agent = AgentProcess(data_dir=data).start()
        try:
            assert (200, "") == register(agent, "old-1")
        finally:
            agent.close()
        old = subprocess.run([sys.executable, "-c", _OLD_WRITER, str(data / "muster.db")], check=False)
        assert -signal.SIGKILL == old.returncode
        assert (data / "muster.db-shm").exists()
        with made_immutable(data, "muster.db-shm"):  # as if the disk refused it
            agent = AgentProcess(data_dir=data).start()
            try:
                assert {"old-1", "old-2"} == set(agent.get("/v1/agent/services").json())
                assert (200, "") == register(agent, "new")
                assert [] == data_dir_mappings(agent, data)
                agent.kill9()  # the WAL holds "new"; replayed at the next start
            finally:
                agent.close()
        restarted = AgentProcess(data_dir=data).start()
        try:
            assert {"old-1", "old-2", "new"} == set(restarted.get("/v1/agent/services").json())
            assert not (data / "muster.db-shm").exists()  # a stale one is removed when it can be
            assert (200, "") == register(restarted, "after")
        finally:
            restarted.close()
