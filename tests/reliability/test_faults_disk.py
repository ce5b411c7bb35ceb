"""Disk faults on the data dir, for real: a full file system (a small tmpfs) and a data dir that refuses
writes (immutable files on an ext4 loop mount). The agent keeps serving reads, answers writes with a 500
and Consul's-style text (no traceback), reports `store` as error in /status/v1, and recovers."""

from __future__ import annotations

from pathlib import Path

from tests.agentproc import AgentProcess
from tests.reliability.disks import (
    DB_FILES,
    big_registration,
    ext4_loop,
    fill,
    immutable,
    made_immutable,
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


def test_store_reports_the_latest_write_however_the_polls_fall(tmp_path: Path) -> None:
    with ext4_loop(tmp_path / "data") as data:
        agent = AgentProcess(data_dir=data).start()
        try:
            assert "running" == store_state(agent)["state"]
            with made_immutable(data, *DB_FILES):
                assert 500 == agent.put("/v1/agent/service/register", {"ID": "during", "Name": "x"}).status
            assert 200 == agent.put("/v1/agent/service/register", {"ID": "after", "Name": "x"}).status
            state = store_state(agent)  # the first poll since the failure, and the success after it
            assert ("running", []) == (state["state"], state["active_alerts"])
        finally:
            agent.close()


ACL_ALLOW = 'acl {\n  enabled = true\n  default_policy = "allow"\n}\n'
FULL_ALERT = "The last write to the store failed: database or disk is full"
DISK_FULL_ALERT = "The data dir's disk is full: only deletions are accepted until space is freed"


def delete_all_kinds(agent: AgentProcess, round_: int, admin: dict[str, str], token: str) -> list[int]:
    """A service with its checks, a node check, an ACL token: what an operator frees space with."""
    return [
        agent.put(f"/v1/agent/service/deregister/big-{round_}").status,
        agent.put(f"/v1/agent/check/deregister/node-{round_}").status,
        agent.request("DELETE", f"/v1/acl/token/{token}", headers=admin).status,
    ]


def test_deletions_succeed_on_a_full_disk_and_are_durable(tmp_path: Path) -> None:
    config = tmp_path / "acl.hcl"
    config.write_text(ACL_ALLOW)
    with small_tmpfs(tmp_path / "data") as data:
        agent = AgentProcess("-config-file", str(config), data_dir=data).start()
        try:
            admin = {"X-Consul-Token": agent.put("/v1/acl/bootstrap").json()["SecretID"]}
            tokens = [agent.put("/v1/acl/token", {}, headers=admin).json()["AccessorID"] for _ in range(2)]
            for n in range(2):
                big = big_registration(f"big-{n}") | {"Check": {"TTL": "1h"}}
                assert 200 == agent.put("/v1/agent/service/register", big).status
                assert (
                    200
                    == agent.put(
                        "/v1/agent/check/register", {"ID": f"node-{n}", "Name": "node", "TTL": "1h"}
                    ).status
                )
            filler = fill(data)
            status, body, _ = register_until_refused(agent, "full")
            assert_refused_cleanly(status, body, "database or disk is full")
            assert [200, 200, 200] == delete_all_kinds(agent, 0, admin, tokens[0])
            status, body, _ = register_until_refused(agent, "still-full")  # the space freed is the reserve's
            assert_refused_cleanly(status, body, "database or disk is full")
            failing = store_state(agent)
            assert "error" == failing["state"]
            messages = {alert["message"] for alert in failing["active_alerts"]}
            # Whether the reserve could be taken again after the deletions depends on how much the
            # WAL's truncation gave back; either way the store says why it refuses.
            assert messages, failing
            assert set() == messages - {FULL_ALERT, DISK_FULL_ALERT}
            assert [200, 200, 200] == delete_all_kinds(agent, 1, admin, tokens[1])  # and again
            agent.kill9()
            agent = AgentProcess("-config-file", str(config), data_dir=data).start()  # the disk still full
            held = agent.get("/v1/agent/services").json()
            assert ([], []) == (
                [s for s in held if s.startswith("big-")],
                list(agent.get("/v1/agent/checks").json()),
            )
            listed = agent.get("/v1/acl/tokens", headers=admin).json()
            assert set() == set(tokens) & {token["AccessorID"] for token in listed}
            filler.unlink()
            assert_recovers(agent)
            assert (4 << 20) == (data / "muster.reserve").stat().st_size  # taken again
        finally:
            agent.close()
