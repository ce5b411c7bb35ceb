"""Each check kind's probe against real local targets: exact statuses and Consul's output texts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from grpc_health.v1 import health_pb2  # type: ignore[import-untyped]

from muster.checks.base import SECOND, CheckResult, ProbeContext
from muster.checks.grpc import certificate_names
from muster.checks.kinds import DOCKER_UNSUPPORTED, OS_SERVICE_UNSUPPORTED, make_probe
from muster.checks.tcp import reset_tls_trust
from muster.models import CRITICAL, CheckDefinition
from tests.unit.probe_targets import (
    CERT_NAME,
    LARGE_BODY,
    Cert,
    H2Server,
    closed_port,
    echo_reply,
    grpc_server,
    h2_server,
    http_server,
    make_cert,
    tcp_server,
    udp_server,
)

MS = 1_000_000
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
UNKNOWN_AUTHORITY = "tls: failed to verify certificate: x509: certificate signed by unknown authority"


def _anyone(source: str) -> bool:
    return True


@pytest.fixture(scope="module")
def script_pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield pool


@pytest_asyncio.fixture
async def ctx(script_pool: ThreadPoolExecutor) -> AsyncIterator[ProbeContext]:
    connector = aiohttp.TCPConnector(force_close=True)  # no keep-alive, as the agent's session
    async with aiohttp.ClientSession(connector=connector) as session:
        yield ProbeContext(
            http_session=session, script_pool=script_pool, output_max_size=4096, scripts_allowed=_anyone
        )


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return make_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trust_cert(cert: Cert, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cert]:
    """Make the test certificate the system's only root while the test runs."""
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    reset_tls_trust()
    yield cert
    reset_tls_trust()


async def run(ctx: ProbeContext, **fields: Any) -> CheckResult:
    fields.setdefault("interval", 10 * SECOND)
    probe = make_probe(CheckDefinition(check_id="c", name="c", **fields), ctx)
    assert probe is not None
    return await probe()


# -- HTTP ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/ok", ("passing", "200 OK Output: all good")),
        ("/busy", ("warning", "429 Too Many Requests Output: slow down")),
        ("/fail", ("critical", "500 Internal Server Error Output: boom")),
        ("/redirect", ("passing", "200 OK Output: all good")),
    ],
)
@pytest.mark.asyncio
async def test_http_status_classes(ctx: ProbeContext, path: str, expected: tuple[str, str]) -> None:
    async with http_server() as port:
        url = f"http://127.0.0.1:{port}{path}"
        assert (expected[0], f"HTTP GET {url}: {expected[1]}") == await run(ctx, http=url)


@pytest.mark.asyncio
async def test_http_default_headers_and_get(ctx: ProbeContext) -> None:
    async with http_server() as port:
        result = await run(ctx, http=f"http://127.0.0.1:{port}/echo")
    reply = echo_reply(result.output)
    assert "passing" == result.status
    assert "GET" == reply["method"]
    headers = dict(reply["headers"])
    assert "Consul Health Check" == headers["User-Agent"]
    assert "text/plain, text/*, */*" == headers["Accept"]
    assert "Content-Type" not in headers


@pytest.mark.asyncio
async def test_http_method_headers_host_and_body_are_sent(ctx: ProbeContext) -> None:
    header = {"X-Multi": ["a", "b"], "Host": ["svc.example"], "User-Agent": ["probe/1"], "Accept": [""]}
    async with http_server() as port:
        url = f"http://127.0.0.1:{port}/echo"
        result = await run(ctx, http=url, method="PUT", header=header, body='{"ping":1}')
    reply = echo_reply(result.output)
    assert result.output.startswith(f"HTTP PUT {url}: 200 OK Output: ")
    assert ("PUT", "svc.example", '{"ping":1}') == (reply["method"], reply["host"], reply["body"])
    assert [["X-Multi", "a"], ["X-Multi", "b"]] == [h for h in reply["headers"] if h[0] == "X-Multi"]
    headers = dict(reply["headers"])
    assert ("probe/1", "text/plain, text/*, */*") == (headers["User-Agent"], headers["Accept"])
    assert "Content-Type" not in headers


