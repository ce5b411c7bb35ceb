"""End-to-end: every way `muster agent` can fail to start ends with Consul's one line
`==> Error starting agent: ...` and exit 1, never a traceback (issue 13, items 7 and 8): ports out of
range in flags and files, bad etcd endpoints and recursors, a port in use, a data dir on a full disk;
and the other CLI commands print one `Error:` line for any answer they cannot use (a 301, not JSON)."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import AgentProcess
from tests.reliability.disks import small_tmpfs

PREFIX = "==> Error starting agent: "
PORT_RULE = "must be -1 (off), 0 (a free port) or a port from 1 to 65535, not"


def start_fails(*args: str, dev: bool = True) -> tuple[int, str]:
    """Run an agent that must not start: (exit code, stderr)."""
    cmd = [sys.executable, "-m", "muster", "agent", "-node", "n", "-http-port", "0", "-dns-port", "0", *args]
    if dev:
        cmd.append("-dev")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stderr


def error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith(PREFIX)]
    assert 1 == len(lines), stderr
    return lines[0][len(PREFIX) :]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-http-port", "70000"), f"-http-port {PORT_RULE} 70000"),
        (("-http-port", "-5"), f"-http-port {PORT_RULE} -5"),
        (("-dns-port", "70000"), f"-dns-port {PORT_RULE} 70000"),
        (("-https-port", "65536"), f"-https-port {PORT_RULE} 65536"),
    ],
)
def test_a_port_flag_out_of_range_stops_the_agent(args: tuple[str, ...], expected: str) -> None:
    code, stderr = start_fails(*args)
    assert (1, expected) == (code, error_line(stderr))


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        ('{"http": 70000}', f'"ports.http" {PORT_RULE} 70000'),
        ('{"dns": 99999999999}', f'"ports.dns" {PORT_RULE} 99999999999'),
        ('{"https": -2}', f'"ports.https" {PORT_RULE} -2'),
    ],
)
def test_a_config_file_port_out_of_range_stops_the_agent(tmp_path: Path, ports: str, expected: str) -> None:
    config = tmp_path / "ports.json"
    config.write_text(f'{{"ports": {ports}}}')
    cmd = [sys.executable, "-m", "muster", "agent", "-node", "n", "-dev", "-config-file", str(config)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert (1, expected) == (done.returncode, error_line(done.stderr))


@pytest.mark.parametrize(
    ("endpoint", "why"),
    [
        ("http://[::1", " (Invalid IPv6 URL)"),
        ("http://etcd:port", " (Port could not be cast to integer value as 'port')"),
        ("http://etcd:99999", " (Port out of range 0-65535)"),
        ("http://etcd:0", " (port 0 cannot be dialled)"),
        ("ftp://etcd", ""),
    ],
)
def test_a_bad_etcd_endpoint_stops_the_agent_with_one_line(endpoint: str, why: str) -> None:
    code, stderr = start_fails("-catalog", "etcd", "-etcd-endpoint", endpoint)
    expected = f"etcd endpoint {endpoint!r}: use http://host:port or https://host:port{why}"
    assert (1, expected) == (code, error_line(stderr))


def test_a_recursor_port_out_of_range_stops_the_agent() -> None:
    code, stderr = start_fails("-recursor", "1.1.1.1:70000")
    assert (1, "\"recursors\": '1.1.1.1:70000': the port must be from 1 to 65535, not 70000") == (
        code,
        error_line(stderr),
    )


def test_a_config_file_service_with_a_port_above_65535_stops_the_agent(tmp_path: Path) -> None:
    config = tmp_path / "svc.json"
    config.write_text('{"service": {"name": "web", "port": 70000}}')
    code, stderr = start_fails("-config-file", str(config))
    expected = (
        f"{config}: invalid service definition: Invalid Port: 70000 is not a port (the largest is 65535)"
    )
    assert (1, expected) == (code, error_line(stderr))


def test_a_config_file_check_id_no_url_can_reach_stops_the_agent(tmp_path: Path) -> None:
    config = tmp_path / "check.json"
    config.write_text('{"check": {"id": "../x", "name": "c", "ttl": "10s"}}')
    code, stderr = start_fails("-config-file", str(config))
    expected = (
        f'{config}: invalid check definition: Invalid check ID "../x": a URL path cannot carry it '
        '(no leading "/", no "//", no "." or ".." between slashes)'
    )
    assert (1, expected) == (code, error_line(stderr))


def test_an_http_port_in_use_stops_the_agent() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, stderr = start_fails("-http-port", str(port))
    expected = f"cannot listen on 127.0.0.1:{port}: Address already in use"
    assert (1, expected) == (code, error_line(stderr))


def fill(disk: Path) -> None:
    """Write until the disk is full: dd stops with ENOSPC."""
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={disk / 'filler'}", "bs=64k"], capture_output=True, check=False
    )
    assert 0 == shutil.disk_usage(disk).free


def test_a_fresh_data_dir_on_a_full_disk_stops_the_agent(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", "1m") as disk:
        fill(disk)
        code, stderr = start_fails("-data-dir", str(disk / "data"), dev=False)
    expected = f"{disk / 'data'}: cannot open the store: database or disk is full"
    assert (1, expected) == (code, error_line(stderr))


def test_a_data_dir_that_is_a_file_stops_the_agent(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    code, stderr = start_fails("-data-dir", str(tmp_path / "file"), dev=False)
    assert (1, f"{tmp_path / 'file'}: cannot use data dir: File exists") == (code, error_line(stderr))


# -- the other commands: one Error line for any answer -------------------------------------------------


def cli(*args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "muster", *args], capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def dev_agent() -> Iterator[AgentProcess]:
    proc = AgentProcess(dev=True).start()
    yield proc
    proc.close()


def test_cli_deregister_of_an_id_the_path_cleaning_rewrites_is_one_error_line(
    dev_agent: AgentProcess,
) -> None:
    code, stdout, stderr = cli("services", "deregister", "-http-addr", dev_agent.address, "../../evil")
    expected = (
        "Error: the agent answered 301 (to /v1/agent/evil) to PUT "
        '/v1/agent/service/deregister/..%2F..%2Fevil: an ID with "//", or "." or ".." between slashes, '
        "cannot be addressed in a URL path\n"
    )
    assert (1, "", expected) == (code, stdout, stderr)


def test_cli_register_of_an_unreachable_id_is_one_error_line(dev_agent: AgentProcess) -> None:
    code, stdout, stderr = cli(
        "services", "register", "-http-addr", dev_agent.address, "-name", "w", "-id", "a/../b"
    )
    expected = (
        'Error: the agent answered 400 to PUT /v1/agent/service/register: Invalid service ID "a/../b": '
        'a URL path cannot carry it (no leading "/", no "//", no "." or ".." between slashes)\n'
    )
    assert (1, "", expected) == (code, stdout, stderr)


class _NotAnAgent(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>not an agent</html>" if "services" in self.path else b'["a", "list"]'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_an_agent() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotAnAgent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_cli_prints_one_error_line_for_an_answer_that_is_not_json(not_an_agent: str) -> None:
    code, stdout, stderr = cli("services", "list", "-http-addr", not_an_agent)
    assert (1, "", "Error: the agent's answer (200) is not JSON: <html>not an agent</html>\n") == (
        code,
        stdout,
        stderr,
    )


def test_cli_prints_one_error_line_for_json_of_another_shape(not_an_agent: str) -> None:
    code, stdout, stderr = cli("catalog", "nodes", "-http-addr", not_an_agent)
    expected = (
        "Error: the agent's answer is not what this command expects "
        "(AttributeError: 'str' object has no attribute 'get')\n"
    )
    assert (1, "", expected) == (code, stdout, stderr)
