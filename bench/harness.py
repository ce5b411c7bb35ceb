"""Benchmark plumbing: a real agent, nginx serving the same bytes, and wrk to load both."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.agentproc import AgentProcess  # noqa: E402 - after the path is set
from tests.e2e.targets import free_port  # noqa: E402


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str,
    *,
    seconds: float = 10,
    connections: int = 50,
    threads: int = 1,
    script: Path | None = None,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """wrk's figures for `url`; `script` is a Lua file that shapes each request (method, path, body)."""
    extra = ["-s", str(script)] if script is not None else []
    for name, value in (headers or {}).items():
        extra += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", *extra, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"\s+(\d+)%\s+([\d.]+\w+)", out))

    def pct(key: str) -> float:
        match = re.match(r"([\d.]+)(\w+)", lat[key])
        assert match is not None
        return _ms(match.group(1), match.group(2))

    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return WrkResult(rps, pct("50"), pct("99"), errors)


@contextlib.contextmanager
def nginx_serving(files: dict[str, bytes]) -> Iterator[str]:
    """nginx with one worker (as the agent has one process) serving `files` as application/json."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix="muster-bench-nginx-") as tmp:
        # nginx's worker drops to `nobody` when started as root: it must be able to read the files, or
        # every answer is a 404 (which wrk counts as a non-2xx error).
        Path(tmp).chmod(0o755)
        root = Path(tmp) / "root"
        for path, body in files.items():
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
        port = free_port()
        conf = Path(tmp) / "nginx.conf"
        conf.write_text(
            f"""worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/json;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  server {{ listen 127.0.0.1:{port}; root {root}; location / {{ try_files $uri =404; }} }}
}}
"""
        )
        proc = subprocess.Popen([binary, "-c", str(conf), "-p", tmp], stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def rss_mib(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / (1024 * 1024)


def start_agent(*args: str) -> AgentProcess:
    return AgentProcess(*args).start()


@dataclass
class Row:
    """One figure of the suite's table, beside its comparison measured in the same run."""

    figure: str
    value: float
    unit: str
    detail: str = ""  # e.g. "p50 1.2 / p99 4.0 ms"
    versus: str = ""  # what it is compared with ("nginx, same bytes", "etcd 3.4")
    versus_value: float | None = None
    versus_detail: str = ""
    goal: str = ""
    met: bool | None = None
    key: str = ""  # a stable name for history.jsonl

    @property
    def ratio(self) -> float | None:
        if self.versus_value is None or self.versus_value == 0:
            return None
        return self.value / self.versus_value


def latency_detail(result: WrkResult) -> str:
    return f"p50 {result.p50_ms:.2f} / p99 {result.p99_ms:.2f} ms"