@pytest.mark.asyncio
async def test_http_disable_redirects_reports_the_redirect(ctx: ProbeContext) -> None:
    async with http_server() as port:
        url = f"http://127.0.0.1:{port}/redirect"
        result = await run(ctx, http=url, disable_redirects=True)
    assert ("critical", f"HTTP GET {url}: 302 Found Output: moved") == result


@pytest.mark.asyncio
async def test_http_redirect_loop_stops_after_ten(ctx: ProbeContext) -> None:
    async with http_server() as port:
        result = await run(ctx, http=f"http://127.0.0.1:{port}/loop")
    assert ("critical", 'Get "/loop": stopped after 10 redirects') == result


@pytest.mark.asyncio
async def test_http_body_keeps_the_last_output_max_size_bytes(ctx: ProbeContext) -> None:
    async with http_server() as port:
        url = f"http://127.0.0.1:{port}/large"
        capped = await run(ctx, http=url, output_max_size=100)
        agent_cap = await run(ctx, http=url)
    assert ("passing", f"HTTP GET {url}: 200 OK Output: {LARGE_BODY[-100:].decode()}") == capped
    assert f"HTTP GET {url}: 200 OK Output: {LARGE_BODY[-4096:].decode()}" == agent_cap.output


@pytest.mark.asyncio
async def test_http_connection_refused(ctx: ProbeContext) -> None:
    port = closed_port()
    result = await run(ctx, http=f"http://127.0.0.1:{port}/")
    expected = f'Get "http://127.0.0.1:{port}/": dial tcp 127.0.0.1:{port}: connect: connection refused'
    assert ("critical", expected) == result


@pytest.mark.asyncio
async def test_http_timeout_before_headers(ctx: ProbeContext) -> None:
    async with http_server() as port:
        url = f"http://127.0.0.1:{port}/slow"
        started = time.monotonic()
        result = await run(ctx, http=url, timeout=300 * MS)
    expected = f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    assert ("critical", expected) == result
    assert time.monotonic() - started < 2


@pytest.mark.asyncio
async def test_http_timeout_while_reading_body_reports_what_arrived(ctx: ProbeContext) -> None:
    async with http_server() as port:
        url = f"http://127.0.0.1:{port}/slow-body"
        result = await run(ctx, http=url, timeout=300 * MS)
    assert ("passing", f"HTTP GET {url}: 200 OK Output: partial") == result


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("localhost/health", 'Get "localhost/health": unsupported protocol scheme ""'),
        ("ftp://127.0.0.1/", 'Get "ftp://127.0.0.1/": unsupported protocol scheme "ftp"'),
        ("127.0.0.1:80/x", 'parse "127.0.0.1:80/x": first path segment in URL cannot contain colon'),
        ("http:///x", 'Get "http:///x": http: no Host in request URL'),
    ],
)
@pytest.mark.asyncio
async def test_http_invalid_urls(ctx: ProbeContext, url: str, expected: str) -> None:
    assert ("critical", expected) == await run(ctx, http=url)


@pytest.mark.asyncio
async def test_http_without_a_shared_session(script_pool: ThreadPoolExecutor) -> None:
    bare = ProbeContext(
        http_session=None, script_pool=script_pool, output_max_size=4096, scripts_allowed=_anyone
    )
    async with http_server() as port:
        url = f"http://127.0.0.1:{port}/ok"
        assert ("passing", f"HTTP GET {url}: 200 OK Output: all good") == await run(bare, http=url)


@pytest.mark.asyncio
async def test_https_verification(ctx: ProbeContext, cert: Cert) -> None:
    async with http_server(cert.server_context()) as port:
        url = f"https://127.0.0.1:{port}/ok"
        verified = await run(ctx, http=url)
        skipped = await run(ctx, http=url, tls_skip_verify=True)
    assert ("critical", f'Get "{url}": {UNKNOWN_AUTHORITY}') == verified
    assert ("passing", f"HTTP GET {url}: 200 OK Output: all good") == skipped


