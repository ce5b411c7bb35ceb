"""End-to-end: input that decodes but could not be applied is refused before anything is committed
(durations beyond int64 nanoseconds, JSON nested past the decoder's limit, ACL rules nested too deep),
headers that are not UTF-8, lone surrogates and malformed request lines: each is a 400 with a text,
never a 500, and the agent logs no traceback and starts again afterwards (issue 13, items 1 and 6)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from muster.api.routes import ROUTES
from muster.decode import MAX_NESTING
from tests.agentproc import AgentProcess
from tests.e2e.targets import GrpcHealth, wait_status, write_config

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")

INT64_MAX = (1 << 63) - 1
LONGEST = "2562047h47m16.854775807s"  # Go's Duration.String of the largest time.Duration
HUGE = "1" + "0" * 320  # a JSON integer float64 cannot hold
ROOT = "root-secret-for-bad-input"
DEEP = "[" * 3000 + "]" * 3000


def no_traceback(agent: AgentProcess) -> None:
    log = "".join(agent.stderr_lines)
    assert "Traceback" not in log, log[-3000:]
    assert "[ERROR]" not in log, log[-3000:]


def raw(agent: AgentProcess, data: bytes) -> bytes:
    """Send bytes as they are; return the answer once its body is complete or the agent closes."""
    with socket.create_connection(("127.0.0.1", agent.port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            lengths = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if lengths and len(body) >= int(lengths[0].split(b":")[1]):
                break
    return answer


def status_and_body(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode()


@pytest.fixture(scope="module")
def acl_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProcess]:
    config = tmp_path_factory.mktemp("bad-input") / "acl.json"
    config.write_text(json.dumps({"acl": {"enabled": True, "tokens": {"initial_management": ROOT}}}))
    agent = AgentProcess("-config-file", str(config)).start()
    yield agent
    agent.close()


CHECK, SERVICE = "/v1/agent/check/register", "/v1/agent/service/register"


@pytest.mark.parametrize(
    ("path", "body", "number", "field", "go_type"),
    [
        (CHECK, '{"Name":"c","TTL":@}', HUGE, ".TTL", "float64"),
        (CHECK, '{"Name":"c","Interval":"1s","TCP":"h:1","Timeout":@}', "1e400", ".Timeout", "float64"),
        (CHECK, '{"TTL":"1s","DeregisterCriticalServiceAfter":@}', "1e19", ".DeregisterCriticalServiceAfter",
         "time.Duration"),
        (CHECK, '{"Name":"c","Interval":@,"TCP":"h:1"}', str(INT64_MAX + 1), ".Interval", "time.Duration"),
        (SERVICE, '{"Name":"s","Check":{"TTL":@}}', HUGE, ".Check.TTL", "float64"),
        (SERVICE, '{"Name":"s","Checks":[{"TTL":"1s"},{"TTL":@}]}', "-1e30", ".Checks.TTL", "time.Duration"),
        (SERVICE, '{"Name":"s","Proxy":{"Config":{"n":@}}}', HUGE, ".Proxy.Config", "float64"),
    ],
)  # fmt: skip
def test_an_out_of_range_number_is_a_400_and_nothing_is_committed(
    agent: AgentProcess, path: str, body: str, number: str, field: str, go_type: str
) -> None:
    reply = agent.put(path, body.replace("@", number))
    expected = f"Request decode failed: json: cannot unmarshal number {number} into Go struct field {field}"
    expected += f" of type {go_type}"
    assert (400, expected) == (reply.status, reply.text)
    assert ({}, {}) == (agent.get("/v1/agent/checks").json(), agent.get("/v1/agent/services").json())
    agent.stop()
    agent.start()  # nothing half-applied is left to trip the next start
    assert {} == agent.get("/v1/agent/checks").json()
    no_traceback(agent)


def test_the_largest_durations_are_kept_run_and_survive_a_restart(agent: AgentProcess) -> None:
    # Every duration at int64's largest: TTL and reaper timers, an interval never due, probe timeouts.
    most = {"TTL": INT64_MAX, "DeregisterCriticalServiceAfter": INT64_MAX}
    assert 200 == agent.put("/v1/agent/check/register", {"Name": "ttl", **most}).status
    assert 200 == agent.put("/v1/agent/service/register", {"Name": "web", "Check": most}).status
    for kind, target in (("TCP", "127.0.0.1:1"), ("HTTP", "http://127.0.0.1:1/"), ("UDP", "127.0.0.1:1")):
        for interval in ("1s", INT64_MAX):
            check = {"Name": f"{kind}-{interval}", kind: target, "Interval": interval, "Timeout": INT64_MAX}
            assert 200 == agent.put("/v1/agent/check/register", check).status
    assert 200 == agent.put("/v1/agent/check/pass/ttl").status
    time.sleep(2.5)  # the 1 s interval checks have run
    checks = agent.get("/v1/agent/checks").json()
    assert "passing" == checks["ttl"]["Status"]
    assert "connection refused" in checks["TCP-1s"]["Output"]
    assert (LONGEST, LONGEST) == (checks["TCP-1s"]["Timeout"], checks[f"UDP-{INT64_MAX}"]["Interval"])
    agent.stop()
    agent.start()
    after = agent.get("/v1/agent/checks").json()
    assert sorted(checks) == sorted(after)
    assert "passing" == after["ttl"]["Status"]  # its TTL window, 292 years, has not run out
    no_traceback(agent)


def test_an_out_of_range_duration_in_a_config_file_refuses_the_reload_whole(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = tmp_path / "svc.json"
    config.write_text(json.dumps({"service": {"name": "kept", "check": {"ttl": "10s"}}}))
    agent = make_agent("-config-file", str(config)).start()
    config.write_text('{"services":[{"name":"added"},{"name":"kept","check":{"ttl":@}}]}'.replace("@", HUGE))
    reply = agent.put("/v1/agent/reload")
    assert 400 == reply.status
    assert (
        f"json: cannot unmarshal number {HUGE} into Go struct field .Check.TTL of type float64" in reply.text
    )
    assert ["kept"] == list(agent.get("/v1/agent/services").json())  # nothing of the new file applied
    agent.stop()
    with pytest.raises(RuntimeError):
        agent.start()  # the same file at start: a clear error, not a traceback
    assert agent.proc is not None
    assert 1 == agent.proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while "Check.TTL" not in "".join(agent.stderr_lines) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Check.TTL of type float64" in "".join(agent.stderr_lines)
    no_traceback(agent)


def test_json_nested_too_deep_is_a_400_on_every_write_endpoint(acl_agent: AgentProcess) -> None:
    headers = {"X-Consul-Token": ROOT}
    bodies = [
        DEEP,
        '{"Name":"x","Meta":' + DEEP + "}",
        '{"Name":"p","Proxy":{"Config":' + '{"a":' * 3000 + "}}",
    ]
    for route in ROUTES:
        if "PUT" not in route.methods:
            continue
        path = route.path + ("x" if route.subtree else "")
        for body in bodies:
            reply = acl_agent.put(path, body, headers={**headers, "Content-Type": "application/json"})
            assert reply.status < 500, (path, reply.status, reply.text)
            if route.path in ("/v1/agent/service/register", "/v1/agent/check/register", "/v1/acl/token"):
                assert (400, "exceeded max depth") == (reply.status, reply.text[-18:])
    no_traceback(acl_agent)


def test_acl_rules_nested_too_deep_are_a_400(acl_agent: AgentProcess) -> None:
    headers = {"X-Consul-Token": ROOT}
    for rules in ('key_prefix "" { ' * 2000, "{" + '"a":{' * 2000, "a = " + "[" * 2000):
        reply = acl_agent.put("/v1/acl/policy", {"Name": "deep", "Rules": rules}, headers=headers)
        assert 400 == reply.status
        assert reply.text.startswith("Failed to parse ACL rules: At 1:"), reply.text
        assert "exceeded max depth" in reply.text
    no_traceback(acl_agent)


def test_nesting_up_to_the_limit_is_stored_served_and_restored(agent: AgentProcess) -> None:
    config = '{"a":' * (MAX_NESTING - 3) + "1" + "}" * (MAX_NESTING - 3)  # under the body's 3 levels
    proxy = '{"DestinationServiceName":"web","Config":' + config + "}"
    body = '{"Name":"p","Kind":"connect-proxy","Port":21000,"Proxy":' + proxy + "}"
    assert 200 == agent.put("/v1/agent/service/register", body).status
    for path in (
        "/v1/agent/services",
        "/v1/agent/service/p",
        "/v1/catalog/service/p",
        "/v1/health/service/p",
    ):
        assert 200 == agent.get(path + "?pretty").status, path
    agent.stop()
    agent.start()
    assert json.loads(config) == agent.get("/v1/agent/service/p").json()["Proxy"]["Config"]
    no_traceback(agent)


@pytest.mark.parametrize(
    "header",
    [b"X-Consul-Token: \xff\xfe", b"Authorization: Bearer \xed\xa0\x80", b"X-Consul-Namespace: n\xc3"],
)
def test_a_header_that_is_not_utf8_is_a_400_naming_it(acl_agent: AgentProcess, header: bytes) -> None:
    name = header.split(b":")[0].decode()
    expected = (400, f'Invalid header: "{name}" - the value is not valid UTF-8')
    heads = [
        b"GET /v1/agent/services HTTP/1.1\r\nHost: x\r\n",
        b"PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n",
    ]
    if name != "X-Consul-Namespace":  # read by the endpoints that take a namespace
        heads.append(b"GET /v1/acl/token/self HTTP/1.1\r\nHost: x\r\n")
    for head in heads:
        body = b'{"Name":"a"}' if head.startswith(b"PUT") else b""
        assert expected == status_and_body(raw(acl_agent, head + header + b"\r\n\r\n" + body))
    no_traceback(acl_agent)


def test_a_lone_surrogate_key_is_cleaned_and_proxy_numbers_are_held_as_go_holds_them(
    agent: AgentProcess,
) -> None:
    reply = agent.put("/v1/agent/service/register", b'{"Name":"s","\\ud800":1}')
    assert (400, 'Request decode failed: json: unknown field "\ufffd"') == (reply.status, reply.text)
    proxy = b'{"DestinationServiceName":"web","Config":{"\\udc00":%d}}' % (1 << 70)
    body = b'{"Name":"p","Kind":"connect-proxy","Port":21000,"Proxy":' + proxy + b"}"
    assert 200 == agent.put("/v1/agent/service/register", body).status
    for path in ("/v1/agent/service/p", "/v1/agent/service/p?pretty"):  # the fast path and aiohttp's
        reply = agent.get(path)
        assert (200, {"\ufffd": float(1 << 70)}) == (reply.status, reply.json()["Proxy"]["Config"])
    no_traceback(agent)


@pytest.mark.parametrize(
    "line",
    [
        b"GET / HTTP/9.9",
        b"GET /\x00 HTTP/1.1",
        b"GET \xff HTTP/1.1",
        b"GET /v1/agent/self HTTP/1.1 extra",
        b"GET /v1/agent/services?x=\xff HTTP/1.1",
        b"GARBAGE",
    ],
)
def test_a_malformed_request_line_is_a_400_without_a_traceback(agent: AgentProcess, line: bytes) -> None:
    status, _ = status_and_body(raw(agent, line + b"\r\nHost: x\r\n\r\n"))
    assert 400 == status
    assert 200 == agent.get("/v1/agent/self").status
    no_traceback(agent)


def test_script_and_grpc_checks_run_with_the_largest_timeout(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    agent = make_agent("-config-file", write_config(tmp_path, enable_script_checks=True)).start()
    with GrpcHealth() as server:
        server.set("", True)
        script = {"Name": "script", "Args": ["/bin/echo", "ok"], "Interval": "1s", "Timeout": INT64_MAX}
        grpc = {"Name": "grpc", "GRPC": server.address, "Interval": "1s", "Timeout": INT64_MAX}
        for check in (script, grpc):
            assert 200 == agent.put("/v1/agent/check/register", check).status

        assert ("passing", "ok\n") == wait_status(agent, "script", "passing")
        assert ("passing", f"gRPC check {server.address}: success") == wait_status(agent, "grpc", "passing")
        assert LONGEST == agent.get("/v1/agent/checks").json()["grpc"]["Timeout"]  # shown as asked
    no_traceback(agent)


@pytest.mark.parametrize(
    "digits", ["%C2%B2", "%D9%A3", "%EF%BC%91"]
)  # superscript 2, Arabic-Indic 3, fullwidth 1
@pytest.mark.parametrize(
    "path", ["/v1/catalog/services", "/v1/health/service/web", "/v1/agent/service/web", "/v1/catalog/nodes"]
)
def test_an_index_of_non_ascii_digits_is_a_400(acl_agent: AgentProcess, path: str, digits: str) -> None:
    reply = acl_agent.get(f"{path}?index={digits}&wait=1s")

    assert (400, "Invalid index") == (reply.status, reply.text)
    no_traceback(acl_agent)


def test_tags_times_checks_is_bounded_for_registrations_and_added_checks(agent: AgentProcess) -> None:
    tags = [f"t{i}" for i in range(1000)]
    checks = [{"CheckID": f"c{i}", "TTL": "1h"} for i in range(100)]
    too_many = {
        "Name": "amp",
        "ID": "amp-1",
        "Tags": tags,
        "Checks": [*checks, {"CheckID": "c100", "TTL": "1h"}],
    }

    refused = agent.put("/v1/agent/service/register", too_many)
    accepted = agent.put("/v1/agent/service/register", {**too_many, "Checks": checks})
    one_more = agent.put(
        "/v1/agent/check/register", {"ID": "c100", "Name": "c", "ServiceID": "amp-1", "TTL": "1h"}
    )

    expected = "Invalid registration: 1000 tags on each of 101 checks would repeat 101000 tags"
    assert (400, 200, 400) == (refused.status, accepted.status, one_more.status)
    assert refused.text.startswith(expected)
    assert one_more.text.startswith(expected)
