"""End-to-end: every check kind against a real target started by the test (spec §3.1-3.5, §7.6).

HTTP (200/429/500, output format, tail truncation, method/headers/body, redirects, timeout),
TCP, UDP, scripts (exit codes, timeout, truncation, no shell), gRPC health, HTTP/2 ping, alias,
TTL (100 ms expiry, expiry texts, timer reset, head truncation) and the threshold filter.
Interval checks use Interval "1s": the first run is staggered randomly within one interval.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import (
    FlipHTTP,
    GrpcHealth,
    H2Server,
    TCPListener,
    UDPEcho,
    check_of,
    free_port,
    poll,
    put_ok,
    register_check,
    register_service,
    status_of,
    ttl,
    wait_check,
    wait_status,
    write_config,
    write_script,
)

pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")


def scripts_agent(make_agent: Any, tmp_path: Path, **settings: Any) -> AgentProcess:
    config = write_config(tmp_path, enable_script_checks=True, **settings)
    return make_agent("-config-file", config).start()


def with_output(expected: str) -> Any:
    return lambda s: s is not None and s[1] == expected


# -- HTTP ------------------------------------------------------------------------------------------


def test_http_check_follows_target_through_200_429_500_with_consul_output(agent: AgentProcess) -> None:
    with FlipHTTP(200, "all good") as target:
        url = target.url()
        register_check(agent, {"Name": "web-http", "HTTP": url, "Interval": "1s"})
        assert ("passing", f"HTTP GET {url}: 200 OK Output: all good") == wait_status(
            agent, "web-http", "passing"
        )

        target.set(429, "slow down")
        assert ("warning", f"HTTP GET {url}: 429 Too Many Requests Output: slow down") == wait_status(
            agent, "web-http", "warning"
        )

        target.set(500, "boom")
        assert ("critical", f"HTTP GET {url}: 500 Internal Server Error Output: boom") == wait_status(
            agent, "web-http", "critical"
        )

        target.set(204, "")
        assert ("passing", f"HTTP GET {url}: 204 No Content Output: ") == wait_status(
            agent, "web-http", "passing"
        )


def test_http_check_sends_method_body_headers_and_consul_default_headers(agent: AgentProcess) -> None:
    with FlipHTTP(200, "ok") as target:
        url = target.url("/probe?x=1")
        register_check(
            agent,
            {
                "Name": "post-check",
                "HTTP": url,
                "Method": "POST",
                "Body": '{"ping":true}',
                "Header": {"X-Probe": ["a", "b"]},
                "Interval": "1s",
            },
        )
        assert ("passing", f"HTTP POST {url}: 200 OK Output: ok") == wait_status(
            agent, "post-check", "passing"
        )
        seen = target.requests[0]
        assert ("POST", "/probe?x=1", '{"ping":true}') == (seen["method"], seen["path"], seen["body"])
        assert ["a", "b"] == seen["headers"].get("x-probe")
        assert ["Consul Health Check"] == seen["headers"].get("user-agent")
        assert ["text/plain, text/*, */*"] == seen["headers"].get("accept")


def test_http_check_header_replaces_default_user_agent_and_host(agent: AgentProcess) -> None:
    with FlipHTTP(200, "ok") as target:
        register_check(
            agent,
            {
                "Name": "ua",
                "HTTP": target.url(),
                "Header": {"User-Agent": ["muster-test"], "Host": ["svc.example"]},
                "Interval": "1s",
            },
        )
        wait_status(agent, "ua", "passing")
        seen = target.requests[0]["headers"]
        assert (["muster-test"], ["svc.example"]) == (seen.get("user-agent"), seen.get("host"))


def test_http_check_output_keeps_the_tail_of_a_long_body(agent: AgentProcess) -> None:
    body = "HEAD-" + "x" * 30 + "-TAIL0123"
    with FlipHTTP(200, body) as target:
        url = target.url()
        register_check(agent, {"Name": "long", "HTTP": url, "Interval": "1s", "OutputMaxSize": 10})
        assert ("passing", f"HTTP GET {url}: 200 OK Output: {body[-10:]}") == wait_status(
            agent, "long", "passing"
        )


def test_http_check_agent_output_cap_applies_to_http_body(make_agent: Any, tmp_path: Path) -> None:
    agent = make_agent("-config-file", write_config(tmp_path, check_output_max_size=8)).start()
    with FlipHTTP(200, "abcdefghijklmnopqrstuvwxyz") as target:
        url = target.url()
        register_check(agent, {"Name": "capped", "HTTP": url, "Interval": "1s"})
        assert ("passing", f"HTTP GET {url}: 200 OK Output: stuvwxyz") == wait_status(
            agent, "capped", "passing"
        )


def test_http_check_against_refused_port_is_critical_with_go_error_text(agent: AgentProcess) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    register_check(agent, {"Name": "refused", "HTTP": url, "Interval": "1s", "Status": "passing"})
    expected = f'Get "{url}": dial tcp 127.0.0.1:{port}: connect: connection refused'
    assert ("critical", expected) == wait_status(agent, "refused", "critical")


def test_http_check_follows_redirects_unless_disabled(agent: AgentProcess) -> None:
    with FlipHTTP(200, "landed") as final, FlipHTTP(302, "moved") as first:
        first.headers["Location"] = final.url("/final")
        url = first.url("/start")
        register_check(agent, {"Name": "follow", "HTTP": url, "Interval": "1s"})
        register_check(agent, {"Name": "nofollow", "HTTP": url, "Interval": "1s", "DisableRedirects": True})
        assert ("passing", f"HTTP GET {url}: 200 OK Output: landed") == wait_status(
            agent, "follow", "passing"
        )
        assert ("critical", f"HTTP GET {url}: 302 Found Output: moved") == wait_check(
            agent, "nofollow", with_output(f"HTTP GET {url}: 302 Found Output: moved")
        )


def test_http_check_slower_than_timeout_is_critical(agent: AgentProcess) -> None:
    with FlipHTTP(200, "late") as target:
        target.delay = 3.0
        url = target.url()
        register_check(
            agent, {"Name": "slow", "HTTP": url, "Interval": "1s", "Timeout": "300ms", "Status": "passing"}
        )
        seen = wait_status(agent, "slow", "critical")
        assert seen is not None
        assert "critical" == seen[0]
        assert seen[1].startswith(f'Get "{url}": '), seen[1]


def test_http_check_runs_never_overlap_and_interval_below_1s_is_raised(agent: AgentProcess) -> None:
    with FlipHTTP(200, "ok") as slow, FlipHTTP(200, "ok") as fast:
        slow.delay = 2.5
        register_check(agent, {"Name": "slow", "HTTP": slow.url(), "Interval": "1s", "Timeout": "10s"})
        register_check(agent, {"Name": "fast", "HTTP": fast.url(), "Interval": "100ms"})
        assert "100ms" == check_of(agent, "fast")["Interval"]  # type: ignore[index]
        poll(fast.count, lambda n: n >= 1)
        start = fast.count()
        time.sleep(3.0)
        runs = fast.count() - start
        poll(slow.count, lambda n: n >= 3, timeout=15)
        assert 1 == slow.max_in_flight
        assert 1 <= runs <= 5, f"{runs} runs in 3 s with Interval 100ms (the runner's minimum is 1 s)"


# -- TCP / UDP -----------------------------------------------------------------------------------


def test_tcp_check_passes_while_listening_and_goes_critical_when_closed(agent: AgentProcess) -> None:
    listener = TCPListener()
    try:
        register_check(agent, {"Name": "tcp", "TCP": listener.address, "Interval": "1s"})
        assert ("passing", f"TCP connect {listener.address}: Success") == wait_status(agent, "tcp", "passing")
        assert listener.accepted >= 1
    finally:
        listener.close()
    seen = wait_status(agent, "tcp", "critical")
    assert seen is not None
    assert "critical" == seen[0]
    assert seen[1].endswith("connect: connection refused"), seen[1]
    assert listener.address in seen[1]


def test_udp_check_passes_against_echo_and_goes_critical_when_port_closed(agent: AgentProcess) -> None:
    echo = UDPEcho()
    try:
        register_check(agent, {"Name": "udp", "UDP": echo.address, "Interval": "1s", "Timeout": "1s"})
        assert ("passing", f"UDP connect {echo.address}: Success") == wait_status(agent, "udp", "passing")
        assert echo.received >= 1
    finally:
        echo.close()
    seen = wait_status(agent, "udp", "critical")
    assert seen is not None
    assert "critical" == seen[0]
    assert "connection refused" in seen[1], seen[1]


# -- scripts -------------------------------------------------------------------------------------


def test_script_exit_codes_map_to_passing_warning_critical(make_agent: Any, tmp_path: Path) -> None:
    agent = scripts_agent(make_agent, tmp_path)
    ok = write_script(tmp_path, "ok.sh", "echo all good; exit 0")
    warn = write_script(tmp_path, "warn.sh", "echo degraded >&2; exit 1")
    crit = write_script(tmp_path, "crit.sh", "echo broken; exit 2")
    register_check(agent, {"Name": "s-ok", "Args": [ok], "Interval": "1s"})
    register_check(agent, {"Name": "s-warn", "ScriptArgs": [warn], "Interval": "1s"})
    register_check(agent, {"Name": "s-crit", "script_args": [crit], "Interval": "1s", "Status": "passing"})
    assert ("passing", "all good\n") == wait_status(agent, "s-ok", "passing")
    assert ("warning", "degraded\n") == wait_status(agent, "s-warn", "warning")
    assert ("critical", "broken\n") == wait_status(agent, "s-crit", "critical")
    assert ["script", "script", "script"] == [
        check_of(agent, c)["Type"] for c in ("s-ok", "s-warn", "s-crit")
    ]  # type: ignore[index]


def test_script_runs_without_a_shell(make_agent: Any, tmp_path: Path) -> None:
    agent = scripts_agent(make_agent, tmp_path)
    register_check(
        agent, {"Name": "noshell", "Args": ["/bin/echo", "$HOME", "a;b", "`id`"], "Interval": "1s"}
    )
    assert ("passing", "$HOME a;b `id`\n") == wait_status(agent, "noshell", "passing")


def test_script_that_outlives_its_timeout_is_critical_with_consul_text(
    make_agent: Any, tmp_path: Path
) -> None:
    agent = scripts_agent(make_agent, tmp_path)
    quiet = write_script(tmp_path, "quiet.sh", "sleep 5")
    chatty = write_script(tmp_path, "chatty.sh", "echo started; sleep 5")
    register_check(
        agent, {"Name": "quiet", "Args": [quiet], "Interval": "1s", "Timeout": "1s", "Status": "passing"}
    )
    register_check(agent, {"Name": "chatty", "Args": [chatty], "Interval": "1s", "Timeout": "1s"})
    assert ("critical", "Timed out (1s) running check") == wait_status(agent, "quiet", "critical")
    assert ("critical", "Timed out (1s) running check\n\nstarted\n") == wait_check(
        agent, "chatty", with_output("Timed out (1s) running check\n\nstarted\n")
    )


def test_script_output_over_the_cap_keeps_the_tail_with_captured_prefix(
    make_agent: Any, tmp_path: Path
) -> None:
    agent = scripts_agent(make_agent, tmp_path, check_output_max_size=16)
    text = "0123456789abcdefghijklmnopqrstuvwxyz0123"  # 40 bytes
    loud = write_script(tmp_path, "loud.sh", f"printf '%s' '{text}'")
    register_check(agent, {"Name": "loud", "Args": [loud], "Interval": "1s"})
    assert ("passing", f"Captured 16 of 40 bytes\n...\n{text[-16:]}") == wait_status(agent, "loud", "passing")


def test_script_that_cannot_start_is_critical(make_agent: Any, tmp_path: Path) -> None:
    agent = scripts_agent(make_agent, tmp_path)
    missing = str(tmp_path / "no-such-script")
    register_check(agent, {"Name": "missing", "Args": [missing], "Interval": "1s", "Status": "passing"})
    seen = wait_status(agent, "missing", "critical")
    assert seen is not None
    assert ("critical", True) == (seen[0], seen[1] != "")


# -- gRPC ------------------------------------------------------------------------------------------


def test_grpc_check_follows_serving_and_not_serving(agent: AgentProcess) -> None:
    with GrpcHealth() as server:
        server.set("", True)
        server.set("billing", True)
        register_check(agent, {"Name": "grpc", "GRPC": server.address, "GRPCUseTLS": False, "Interval": "1s"})
        target = f"{server.address}/billing"
        register_check(agent, {"Name": "grpc-svc", "GRPC": target, "Interval": "1s"})
        assert ("passing", f"gRPC check {server.address}: success") == wait_status(agent, "grpc", "passing")
        assert ("passing", f"gRPC check {target}: success") == wait_status(agent, "grpc-svc", "passing")
        assert "grpc" == check_of(agent, "grpc")["Type"]  # type: ignore[index]

        server.set("billing", False)
        seen = wait_status(agent, "grpc-svc", "critical")
        assert seen is not None
        assert "critical" == seen[0]
        assert "NOT_SERVING" in seen[1], seen[1]
        assert "passing" == status_of(agent, "grpc")[0]  # type: ignore[index]

        server.set("billing", True)
        assert ("passing", f"gRPC check {target}: success") == wait_status(agent, "grpc-svc", "passing")


def test_grpc_check_for_unknown_service_or_stopped_server_is_critical(agent: AgentProcess) -> None:
    server = GrpcHealth()
    try:
        server.set("", True)
        register_check(agent, {"Name": "grpc", "GRPC": server.address, "Interval": "1s", "Timeout": "2s"})
        register_check(
            agent, {"Name": "nosvc", "GRPC": f"{server.address}/nope", "Interval": "1s", "Status": "passing"}
        )
        wait_status(agent, "grpc", "passing")
        seen = wait_status(agent, "nosvc", "critical")
        assert seen is not None
        assert ("critical", True) == (seen[0], seen[1] != "")
    finally:
        server.close()
    assert "critical" == wait_status(agent, "grpc", "critical")[0]  # type: ignore[index]


# -- HTTP/2 ping ---------------------------------------------------------------------------------


def test_h2ping_check_passes_against_h2c_server_and_fails_when_it_stops(agent: AgentProcess) -> None:
    server = H2Server()
    try:
        register_check(
            agent,
            {
                "Name": "h2",
                "H2PING": server.address,
                "H2PingUseTLS": False,
                "Interval": "1s",
                "Timeout": "2s",
            },
        )
        assert ("passing", "HTTP2 ping was successful") == wait_status(agent, "h2", "passing")
        assert server.pings >= 1
        assert "h2ping" == check_of(agent, "h2")["Type"]  # type: ignore[index]
    finally:
        server.close()
    seen = wait_status(agent, "h2", "critical")
    assert seen is not None
    assert "critical" == seen[0]
    assert seen[1].startswith(("Failed to dial to", "HTTP2 ping failed")), seen[1]


# -- alias -----------------------------------------------------------------------------------------


def test_alias_check_follows_the_aliased_service_ttl_check(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "db", "Check": {"TTL": "60s"}})
    register_service(agent, {"Name": "web", "Check": {"CheckID": "web-alias", "AliasService": "db"}})
    assert "alias" == check_of(agent, "web-alias")["Type"]  # type: ignore[index]
    db_check = "Service 'db' check"
    assert ("critical", f'Aliased check "{db_check}" failing') == wait_check(
        agent, "web-alias", with_output(f'Aliased check "{db_check}" failing')
    )

    assert 200 == ttl(agent, "pass", "service:db", "fine").status
    assert ("passing", "All checks passing.") == wait_status(agent, "web-alias", "passing")

    assert 200 == ttl(agent, "warn", "service:db", "slow").status
    assert ("warning", f'Aliased check "{db_check}" failing') == wait_status(agent, "web-alias", "warning")

    assert 200 == ttl(agent, "fail", "service:db", "down").status
    assert ("critical", f'Aliased check "{db_check}" failing') == wait_status(agent, "web-alias", "critical")

    put_ok(agent, "/v1/agent/service/deregister/db")
    assert ("critical", "Service db could not be found on node ") == wait_check(
        agent, "web-alias", with_output("Service db could not be found on node ")
    )


def test_alias_of_service_without_checks_passes_until_a_node_check_fails(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "cache"})
    register_service(agent, {"Name": "front", "Check": {"CheckID": "front-alias", "AliasService": "cache"}})
    assert ("passing", "No checks found.") == wait_status(agent, "front-alias", "passing")

    register_check(agent, {"Name": "node-ttl", "TTL": "60s", "Status": "passing"})
    assert 200 == ttl(agent, "fail", "node-ttl", "disk full").status
    assert ("critical", 'Aliased check "node-ttl" failing') == wait_status(agent, "front-alias", "critical")


# -- TTL -------------------------------------------------------------------------------------------


def test_ttl_check_of_100ms_expires_to_critical_with_ttl_expired(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "short", "TTL": "100ms", "Status": "passing"})
    assert ("critical", "TTL expired") == wait_check(agent, "short", with_output("TTL expired"), timeout=5)


def test_ttl_expiry_carries_the_last_output(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "short", "TTL": "100ms"})
    assert 200 == ttl(agent, "pass", "short", "last words").status
    expected = "TTL expired (last output before timeout follows): last words"
    assert ("critical", expected) == wait_check(agent, "short", with_output(expected), timeout=5)


def test_ttl_service_check_expires_and_health_follows(agent: AgentProcess) -> None:
    register_service(agent, {"Name": "api", "Check": {"TTL": "100ms", "Status": "passing"}})
    assert ("critical", "TTL expired") == wait_check(
        agent, "service:api", with_output("TTL expired"), timeout=5
    )
    assert 503 == agent.get("/v1/agent/health/service/id/api").status


def test_ttl_update_restarts_the_timer_at_the_full_ttl(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "beat", "TTL": "3s"})
    assert 200 == ttl(agent, "pass", "beat", "one").status
    time.sleep(2.0)
    assert 200 == ttl(agent, "pass", "beat", "two").status
    time.sleep(2.0)  # 4 s after the first pass, 2 s after the second
    assert ("passing", "two") == status_of(agent, "beat")
    expected = "TTL expired (last output before timeout follows): two"
    assert ("critical", expected) == wait_check(agent, "beat", with_output(expected), timeout=10)


def test_ttl_timer_rearms_after_expiry(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "again", "TTL": "200ms"})
    assert ("critical", "TTL expired") == wait_check(agent, "again", with_output("TTL expired"), timeout=5)
    assert 200 == ttl(agent, "warn", "again", "back").status
    expected = "TTL expired (last output before timeout follows): back"
    assert ("critical", expected) == wait_check(agent, "again", with_output(expected), timeout=5)


def test_ttl_output_over_agent_cap_keeps_the_head_with_captured_suffix(
    make_agent: Any, tmp_path: Path
) -> None:
    agent = make_agent("-config-file", write_config(tmp_path, check_output_max_size=10)).start()
    register_check(agent, {"Name": "t", "TTL": "60s"})
    register_check(agent, {"Name": "t-big", "TTL": "60s", "OutputMaxSize": 100})
    assert 200 == ttl(agent, "pass", "t", "abcdefghijKLMNOP").status
    assert 200 == ttl(agent, "warn", "t-big", "abcdefghijKLMNOP").status
    assert ("passing", "abcdefghij ... (captured 10 of 16 bytes)") == status_of(agent, "t")
    assert ("warning", "abcdefghij ... (captured 10 of 16 bytes)") == status_of(agent, "t-big")


def test_ttl_output_per_check_cap_smaller_than_agent_cap_wins(agent: AgentProcess) -> None:
    register_check(agent, {"Name": "t", "TTL": "60s", "OutputMaxSize": 5})
    put_ok(agent, "/v1/agent/check/update/t", {"Status": "warning", "Output": "abcdefghijKLMNOP"})
    assert ("warning", "abcde ... (captured 5 of 16 bytes)") == status_of(agent, "t")
    assert 200 == ttl(agent, "pass", "t", "short").status
    assert ("passing", "short") == status_of(agent, "t")


# -- thresholds ------------------------------------------------------------------------------------


def test_failures_below_failures_before_critical_leave_the_check_passing(agent: AgentProcess) -> None:
    with FlipHTTP(200, "ok") as target:
        register_check(
            agent, {"Name": "fbc", "HTTP": target.url(), "Interval": "1s", "FailuresBeforeCritical": 3}
        )
        wait_status(agent, "fbc", "passing")
        start = target.count()
        target.serve_next(500, 500)
        seen: set[str] = set()

        def sample() -> int:
            seen.add(status_of(agent, "fbc")[0])  # type: ignore[index]
            return target.count()

        poll(sample, lambda n: n >= start + 4, timeout=15)  # two failures, then two successes
        time.sleep(0.3)
        seen.add(status_of(agent, "fbc")[0])  # type: ignore[index]
        assert {"passing"} == seen
        assert 2 == target.served[start:].count(500)

        target.set(500, "down")
        flip = target.count()
        final = wait_status(agent, "fbc", "critical")
        failures = target.count() - flip
        assert ("critical", f"HTTP GET {target.url()}: 500 Internal Server Error Output: down") == final
        assert failures >= 3, f"critical after {failures} failures with FailuresBeforeCritical=3"


def test_failures_before_warning_reports_warning_with_the_failure_output(agent: AgentProcess) -> None:
    with FlipHTTP(200, "ok") as target:
        register_check(
            agent,
            {
                "Name": "fbw",
                "HTTP": target.url(),
                "Interval": "1s",
                "FailuresBeforeWarning": 1,
                "FailuresBeforeCritical": 3,
            },
        )
        wait_status(agent, "fbw", "passing")
        target.set(500, "boom")
        expected = f"HTTP GET {target.url()}: 500 Internal Server Error Output: boom"
        assert ("warning", expected) == wait_status(agent, "fbw", "warning")
        assert ("critical", expected) == wait_status(agent, "fbw", "critical")


def test_success_before_passing_needs_consecutive_successes(agent: AgentProcess) -> None:
    with FlipHTTP(500, "down") as target:
        register_check(
            agent, {"Name": "sbp", "HTTP": target.url(), "Interval": "1s", "SuccessBeforePassing": 2}
        )
        wait_check(agent, "sbp", lambda s: s is not None and s[1] != "")
        start = target.count()
        target.serve_next(200)  # one success, then failures again
        seen: set[str] = set()

        def sample() -> int:
            seen.add(status_of(agent, "sbp")[0])  # type: ignore[index]
            return target.count()

        poll(sample, lambda n: n >= start + 3, timeout=15)
        assert {"critical"} == seen
        assert 1 == target.served[start:].count(200)

        target.set(200, "up")
        flip = target.count()
        assert ("passing", f"HTTP GET {target.url()}: 200 OK Output: up") == wait_status(
            agent, "sbp", "passing"
        )
        assert target.count() - flip >= 2


def test_first_result_is_applied_at_once_whatever_the_thresholds(agent: AgentProcess) -> None:
    with FlipHTTP(500, "down") as target:
        register_check(
            agent,
            {
                "Name": "first",
                "HTTP": target.url(),
                "Interval": "3s",
                "FailuresBeforeCritical": 3,
                "Status": "passing",
            },
        )
        seen = wait_check(agent, "first", lambda s: s is not None and s[0] == "critical", timeout=10)
        runs = target.count()
        assert "critical" == seen[0]  # type: ignore[index]
        assert 1 == runs, f"critical only after {runs} runs"