@pytest.mark.asyncio
async def test_https_tls_server_name_is_checked(ctx: ProbeContext, trust_cert: Cert) -> None:
    async with http_server(trust_cert.server_context()) as port:
        url = f"https://127.0.0.1:{port}/ok"
        by_ip = await run(ctx, http=url)
        by_name = await run(ctx, http=url, tls_server_name=CERT_NAME)
        wrong = await run(ctx, http=url, tls_server_name="other.test")
    assert ("passing", f"HTTP GET {url}: 200 OK Output: all good") == by_ip
    assert by_ip == by_name
    reason = "tls: failed to verify certificate: x509: certificate is not valid for other.test"
    assert ("critical", f'Get "{url}": {reason}') == wrong


# -- TCP -----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_tcp_open_and_closed(ctx: ProbeContext) -> None:
    async with tcp_server() as port:
        addr = f"127.0.0.1:{port}"
        assert ("passing", f"TCP connect {addr}: Success") == await run(ctx, tcp=addr)
    result = await run(ctx, tcp=addr)  # the listener is gone now
    assert ("critical", f"dial tcp {addr}: connect: connection refused") == result


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("127.0.0.1", "dial tcp: address 127.0.0.1: missing port in address"),
        ("::1:80", "dial tcp: address ::1:80: too many colons in address"),
        ("127.0.0.1:99999", "dial tcp: address 99999: invalid port"),
        ("127.0.0.1:\u00b2", "dial tcp: lookup tcp/\u00b2: unknown port"),  # int() would take "²"'s kin
        ("127.0.0.1:\u0663", "dial tcp: lookup tcp/\u0663: unknown port"),
    ],
)
@pytest.mark.asyncio
async def test_tcp_bad_addresses(ctx: ProbeContext, addr: str, expected: str) -> None:
    assert ("critical", expected) == await run(ctx, tcp=addr)


@pytest.mark.asyncio
async def test_tcp_tls(ctx: ProbeContext, cert: Cert) -> None:
    async with tcp_server(cert.server_context()) as port:
        addr = f"127.0.0.1:{port}"
        skipped = await run(ctx, tcp=addr, tcp_use_tls=True, tls_skip_verify=True)
        verified = await run(ctx, tcp=addr, tcp_use_tls=True)
    assert ("passing", f"TCP+TLS connect {addr}: Success") == skipped
    assert ("critical", UNKNOWN_AUTHORITY) == verified


@pytest.mark.asyncio
async def test_tcp_tls_against_a_plain_http_server(ctx: ProbeContext) -> None:
    async with http_server() as port:
        result = await run(ctx, tcp=f"127.0.0.1:{port}", tcp_use_tls=True, tls_skip_verify=True)
    assert ("critical", "tls: first record does not look like a TLS handshake") == result


# -- UDP -----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_udp_reply_is_success_and_the_datagram_is_empty(ctx: ProbeContext) -> None:
    async with udp_server(b"pong") as (port, target):
        addr = f"127.0.0.1:{port}"
        assert ("passing", f"UDP connect {addr}: Success") == await run(ctx, udp=addr)
    assert [b""] == target.received  # Consul writes its empty Message


@pytest.mark.asyncio
async def test_udp_silence_until_the_timeout_is_success(ctx: ProbeContext) -> None:
    async with udp_server(None) as (port, _):
        addr = f"127.0.0.1:{port}"
        started = time.monotonic()
        result = await run(ctx, udp=addr, timeout=200 * MS)
    assert ("passing", f"UDP connect {addr}: Success") == result
    assert 0.15 < time.monotonic() - started < 1.5


@pytest.mark.asyncio
async def test_udp_port_unreachable_is_critical(ctx: ProbeContext) -> None:
    port = closed_port(kind=2)  # SOCK_DGRAM
    status, output = await run(ctx, udp=f"127.0.0.1:{port}", timeout=2 * SECOND)
    assert "critical" == status
    assert re.fullmatch(rf"read udp 127\.0\.0\.1:\d+->127\.0\.0\.1:{port}: read: connection refused", output)


