"""End-to-end: what the check runner keeps for a check goes with it (issue 13, item 5).

A deregistered TTL check's last output must not come back on a new check that reuses its ID, and
thousands of checks registered, failed and deregistered must leave the agent about as big as before.
An alias check names a failing aliased check but never copies its output, so a token that may read
only the alias's service learns nothing the aliased service's checks printed.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import register_service, wait_check

MIB = 1024 * 1024
ROOT = "root-secret"
SECRET_OUTPUT = "db password=hunter2"  # noqa: S105 - the leaked text of the issue, not a credential


class Client:
    """One keep-alive connection: thousands of cycles in seconds."""

    def __init__(self, agent: AgentProcess, token: str = "") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=30)
        self.headers = {"X-Consul-Token": token} if token else {}

    def put(self, path: str, body: Any = None) -> int:
        self.conn.request(
            "PUT", path, body=json.dumps(body) if body is not None else None, headers=self.headers
        )
        response = self.conn.getresponse()
        response.read()
        return response.status

    def get(self, path: str) -> Any:
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        return json.loads(response.read())

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def client(agent: AgentProcess) -> Iterator[Client]:
    c = Client(agent)
    yield c
    c.close()


def churn(client: Client, first: int, count: int, output: str) -> None:
    for i in range(first, first + count):
        check_id = f"churn-{i}"
        assert 200 == client.put("/v1/agent/check/register", {"ID": check_id, "Name": "c", "TTL": "1h"})
        assert 200 == client.put(
            f"/v1/agent/check/update/{check_id}", {"Status": "critical", "Output": output}
        )
        assert 200 == client.put(f"/v1/agent/check/deregister/{check_id}")


def rss(agent: AgentProcess) -> int:
    assert agent.proc is not None
    return int(psutil.Process(agent.proc.pid).memory_info().rss)


def test_thousands_of_churned_checks_leave_the_agent_no_bigger(agent: AgentProcess, client: Client) -> None:
    output = "x" * 4000  # a TTL output near the 4 KiB cap, as a chatty check's would be
    churn(client, 0, 500, output)  # warm up: pools, caches and the allocator settle
    before = rss(agent)
    churn(client, 500, 4000, output)
    grown = rss(agent) - before
    print(f"RSS {before / MIB:.1f} MiB -> {(before + grown) / MIB:.1f} MiB")
    # Measured: +17.6 MiB before the fix (4.5 KiB per check ID), +0.4 MiB after.
    assert (0, True) == (len(client.get("/v1/agent/checks")), grown < 4 * MIB), f"grew {grown / MIB:.1f} MiB"


def test_a_new_ttl_check_reusing_an_id_never_reports_the_old_output(
    agent: AgentProcess, client: Client
) -> None:
    register_service(agent, {"Name": "db"})
    register_service(agent, {"Name": "web"})
    body = {"ID": "reused", "Name": "reused", "TTL": "200ms", "ServiceID": "db"}
    assert 200 == client.put("/v1/agent/check/register", body)
    assert 200 == client.put("/v1/agent/check/update/reused", {"Status": "passing", "Output": SECRET_OUTPUT})
    assert 200 == client.put("/v1/agent/check/deregister/reused")

    assert 200 == client.put("/v1/agent/check/register", {**body, "ServiceID": "web"})
    assert ("critical", "TTL expired") == wait_check(
        agent, "reused", lambda s: s is not None and s[1].startswith("TTL expired"), timeout=5
    )


def test_a_ttl_check_re_registered_with_another_definition_forgets_its_output(
    agent: AgentProcess, client: Client
) -> None:
    register_service(agent, {"Name": "db"})
    register_service(agent, {"Name": "web"})
    body = {"ID": "moved", "Name": "moved", "TTL": "60s", "ServiceID": "db"}
    assert 200 == client.put("/v1/agent/check/register", body)
    assert 200 == client.put("/v1/agent/check/update/moved", {"Status": "passing", "Output": SECRET_OUTPUT})
    # Same ID, another owner and a short TTL, without a deregistration in between.
    assert 200 == client.put("/v1/agent/check/register", {**body, "ServiceID": "web", "TTL": "200ms"})
    assert ("critical", "TTL expired") == wait_check(
        agent, "moved", lambda s: s is not None and s[1].startswith("TTL expired"), timeout=5
    )


def test_a_ttl_check_re_registered_unchanged_keeps_its_last_output(
    agent: AgentProcess, client: Client
) -> None:
    body = {"ID": "same", "Name": "same", "TTL": "500ms"}
    assert 200 == client.put("/v1/agent/check/register", body)
    assert 200 == client.put("/v1/agent/check/update/same", {"Status": "passing", "Output": "all fine"})
    assert 200 == client.put("/v1/agent/check/register", body)
    expected = ("critical", "TTL expired (last output before timeout follows): all fine")
    assert expected == wait_check(agent, "same", lambda s: s is not None and s[0] == "critical", timeout=5)


def test_an_alias_check_never_shows_the_aliased_checks_output_to_a_narrower_token(
    make_agent: Any, tmp_path: Path
) -> None:
    config = tmp_path / "acl.json"
    acl = {"enabled": True, "default_policy": "deny", "tokens": {"initial_management": ROOT}}
    config.write_text(json.dumps({"acl": acl}))
    agent = make_agent("-config-file", str(config)).start()
    root = Client(agent, ROOT)
    try:
        assert 200 == root.put("/v1/agent/service/register", {"Name": "db", "Check": {"TTL": "1h"}})
        alias = {"Name": "web", "Check": {"CheckID": "web-alias", "AliasService": "db"}}
        assert 200 == root.put("/v1/agent/service/register", alias)
        assert 200 == root.put("/v1/agent/check/fail/service:db?note=" + SECRET_OUTPUT.replace(" ", "%20"))
        rules = 'service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }'
        assert 200 == root.put("/v1/acl/policy", {"Name": "web-read", "Rules": rules})
        root.conn.request(
            "PUT",
            "/v1/acl/token",
            body=json.dumps({"Policies": [{"Name": "web-read"}]}),
            headers=root.headers,
        )
        secret = json.loads(root.conn.getresponse().read())["SecretID"]
        web_reader = Client(agent, secret)
        try:
            expected = {"web-alias": ("critical", "Aliased check \"Service 'db' check\" failing")}
            seen: dict[str, tuple[str, str]] = {}
            for _ in range(50):
                seen = {
                    c["CheckID"]: (c["Status"], c["Output"])
                    for c in web_reader.get("/v1/agent/checks").values()
                }
                if seen == expected:
                    break
                time.sleep(0.1)
            assert expected == seen
        finally:
            web_reader.close()
    finally:
        root.close()
