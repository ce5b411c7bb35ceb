"""End-to-end: a probe keeps at most its output cap, whatever the target sends (issue 13, item 3).

Script checks read their pipe in chunks into a ring of the last `cap` bytes (Consul's circbuf), and
HTTP checks do the same with the response body; the agent's RSS is sampled while a script prints
100 MB, while `yes` runs into its timeout, and while an HTTP target streams an endless body.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import put_ok, register_check, status_of, write_config, write_script

MIB = 1024 * 1024
CAP = 4096  # the default output cap (Consul's DefaultBufSize)
pytestmark = pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")


def rss(agent: AgentProcess) -> int:
    assert agent.proc is not None
    return int(psutil.Process(agent.proc.pid).memory_info().rss)


def peak_rss_until(agent: AgentProcess, done: Callable[[], bool], timeout: float) -> int:
    """The highest RSS sampled every 20 ms until `done()` or the timeout."""
    peak = rss(agent)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done():
        peak = max(peak, rss(agent))
        time.sleep(0.02)
    return max(peak, rss(agent))


def output_of(agent: AgentProcess, check_id: str) -> str | None:
    seen = status_of(agent, check_id)
    return seen[1] if seen is not None and seen[1] else None


def report(name: str, before: int, peak: int, after: int) -> None:
    print(f"{name}: RSS {before / MIB:.1f} MiB, peak {peak / MIB:.1f}, after {after / MIB:.1f}")


@pytest.fixture
def scripts_agent(make_agent: Any, tmp_path: Path) -> AgentProcess:
    config = write_config(tmp_path, enable_script_checks=True)
    agent: AgentProcess = make_agent("-config-file", config).start()
    return agent


def test_script_printing_100_mb_keeps_the_tail_in_bounded_memory(
    scripts_agent: AgentProcess, tmp_path: Path
) -> None:
    agent = scripts_agent
    loud = write_script(tmp_path, "loud.sh", "head -c 100000000 /dev/zero | tr '\\0' 'x'; printf END")
    before = rss(agent)
    register_check(agent, {"Name": "loud", "Args": [loud], "Interval": "5s", "Timeout": "20s"})
    peak = peak_rss_until(agent, lambda: output_of(agent, "loud") is not None, 30)
    after = rss(agent)
    report("script 100 MB", before, peak, after)
    expected = f"Captured {CAP} of 100000003 bytes\n...\n" + "x" * (CAP - 3) + "END"
    assert (("passing", expected), True) == (status_of(agent, "loud"), peak - before < 24 * MIB), (
        f"peak +{(peak - before) / MIB:.1f} MiB"
    )


def _descendants_named(agent: AgentProcess, name: str) -> list[int]:
    assert agent.proc is not None
    children = psutil.Process(agent.proc.pid).children(recursive=True)
    return [child.pid for child in children if child.name() == name]


def test_yes_until_timeout_is_killed_and_keeps_the_tail_in_bounded_memory(
    scripts_agent: AgentProcess, tmp_path: Path
) -> None:
    agent = scripts_agent
    endless = write_script(tmp_path, "endless.sh", "yes")  # a child of the script: the group is killed
    before = rss(agent)
    register_check(agent, {"Name": "yes", "Args": [endless], "Interval": "3s", "Timeout": "2s"})
    peak = peak_rss_until(agent, lambda: output_of(agent, "yes") is not None, 15)
    seen = status_of(agent, "yes") or ("", "")
    put_ok(agent, "/v1/agent/check/deregister/yes")
    after = rss(agent)
    report("yes for 2 s", before, peak, after)
    head, _, tail = seen[1].partition("\n...\n")
    captured = head.startswith(f"Timed out (2s) running check\n\nCaptured {CAP} of ")
    left = _descendants_named(agent, "yes")
    assert ("critical", True, "y\n" * (CAP // 2), [], True) == (
        seen[0],
        captured,
        tail,
        left,
        peak - before < 24 * MIB,
    ), f"peak +{(peak - before) / MIB:.1f} MiB"


class EndlessHTTP:
    """Answers every request with 200 and a chunked body that never ends (1 MiB chunks of `z`)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sent = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/stream"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        chunk = b"%x\r\n%s\r\n" % (MIB, b"z" * MIB)
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                while True:
                    conn.sendall(chunk)
                    self.sent += MIB
            except OSError:
                return  # the probe gave up at its timeout

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def endless_http() -> Iterator[EndlessHTTP]:
    server = EndlessHTTP()
    yield server
    server.close()


def test_http_body_streamed_without_end_keeps_the_tail_in_bounded_memory(
    agent: AgentProcess, endless_http: EndlessHTTP
) -> None:
    url = endless_http.url()
    before = rss(agent)
    register_check(agent, {"Name": "stream", "HTTP": url, "Interval": "5s", "Timeout": "3s"})
    peak = peak_rss_until(agent, lambda: output_of(agent, "stream") is not None, 20)
    after = rss(agent)
    report(f"HTTP endless body ({endless_http.sent // MIB} MiB sent)", before, peak, after)
    expected = ("passing", f"HTTP GET {url}: 200 OK Output: " + "z" * CAP)
    assert (expected, True, True) == (
        status_of(agent, "stream"),
        endless_http.sent > 64 * MIB,
        peak - before < 24 * MIB,
    ), f"peak +{(peak - before) / MIB:.1f} MiB"