@pytest.mark.asyncio
async def test_udp_missing_port(ctx: ProbeContext) -> None:
    expected = ("critical", "dial udp: address 127.0.0.1: missing port in address")
    assert expected == await run(ctx, udp="127.0.0.1")


# -- scripts -------------------------------------------------------------------------------------


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("print('fine')", ("passing", "fine\n")),
        ("print('meh'); raise SystemExit(1)", ("warning", "meh\n")),
        ("print('bad'); raise SystemExit(2)", ("critical", "bad\n")),
        ("import os; os.kill(os.getpid(), 9)", ("critical", "")),
        (
            "import sys; print('out', flush=True); print('err', file=sys.stderr, flush=True)",
            ("passing", "out\nerr\n"),
        ),
    ],
)
@pytest.mark.asyncio
async def test_script_exit_codes_and_combined_output(
    ctx: ProbeContext, code: str, expected: tuple[str, str]
) -> None:
    assert expected == await run(ctx, script_args=py(code))


@pytest.mark.asyncio
async def test_script_output_keeps_the_tail(ctx: ProbeContext) -> None:
    result = await run(ctx, script_args=py("print('a' * 100 + 'TAIL-END')"), output_max_size=10)
    assert ("passing", "Captured 10 of 109 bytes\n...\naTAIL-END\n") == result


@pytest.mark.asyncio
async def test_script_timeout_with_and_without_output(ctx: ProbeContext) -> None:
    code = "import sys, time; print('started', flush=True); time.sleep(30)"
    started = time.monotonic()
    loud = await run(ctx, script_args=py(code), timeout=500 * MS)
    quiet = await run(ctx, script_args=py("import time; time.sleep(30)"), timeout=1500 * MS)
    assert ("critical", "Timed out (500ms) running check\n\nstarted\n") == loud
    assert ("critical", "Timed out (1.5s) running check") == quiet
    assert time.monotonic() - started < 5


