"""The web UI over plain HTTP: `/` redirects as Consul's does, assets with their types and ETags, the
single-page fallback, no way out of the asset table, the UI off, and /v1/internal/ui/services."""

from __future__ import annotations

import http.client
import json
import re
import time
from collections.abc import Iterator

import pytest

from tests.agentproc import AgentProcess

TEXT = "text/plain; charset=utf-8"
NO_DNS = ("-dns-port", "-1")
UI_DISABLED = (
    "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart."
)


@pytest.fixture(scope="module")
def ui_agent() -> Iterator[AgentProcess]:
    agent = AgentProcess("-ui", *NO_DNS).start()
    yield agent
    agent.close()


def raw_get(agent: AgentProcess, target: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send the request line as given: no client-side path cleaning or re-encoding."""
    conn = http.client.HTTPConnection("127.0.0.1", agent.port, timeout=30)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        conn.endheaders()
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def test_root_is_a_301_to_the_ui_as_consul(ui_agent: AgentProcess) -> None:
    reply = ui_agent.get("/")
    assert (301, "/ui/") == (reply.status, reply.header("Location"))


def test_ui_without_slash_is_a_301_to_the_slash(ui_agent: AgentProcess) -> None:
    reply = ui_agent.get("/ui?x=1")
    assert (301, "/ui/?x=1") == (reply.status, reply.header("Location"))


def test_index_page_carries_base_and_settings(ui_agent: AgentProcess) -> None:
    reply = ui_agent.get("/ui/")
    assert (200, "text/html; charset=utf-8") == (reply.status, reply.header("Content-Type"))
    assert '<base href="/ui/">' in reply.text
    match = re.search(r'name="muster-ui-settings" content="([^"]*)"', reply.text)
    assert match is not None
    settings = json.loads(match.group(1).replace("&quot;", '"'))
    assert {"contentPath": "/ui/", "aclsEnabled": False} == settings
    assert "nosniff" == reply.header("X-Content-Type-Options")
    assert "script-src 'self'" in (reply.header("Content-Security-Policy") or "")


@pytest.mark.parametrize("path", ["/ui/services", "/ui/services/web", "/ui/checks/", "/ui/index.html"])
def test_app_routes_answer_with_the_index_page(ui_agent: AgentProcess, path: str) -> None:
    reply = ui_agent.get(path)
    assert (200, "text/html; charset=utf-8") == (reply.status, reply.header("Content-Type"))
    assert "assets/js/app.js" in reply.text


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/ui/assets/app.css", "text/css; charset=utf-8"),
        ("/ui/assets/js/app.js", "text/javascript; charset=utf-8"),
        ("/ui/assets/js/views/service.js", "text/javascript; charset=utf-8"),
        ("/ui/assets/favicon.svg", "image/svg+xml"),
    ],
)
def test_assets_have_their_content_type_and_revalidate_by_etag(
    ui_agent: AgentProcess, path: str, content_type: str
) -> None:
    reply = ui_agent.get(path)
    etag = reply.header("ETag")
    assert (200, content_type, "no-cache") == (
        reply.status,
        reply.header("Content-Type"),
        reply.header("Cache-Control"),
    )
    assert etag is not None
    assert etag.startswith('"')
    again = ui_agent.get(path, headers={"If-None-Match": etag})
    assert (304, b"") == (again.status, again.body)
    changed = ui_agent.get(path, headers={"If-None-Match": '"something-else"'})
    assert (200, reply.body) == (changed.status, changed.body)


def test_head_sends_the_length_without_the_body(ui_agent: AgentProcess) -> None:
    full = ui_agent.get("/ui/assets/app.css")
    status, headers, body = raw_get(ui_agent, "/ui/assets/app.css", "HEAD")
    assert (200, str(len(full.body)), b"") == (status, headers["content-length"], body)


@pytest.mark.parametrize("path", ["/ui/assets/missing.js", "/ui/favicon.ico", "/ui/assets/js/", "/ui/x.png"])
def test_missing_files_are_404_not_the_index(ui_agent: AgentProcess, path: str) -> None:
    reply = ui_agent.get(path)
    assert 404 == reply.status
    assert "<html" not in reply.text


def test_writes_to_the_ui_are_405(ui_agent: AgentProcess) -> None:
    reply = ui_agent.put("/ui/assets/app.css", "x")
    assert (405, "GET, HEAD") == (reply.status, reply.header("Allow"))


@pytest.mark.parametrize(
    "target",
    [
        "/ui/../pyproject.toml",
        "/ui/assets/../../__init__.py",
        "/ui/%2e%2e/api/ui.py",
        "/ui/assets/..%2f..%2f__init__.py",
        "/ui/assets/%2e%2e%2f%2e%2e%2fapi%2fui.py",
        "/ui/assets/..\\..\\__init__.py",
        "/ui/assets/js/%00../../__init__.py",
        "/ui//etc/passwd",
    ],
)
def test_traversal_never_reaches_a_file_outside_the_assets(ui_agent: AgentProcess, target: str) -> None:
    status, headers, body = raw_get(ui_agent, target)
    assert status in (301, 404)
    if status == 301:  # cleaned as Go's ServeMux does; the cleaned path is outside the UI or missing
        location = headers["location"]
        assert ".." not in location
        assert 404 == ui_agent.get(location).status or location.startswith("/ui/")
    assert b"from __future__" not in body
    assert b"root:" not in body


def test_custom_content_path(make_agent: type[AgentProcess]) -> None:
    agent = make_agent("-ui", "-ui-content-path", "/dash", *NO_DNS).start()
    assert "/dash/" == agent.get("/").header("Location")
    page = agent.get("/dash/services")
    assert 200 == page.status
    assert '<base href="/dash/">' in page.text
    assert 200 == agent.get("/dash/assets/app.css").status
    assert 404 == agent.get("/ui/").status


def test_ui_off_root_names_the_agent_and_ui_is_404(make_agent: type[AgentProcess]) -> None:
    agent = make_agent(*NO_DNS).start()
    root = agent.get("/")
    assert (200, UI_DISABLED, TEXT) == (root.status, root.text, root.header("Content-Type"))
    for path in ("/ui/", "/ui/assets/app.css", "/ui/services"):
        assert 404 == agent.get(path).status, path


def test_dev_mode_turns_the_ui_on(make_agent: type[AgentProcess]) -> None:
    agent = make_agent(*NO_DNS, dev=True).start()
    assert 301 == agent.get("/").status
    assert 200 == agent.get("/ui/").status


def test_http_check_on_root_follows_the_redirect_and_passes(ui_agent: AgentProcess) -> None:
    check = {"ID": "root", "Name": "root", "HTTP": ui_agent.url + "/", "Interval": "1s"}
    assert 200 == ui_agent.put("/v1/agent/check/register", check).status
    deadline = time.monotonic() + 60
    status = ""
    while time.monotonic() < deadline:  # wait on the agent's index, not on the clock
        reply = ui_agent.get("/v1/health/state/any")
        status = next(c["Status"] for c in reply.json() if c["CheckID"] == "root")
        if status == "passing":
            break
        ui_agent.get(f"/v1/health/state/any?index={reply.header('X-Consul-Index')}&wait=5s")
    assert "passing" == status
    assert 200 == ui_agent.put("/v1/agent/check/deregister/root").status


def _services(agent: AgentProcess, query: str = "") -> list[dict[str, object]]:
    reply = agent.get("/v1/internal/ui/services" + query)
    assert 200 == reply.status, reply.text
    result: list[dict[str, object]] = reply.json()
    return result


def test_ui_services_summarises_each_name(ui_agent: AgentProcess) -> None:
    for n, tags in ((1, ["a"]), (2, ["b", "a"])):
        body = {"Name": "sum", "ID": f"sum-{n}", "Tags": tags, "Check": {"CheckID": f"sum-{n}", "TTL": "1h"}}
        assert 200 == ui_agent.put("/v1/agent/service/register", body).status
    assert 200 == ui_agent.put("/v1/agent/check/pass/sum-1").status
    summary = next(s for s in _services(ui_agent) if s["Name"] == "sum")
    expected = {
        "Kind": "",
        "Name": "sum",
        "Datacenter": "dc1",
        "Tags": ["a", "b"],
        "Nodes": ["test-node"],
        "InstanceCount": 2,
        "ChecksPassing": 3,  # one TTL check and the node's serfHealth twice
        "ChecksWarning": 0,
        "ChecksCritical": 1,
    }
    assert expected == summary
    only = _services(ui_agent, "?filter=ServiceID+%3D%3D+%22sum-2%22")
    assert [("sum", 1)] == [(s["Name"], s["InstanceCount"]) for s in only]
    for n in (1, 2):
        ui_agent.put(f"/v1/agent/service/deregister/sum-{n}")


def test_ui_services_bad_filter_is_400_with_the_reason(ui_agent: AgentProcess) -> None:
    reply = ui_agent.get("/v1/internal/ui/services?filter=ServiceTags+contains")
    assert 400 == reply.status
    assert reply.text.startswith("Failed to create boolean expression evaluator")


def test_ui_services_blocks_until_a_change(ui_agent: AgentProcess) -> None:
    first = ui_agent.get("/v1/internal/ui/services")
    index = first.header("X-Consul-Index")
    assert index is not None
    same = ui_agent.get(f"/v1/internal/ui/services?index={index}&wait=100ms")
    assert index == same.header("X-Consul-Index")
    assert 200 == ui_agent.put("/v1/agent/service/register", {"Name": "blocker"}).status
    changed = ui_agent.get(f"/v1/internal/ui/services?index={index}&wait=30s")
    assert int(changed.header("X-Consul-Index") or 0) > int(index)
    assert "blocker" in [s["Name"] for s in changed.json()]
    ui_agent.put("/v1/agent/service/deregister/blocker")
