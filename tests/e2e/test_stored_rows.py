"""A stored row that cannot be applied never stops start-up: it is moved to the quarantine table with
its reason, logged once, reported as a `store` alert, and every other row is restored (issue 13,
item 1). The rows are damaged with sqlite3 while the agent is stopped, as an older version or a hand
edit would leave them."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess

ROOT = "root-secret"


def stored_rows(data_dir: Path, sql: str, *args: Any) -> list[Any]:
    db = sqlite3.connect(data_dir / "muster.db")
    try:
        rows = db.execute(sql, args).fetchall()
        db.commit()
        return rows
    finally:
        db.close()


def damage(data_dir: Path, table: str, key: str, change: Callable[[Any], Any]) -> None:
    (body,) = stored_rows(data_dir, f"SELECT body FROM {table} WHERE id = ?", key)[0]  # noqa: S608
    damaged = json.dumps(change(json.loads(body)))
    stored_rows(data_dir, f"UPDATE {table} SET body = ? WHERE id = ?", damaged, key)  # noqa: S608


@pytest.fixture
def stopped(tmp_path: Path) -> Iterator[AgentProcess]:
    """An agent with two services (one TTL check each, both passing) and a node check, then stopped."""
    agent = AgentProcess(data_dir=tmp_path / "data").start()
    try:
        for name in ("web", "db"):
            body = {"ID": f"{name}-1", "Name": name, "Check": {"CheckID": f"{name}-ttl", "TTL": "1h"}}
            assert 200 == agent.put("/v1/agent/service/register", body).status
            assert 200 == agent.put(f"/v1/agent/check/pass/{name}-ttl?note=ok").status
        assert 200 == agent.put("/v1/agent/check/register", {"Name": "node-ttl", "TTL": "1h"}).status
        agent.stop()
        yield agent
    finally:
        agent.close()


def quarantined(data_dir: Path) -> list[tuple[str, str]]:
    return sorted((ns, key) for ns, key in stored_rows(data_dir, "SELECT ns, id FROM quarantine"))


def _assert_alert(agent: AgentProcess, *names: str) -> None:
    store = agent.get("/status/v1/services/store?level=info").json()
    messages = [alert["message"] for alert in store["active_alerts"]]
    assert 1 == len(messages), messages
    for name in names:
        assert name in messages[0]


def test_a_check_whose_duration_cannot_be_applied_is_quarantined(stopped: AgentProcess) -> None:
    assert stopped.data_dir is not None
    damage(stopped.data_dir, "checks", "db-ttl", lambda body: body | {"ttl": 10**400})

    agent = stopped.start()

    checks = agent.get("/v1/agent/checks").json()
    assert ["node-ttl", "web-ttl"] == sorted(checks)
    assert "passing" == checks["web-ttl"]["Status"]  # the rest restored as usual, TTL state included
    assert ["db-1", "web-1"] == sorted(agent.get("/v1/agent/services").json())
    _assert_alert(agent, "checks default/db-ttl")
    logged = [line for line in agent.stderr_lines if "db-ttl" in line]
    assert 1 == len(logged), logged
    assert "quarantine" in logged[0]
    assert [] == [line for line in agent.stderr_lines if "Traceback" in line]
    agent.stop()  # the store is the agent's alone while it runs (exclusive locking)
    assert [("checks", "default/db-ttl")] == quarantined(stopped.data_dir)
    again = stopped.start()  # the row is out of the way: a clean start, no alert
    assert [] == again.get("/status/v1/services/store?level=info").json()["active_alerts"]


def test_an_undecodable_service_is_quarantined_with_its_checks(stopped: AgentProcess) -> None:
    assert stopped.data_dir is not None
    stored_rows(stopped.data_dir, "UPDATE services SET body = ? WHERE id = ?", b"\xff not json", "db-1")

    agent = stopped.start()

    assert ["web-1"] == sorted(agent.get("/v1/agent/services").json())
    assert ["node-ttl", "web-ttl"] == sorted(agent.get("/v1/agent/checks").json())
    _assert_alert(agent, "services default/db-1")
    agent.stop()
    assert [("checks", "default/db-ttl"), ("services", "default/db-1")] == quarantined(stopped.data_dir)


def test_bad_ttl_state_is_quarantined_and_the_check_starts_critical(stopped: AgentProcess) -> None:
    assert stopped.data_dir is not None
    damage(stopped.data_dir, "check_state", "web-ttl", lambda body: body | {"Status": "bogus"})
    damage(stopped.data_dir, "check_state", "db-ttl", lambda body: body | {"Expires": "soon"})

    agent = stopped.start()

    checks = agent.get("/v1/agent/checks").json()
    assert ("critical", "critical") == (checks["web-ttl"]["Status"], checks["db-ttl"]["Status"])
    agent.stop()
    assert [("check_state", "default/db-ttl"), ("check_state", "default/web-ttl")] == quarantined(
        stopped.data_dir
    )


def test_bad_acl_rows_are_quarantined_and_deny(tmp_path: Path) -> None:
    config = tmp_path / "acl.json"
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": ROOT}}
    config.write_text(json.dumps({"acl": acl}))
    agent = AgentProcess("-config-file", str(config), data_dir=tmp_path / "data").start()
    root = {"X-Consul-Token": ROOT}
    try:
        policy = agent.put(
            "/v1/acl/policy", {"Name": "p", "Rules": 'service "" { policy = "read" }'}, headers=root
        )
        token = agent.put("/v1/acl/token", {"Policies": [{"Name": "p"}]}, headers=root).json()
        agent.stop()
        stored_rows(agent.data_dir, "UPDATE acl_tokens SET body = ? WHERE id = ?", b"[]", token["AccessorID"])  # type: ignore[arg-type]
        stored_rows(
            agent.data_dir, "UPDATE acl_policies SET body = ? WHERE id = ?", b"{", policy.json()["ID"]
        )  # type: ignore[arg-type]
        stored_rows(agent.data_dir, "UPDATE acl_state SET body = ? WHERE id = 'bootstrap'", b"unreadable")  # type: ignore[arg-type]
        agent.start()

        assert 403 == agent.get("/v1/agent/services", headers={"X-Consul-Token": token["SecretID"]}).status
        assert 200 == agent.get("/v1/agent/services", headers=root).status
        assert 400 <= agent.put("/v1/acl/bootstrap").status < 500  # bootstrap stays closed
        agent.stop()
        assert 2 == len(quarantined(agent.data_dir))  # type: ignore[arg-type]
    finally:
        agent.close()