def _gone(pid: int) -> bool:
    """No such process, or a zombie waiting for a reaper that is not ours."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.asyncio
async def test_script_timeout_kills_forked_children_holding_the_pipe(ctx: ProbeContext) -> None:
    # The script forks a child that sleeps forever with stdout open, and exits at once: without a
    # process-group kill, reading the output would never finish.
    code = "import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(1000)\nprint(pid, flush=True)\n"
    started = time.monotonic()
    status, output = await run(ctx, script_args=py(code), timeout=500 * MS)
    elapsed = time.monotonic() - started
    assert "critical" == status
    header, _, child = output.partition("\n\n")
    assert "Timed out (500ms) running check" == header
    assert 0.4 < elapsed < 3
    deadline = time.monotonic() + 2
    while not _gone(int(child)) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert _gone(int(child))


@pytest.mark.asyncio
async def test_script_whose_escaped_child_never_closes_the_pipe_does_not_hang(ctx: ProbeContext) -> None:
    # The child leaves the process group (setsid), so the group kill misses it and the pipe stays
    # open: the read gives up after the drain grace period and reports what it read.
    code = (
        "import os, time\npid = os.fork()\nif pid == 0:\n    os.setsid()\n    time.sleep(1000)\n"
        "print(pid, flush=True)\ntime.sleep(1000)\n"
    )
    started = time.monotonic()
    status, output = await run(ctx, script_args=py(code), timeout=500 * MS)
    elapsed = time.monotonic() - started
    header, _, child = output.partition("\n\n")
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int(child), signal.SIGKILL)
    assert ("critical", "Timed out (500ms) running check", True) == (status, header, 0.4 < elapsed < 4)


@pytest.mark.asyncio
async def test_script_start_failures(ctx: ProbeContext, tmp_path: Path) -> None:
    not_executable = tmp_path / "check.sh"
    not_executable.write_text("#!/bin/sh\nexit 0\n")
    missing = await run(ctx, script_args=["muster-no-such-command", "-x"])
    absent = await run(ctx, script_args=["/nonexistent/check"])
    denied = await run(ctx, script_args=[str(not_executable)])
    expected = 'exec: "muster-no-such-command": executable file not found in $PATH'
    assert ("critical", expected) == missing
    assert ("critical", "fork/exec /nonexistent/check: no such file or directory") == absent
    # execve refuses a file without any execute bit, even to root
    assert ("critical", f"fork/exec {not_executable}: permission denied") == denied


@pytest.mark.asyncio
async def test_script_bare_names_are_found_on_path(ctx: ProbeContext) -> None:
    assert ("passing", "via-path\n") == await run(ctx, script_args=["sh", "-c", "echo via-path"])


# -- gRPC ----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_grpc_serving_status_flips(ctx: ProbeContext) -> None:
    async with grpc_server() as (port, servicer):
        whole, target = f"127.0.0.1:{port}", f"127.0.0.1:{port}/billing"
        await servicer.set("billing", NOT_SERVING)
        down = await run(ctx, grpc=target)
        await servicer.set("billing", SERVING)
        up = await run(ctx, grpc=target)
        overall = await run(ctx, grpc=whole)
        unknown = await run(ctx, grpc=f"{whole}/nope")
    assert ("critical", f"gRPC {target} serving status: NOT_SERVING") == down
    assert ("passing", f"gRPC check {target}: success") == up
    assert ("passing", f"gRPC check {whole}: success") == overall
    assert "critical" == unknown.status
    assert unknown.output.startswith("rpc error: code = NotFound desc = ")


@pytest.mark.asyncio
async def test_grpc_connection_refused(ctx: ProbeContext) -> None:
    status, output = await run(ctx, grpc=f"127.0.0.1:{closed_port()}", timeout=2 * SECOND)
    assert "critical" == status
    assert output.startswith("rpc error: code = Unavailable desc = ")


@pytest.mark.asyncio
async def test_grpc_tls(ctx: ProbeContext, cert: Cert) -> None:
    async with grpc_server(cert) as (port, _):
        target = f"127.0.0.1:{port}"
        skipped = await run(ctx, grpc=target, grpc_use_tls=True, tls_skip_verify=True)
        verified = await run(ctx, grpc=target, grpc_use_tls=True, timeout=2 * SECOND)
        plain = await run(ctx, grpc=target, timeout=2 * SECOND)
    assert ("passing", f"gRPC check {target}: success") == skipped
    assert "critical" == verified.status
    assert verified.output.startswith("rpc error: code = Unavailable desc = ")
    assert "critical" == plain.status


@pytest.mark.asyncio
async def test_grpc_tls_verified_with_server_name(ctx: ProbeContext, trust_cert: Cert) -> None:
    async with grpc_server(trust_cert) as (port, _):
        target = f"127.0.0.1:{port}"
        result = await run(ctx, grpc=target, grpc_use_tls=True, tls_server_name=CERT_NAME)
    assert ("passing", f"gRPC check {target}: success") == result


def test_certificate_names_reads_the_subject_alt_names(cert: Cert) -> None:
    import ssl

    der = ssl.PEM_cert_to_DER_cert(cert.cert.read_text())
    assert [CERT_NAME, "127.0.0.1"] == certificate_names(der)


# -- H2PING --------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_h2ping_cleartext(ctx: ProbeContext) -> None:
    target = H2Server()
    async with h2_server(target) as port:
        result = await run(ctx, h2ping=f"127.0.0.1:{port}", h2ping_use_tls=False)
    assert ("passing", "HTTP2 ping was successful") == result
    assert 1 == target.pings


@pytest.mark.asyncio
async def test_h2ping_tls(ctx: ProbeContext, cert: Cert) -> None:
    target = H2Server()
    async with h2_server(target, cert.server_context(alpn=["h2"])) as port:
        addr = f"127.0.0.1:{port}"
        skipped = await run(ctx, h2ping=addr, tls_skip_verify=True, tls_server_name=CERT_NAME)
        verified = await run(ctx, h2ping=addr)
    assert ("passing", "HTTP2 ping was successful") == skipped
    assert ("critical", f"Failed to dial to {addr}: {UNKNOWN_AUTHORITY}") == verified
    assert [CERT_NAME, None] == target.sni  # no SNI for an IP address, as in Go


@pytest.mark.asyncio
async def test_h2ping_failures(ctx: ProbeContext) -> None:
    port = closed_port()
    refused = await run(ctx, h2ping=f"127.0.0.1:{port}", h2ping_use_tls=False)
    assert (
        "critical",
        f"Failed to dial to 127.0.0.1:{port}: dial tcp 127.0.0.1:{port}: connect: connection refused",
    ) == refused
    async with h2_server(H2Server(mode="silent")) as port:
        silent = await run(ctx, h2ping=f"127.0.0.1:{port}", h2ping_use_tls=False, timeout=300 * MS)
    assert ("critical", "HTTP2 ping failed: context deadline exceeded") == silent
    async with h2_server(H2Server(mode="goaway")) as port:
        refused_ping = await run(ctx, h2ping=f"127.0.0.1:{port}", h2ping_use_tls=False)
    goaway = 'LastStreamID=0, ErrCode=ENHANCE_YOUR_CALM, debug="calm down"'
    expected = f"HTTP2 ping failed: http2: server sent GOAWAY and closed the connection; {goaway}"
    assert ("critical", expected) == refused_ping
    async with h2_server(H2Server(mode="http1")) as port:
        http1 = await run(ctx, h2ping=f"127.0.0.1:{port}", h2ping_use_tls=False)
    too_large = "http2: failed reading the frame payload: http2: frame too large"
    note = "note that the frame header looked like an HTTP/1.1 header"
    assert ("critical", f"HTTP2 ping failed: {too_large}, {note}") == http1
    async with h2_server(H2Server(mode="hangup")) as port:
        hangup = await run(ctx, h2ping=f"127.0.0.1:{port}", h2ping_use_tls=False)
    assert ("critical", "HTTP2 ping failed: unexpected EOF") == hangup


# -- runner choice -------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_runner_order_and_unsupported_kinds(ctx: ProbeContext) -> None:
    port = closed_port()
    addr = f"127.0.0.1:{port}"
    http_first = await run(ctx, http=f"http://{addr}/", tcp=addr, grpc=addr)
    tcp_first = await run(ctx, tcp=addr, udp=addr, grpc=addr)
    docker = await run(ctx, script_args=["true"], docker_container_id="abc", os_service="x")
    os_service = await run(ctx, os_service="sshd", script_args=["true"], h2ping=addr)
    script_first = await run(ctx, script_args=py("print('ran')"), h2ping=addr)
    assert http_first.output.startswith('Get "')
    assert f"dial tcp {addr}: connect: connection refused" == tcp_first.output
    assert ("critical", DOCKER_UNSUPPORTED) == docker
    assert ("critical", OS_SERVICE_UNSUPPORTED) == os_service
    assert ("passing", "ran\n") == script_first


def test_no_probe_for_ttl_alias_or_nothing(script_pool: ThreadPoolExecutor) -> None:
    bare = ProbeContext(
        http_session=None, script_pool=script_pool, output_max_size=4096, scripts_allowed=_anyone
    )

    def probe(**fields: Any) -> object:
        return make_probe(CheckDefinition(check_id="c", name="c", **fields), bare)

    assert probe(ttl=SECOND, http="http://127.0.0.1:1/", interval=SECOND) is None
    assert probe(alias_service="web") is None
    assert probe(http="http://127.0.0.1:1/") is None  # no interval: not an HTTP runner
    assert probe() is None


@pytest.mark.asyncio
async def test_a_script_check_whose_source_may_no_longer_run_scripts_is_never_executed(
    script_pool: ThreadPoolExecutor, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    refused = ProbeContext(
        http_session=None, script_pool=script_pool, output_max_size=4096, scripts_allowed=lambda s: False
    )
    definition = CheckDefinition(
        check_id="s",
        name="s",
        script_args=["/bin/sh", "-c", f"touch {marker}"],
        interval=SECOND,
        type="script",
    )
    probe = make_probe(definition, refused)
    assert probe is not None

    result = await probe()

    assert CRITICAL == result.status
    assert result.output.startswith("Scripts are disabled on this agent")
    assert not marker.exists()
