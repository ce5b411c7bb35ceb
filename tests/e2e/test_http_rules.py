"""End-to-end: cross-cutting HTTP behaviour (spec §1.1-1.5, §1.9, §7.5, §7.9)."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from tests.agentproc import AgentProcess

# As in the other e2e modules: a stray pipe ResourceWarning at garbage collection must not fail a test.
pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

TEXT = "text/plain; charset=utf-8"
REGISTER = "/v1/agent/service/register"


def raw_request(agent: AgentProcess, request_line: str) -> tuple[int, dict[str, str], bytes]:
    """Send a request line verbatim (http.client would normalise some paths)."""
    with socket.create_connection(("127.0.0.1", agent.port), timeout=10) as sock:
        sock.sendall(f"{request_line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


# -- 405, OPTIONS, HEAD (§1.2) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", REGISTER, "OPTIONS,PUT"),
        ("POST", REGISTER, "OPTIONS,PUT"),
        ("DELETE", REGISTER, "OPTIONS,PUT"),
        ("GET", "/v1/agent/service/deregister/x", "OPTIONS,PUT"),
        ("PUT", "/v1/agent/services", "OPTIONS,GET"),
        ("POST", "/v1/agent/service/x", "OPTIONS,GET"),
        ("PUT", "/v1/agent/self", "OPTIONS,GET"),
        ("GET", "/v1/agent/reload", "OPTIONS,PUT"),
        ("PATCH", "/v1/agent/version", "OPTIONS,GET"),
    ],
)
def test_wrong_method_is_405_with_allow_and_text(
    agent: AgentProcess, method: str, path: str, allow: str
) -> None:
    reply = agent.request(method, path)
    assert (405, f"method {method} not allowed") == (reply.status, reply.text)
    assert allow == reply.header("Allow")
    assert TEXT == reply.header("Content-Type")


@pytest.mark.parametrize(
    "path", ["/v1/agent/services", "/v1/agent/service/x", "/v1/agent/self", "/v1/agent/members"]
)
def test_head_on_a_get_route_is_405(agent: AgentProcess, path: str) -> None:
    reply = agent.request("HEAD", path)
    assert (405, "OPTIONS,GET", b"") == (reply.status, reply.header("Allow"), reply.body)


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        (REGISTER, "OPTIONS,PUT"),
        ("/v1/agent/services", "OPTIONS,GET"),
        ("/v1/agent/service/anything", "OPTIONS,GET"),
        ("/v1/agent/service/deregister/anything", "OPTIONS,PUT"),
        ("/v1/agent/reload", "OPTIONS,PUT"),
    ],
)
def test_options_is_200_empty_with_allow(agent: AgentProcess, path: str, allow: str) -> None:
    reply = agent.request("OPTIONS", path)
    assert (200, b"", allow) == (reply.status, reply.body, reply.header("Allow"))


def test_options_does_not_run_the_handler(agent: AgentProcess) -> None:
    assert 200 == agent.request("OPTIONS", "/v1/agent/service/deregister/missing").status
    assert 200 == agent.request("OPTIONS", REGISTER, b"not json").status
    assert b"{}" == agent.get("/v1/agent/services").body


def test_405_has_the_wrapped_route_headers(agent: AgentProcess) -> None:
    reply = agent.get(REGISTER)
    assert ("allow", "Accept-Encoding") == (reply.header("X-Consul-Default-ACL-Policy"), reply.header("Vary"))


# -- redirects and the index handler (§1.1) -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/v1/agent/service", "/v1/agent/service/"),
        ("/v1/agent/service/deregister", "/v1/agent/service/deregister/"),
    ],
)
def test_subtree_without_slash_is_301(agent: AgentProcess, path: str, location: str) -> None:
    for method in ("GET", "PUT"):
        reply = agent.request(method, path)
        assert (301, location) == (reply.status, reply.header("Location")), method


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("//v1/agent/services", "/v1/agent/services"),
        ("/v1//agent/services", "/v1/agent/services"),
        ("/v1/agent/./services", "/v1/agent/services"),
        ("/v1/x/../agent/services", "/v1/agent/services"),
        ("/v1/agent/service/./web", "/v1/agent/service/web"),
    ],
)
def test_unclean_paths_are_301_to_the_clean_path(agent: AgentProcess, path: str, location: str) -> None:
    status, headers, _ = raw_request(agent, f"GET {path} HTTP/1.1")
    assert (301, location) == (status, headers.get("location"))


def test_root_says_ui_disabled(agent: AgentProcess) -> None:
    reply = agent.get("/")
    expected = (
        "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration"
        " and restart."
    )
    assert (200, expected, TEXT) == (reply.status, reply.text, reply.header("Content-Type"))


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/v1/agent/services/", "Invalid URL path: not a recognized HTTP API endpoint\n"),
        ("/v1/nothing", "Invalid URL path: not a recognized HTTP API endpoint\n"),
        ("/v1/agent/checkz", "Invalid URL path: not a recognized HTTP API endpoint\n"),
        ("/api/v1/agent", "Invalid URL path: not a recognized HTTP API endpoint\n"),
        (
            "/favicon.ico",
            "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n",
        ),
        (
            "/v2/agent/services",
            "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n",
        ),
    ],
)
def test_unknown_paths_get_the_index_404_texts(agent: AgentProcess, path: str, text: str) -> None:
    reply = agent.get(path)
    assert (404, text, TEXT) == (reply.status, reply.text, reply.header("Content-Type"))


@pytest.mark.parametrize("path", ["/", "/favicon.ico", "/v1/nothing"])
def test_index_handler_is_not_wrapped(agent: AgentProcess, path: str) -> None:
    reply = agent.get(path)
    assert (None, None) == (reply.header("X-Consul-Default-ACL-Policy"), reply.header("Vary"))


def test_index_handler_answers_any_method(agent: AgentProcess) -> None:
    reply = agent.put("/v1/nothing", {"x": 1})
    assert (404, "Invalid URL path: not a recognized HTTP API endpoint\n") == (reply.status, reply.text)


# -- headers (§1.4) ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/agent/services", 200),
        ("GET", "/v1/agent/service/missing", 404),
        ("PUT", "/v1/agent/service/deregister/missing", 404),
        ("PUT", REGISTER, 400),
        ("GET", "/v1/agent/self", 200),
        ("GET", "/v1/status/leader", 200),
    ],
)
def test_wrapped_routes_send_acl_policy_and_vary(
    agent: AgentProcess, method: str, path: str, status: int
) -> None:
    reply = agent.request(method, path, b"{}" if method == "PUT" else None)
    assert status == reply.status
    assert "allow" == reply.header("X-Consul-Default-ACL-Policy")
    assert "Accept-Encoding" == reply.header("Vary")
    assert reply.header("X-Consul-Index") is None
    assert reply.header("X-Consul-KnownLeader") is None


def test_successful_write_is_empty_200_json(agent: AgentProcess) -> None:
    reply = agent.put(REGISTER, {"Name": "w"})
    assert (200, b"", "application/json", "0") == (
        reply.status,
        reply.body,
        reply.header("Content-Type"),
        reply.header("Content-Length"),
    )
    reply = agent.put("/v1/agent/service/deregister/w")
    assert (200, b"", "application/json") == (reply.status, reply.body, reply.header("Content-Type"))


def test_errors_are_plain_text_without_trailing_newline(agent: AgentProcess) -> None:
    reply = agent.get("/v1/agent/service/missing")
    assert (b"unknown service ID: missing", TEXT) == (reply.body, reply.header("Content-Type"))


def test_get_bodies_are_ignored(agent: AgentProcess) -> None:
    reply = agent.request("GET", "/v1/agent/services", b"this is not json")
    assert (200, b"{}") == (reply.status, reply.body)


# -- JSON encoding (§1.5) ------------------------------------------------------------------------------


def _go_indent(body: bytes) -> str:
    value: Any = json.loads(body)
    return json.dumps(value, indent=4, ensure_ascii=False)


@pytest.mark.parametrize("flag", ["?pretty", "?pretty=", "?pretty=1", "?pretty=false"])
def test_pretty_gives_four_space_indent_and_newline(agent: AgentProcess, flag: str) -> None:
    agent.put(REGISTER, {"Name": "p", "Tags": ["a", "b"], "Port": 1, "Address": "10.0.0.1"})
    compact = agent.get("/v1/agent/service/p").body
    pretty = agent.get("/v1/agent/service/p" + flag)
    assert 200 == pretty.status
    assert _go_indent(compact) + "\n" == pretty.text
    listing = agent.get("/v1/agent/services" + flag)
    assert _go_indent(agent.get("/v1/agent/services").body) + "\n" == listing.text


def test_pretty_empty_object_and_list(agent: AgentProcess) -> None:
    assert "{}\n" == agent.get("/v1/agent/services?pretty").text
    agent.put(REGISTER, {"Name": "e"})
    text = agent.get("/v1/agent/service/e?pretty").text
    assert '\n    "Tags": [],\n    "Meta": {},\n' in text


def test_compact_json_has_no_trailing_newline(agent: AgentProcess) -> None:
    agent.put(REGISTER, {"Name": "c"})
    body = agent.get("/v1/agent/service/c").body
    assert body.startswith(b'{"ID":"c",')
    assert body.endswith(b"}")


def test_dev_mode_indents_without_trailing_newline(make_agent: type[AgentProcess]) -> None:
    agent = make_agent(dev=True).start()
    agent.put(REGISTER, {"Name": "d", "Tags": ["x"]})
    body = agent.get("/v1/agent/service/d").body
    assert _go_indent(body) == body.decode()
    assert _go_indent(body) + "\n" == agent.get("/v1/agent/service/d?pretty").text


def test_html_characters_are_escaped_like_go(agent: AgentProcess) -> None:
    body = {"Name": "esc", "Tags": ["<a&b>"], "Meta": {"k": "x<y>&z"}}
    agent.put(REGISTER, body)
    raw = agent.get("/v1/agent/service/esc").body
    assert b'"Tags":["\\u003ca\\u0026b\\u003e"]' in raw
    assert b'"Meta":{"k":"x\\u003cy\\u003e\\u0026z"}' in raw
    assert b"<" not in raw
    assert b">" not in raw
    assert b"&" not in raw


def test_line_separators_escaped_and_other_unicode_raw(agent: AgentProcess) -> None:
    agent.put(REGISTER, {"Name": "u", "Tags": ["a\u2028b\u2029c", "café ☃", 'q"\\\t\n']})
    raw = agent.get("/v1/agent/service/u").body
    assert b'"a\\u2028b\\u2029c"' in raw
    assert "café ☃".encode() in raw
    assert b'"q\\"\\\\\\t\\n"' in raw
    assert ["a\u2028b\u2029c", "café ☃", 'q"\\\t\n'] == json.loads(raw)["Tags"]
