"""A real `muster agent` process on a free port, for end-to-end tests and benchmarks."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

STARTUP_TIMEOUT = 30.0


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class AgentProcess:
    """Start with `start()`; `kill9()` and `start()` again to test durability."""

    def __init__(
        self, *args: str, data_dir: Path | None = None, dev: bool = False, env: dict[str, str] | None = None
    ):
        self.extra_args = list(args)
        self.dev = dev
        self._tmp = None if data_dir or dev else tempfile.TemporaryDirectory(prefix="muster-test-")
        self.data_dir = data_dir or (Path(self._tmp.name) if self._tmp else None)
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.dns_port = 0  # -1 when the agent runs without DNS
        self.stderr_lines: list[str] = []
        self.startup_timeout = STARTUP_TIMEOUT

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "muster",
            "agent",
            "-http-port",
            "0",
            "-dns-port",  # a free port: the default 8600 would collide between parallel tests
            "0",
            "-node",
            "test-node",
            "-drain-grace-seconds",  # no drain on SIGTERM; a test that wants one passes its own value
            "0",
            *self.extra_args,
        ]
        if self.dev:
            cmd.append("-dev")
        else:
            cmd += ["-data-dir", str(self.data_dir)]
        return cmd

    def start(self) -> AgentProcess:
        env = dict(os.environ, **(self.env or {}))
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        threading.Thread(target=self._drain_stderr, args=(self.proc,), daemon=True).start()
        # stdout is read by a thread, so the deadline holds even when the agent prints nothing at all.
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(self.proc, lines), daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout
        line = self._next_line(lines, deadline)
        if not line.startswith("HTTP API listening on "):
            self.proc.wait(timeout=5)
            raise RuntimeError(f"agent did not start: {line!r} {''.join(self.stderr_lines)}")
        self.port = int(line.rsplit(":", 1)[1])
        self.dns_port = -1
        if self._dns_enabled():
            while not line.startswith("DNS listening on "):  # after the HTTP(S) lines, in one write
                line = self._next_line(lines, deadline)
                if not line:
                    raise RuntimeError(f"agent printed no DNS line: {''.join(self.stderr_lines)}")
            self.dns_port = int(line.split()[3].rsplit(":", 1)[1])  # DNS listening on HOST:PORT (udp, tcp)
        return self

    def _next_line(self, lines: queue.Queue[str], deadline: float) -> str:
        try:
            return lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=10)
            self._close_pipes()
            raise RuntimeError(
                f"agent did not start within {self.startup_timeout} s: {''.join(self.stderr_lines)}"
            ) from None

    @staticmethod
    def _read_stdout(proc: subprocess.Popen[bytes], lines: queue.Queue[str]) -> None:
        assert proc.stdout is not None
        with contextlib.suppress(ValueError, OSError):  # closed once the process is gone
            for raw in proc.stdout:
                lines.put(raw.decode(errors="replace"))
        lines.put("")  # end of output

    def _dns_enabled(self) -> bool:
        cmd = self.command()
        ports = [cmd[i + 1] for i, arg in enumerate(cmd[:-1]) if arg in ("-dns-port", "--dns-port")]
        return not ports or ports[-1] != "-1"

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        with contextlib.suppress(ValueError, OSError):  # the pipe is closed once the process is gone
            for raw in proc.stderr:
                self.stderr_lines.append(raw.decode(errors="replace"))

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self.proc is not None:
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError, ValueError):
                        pipe.close()

    def stop(self, timeout: float = 15.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_pipes()
        return self.proc.returncode

    def close(self) -> None:
        self.stop()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if body is not None and not isinstance(body, bytes | str):
                body = json.dumps(body)
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("PUT", path, body, **kwargs)


def q(text: str) -> str:
    """Percent-encode an ID for a path, as python-consul does (':' and '/' kept raw)."""
    return quote(text, safe="")
