"""Check targets that misbehave, and a TTL flood: an HTTP target that accepts and never answers, a TCP
target whose handshake never completes, a script that forks a child that never exits, thousands of TTL
updates a second. Checks go critical on their timeout, nothing is left running, the agent keeps serving."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.agentproc import AgentProcess
from tests.e2e.targets import poll, register_check, status_of, write_config

TIMEOUT_OUTPUT = "timeout"


class Silent:
    """Accepts connections and never answers: every accepted socket is held open until close()."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self) -> None:
        while self.open:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.open = False
        self.sock.close()
        for conn in self.held:
            conn.close()


def no_handshake() -> tuple[socket.socket, list[socket.socket]]:
    """A listener that never accepts, its one-slot backlog already full: a new SYN is dropped, so a
    connect hangs until the checker gives up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(server.getsockname())
        fillers.append(filler)
    return server, fillers


def served_promptly(agent: AgentProcess, seconds: float = 2.0) -> float:
    """The slowest of the reads made for `seconds`."""
    worst, deadline = 0.0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        assert 200 == agent.get("/v1/agent/checks", timeout=10).status
        worst = max(worst, time.monotonic() - started)
    return worst


@pytest.fixture
def silent() -> Iterator[Silent]:
    target = Silent()
    yield target
    target.close()


def test_hanging_http_and_tcp_targets_go_critical_on_timeout(agent: AgentProcess, silent: Silent) -> None:
    server, fillers = no_handshake()
    try:
        host, port = server.getsockname()
        timing = {"Interval": "1s", "Timeout": "300ms"}
        register_check(agent, {"ID": "http-hang", "Name": "h", "HTTP": f"http://{silent.address}/", **timing})
        register_check(agent, {"ID": "tcp-hang", "Name": "t", "TCP": f"{host}:{port}", **timing})
        register_check(agent, {"ID": "tcp-silent", "Name": "s", "TCP": silent.address, **timing})
        for check_id in ("http-hang", "tcp-hang"):
            seen = poll(lambda c=check_id: status_of(agent, c), lambda s: s is not None and s[1] != "")
            assert seen is not None
            assert "critical" == seen[0]
            assert TIMEOUT_OUTPUT in seen[1].lower(), seen[1]
        # Consul's TCP check only connects: a target that accepts and stays silent is passing.
        assert "passing" == poll(lambda: status_of(agent, "tcp-silent"), lambda s: s[0] == "passing")[0]
        assert served_promptly(agent) < 1.0
        runner = agent.get("/status/v1/services/check-runner").json()
        assert 2 <= runner["status"]["checks"]["critical"]
    finally:
        server.close()
        for filler in fillers:
            filler.close()


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_script_whose_child_never_exits_is_killed_with_its_group(
    make_agent: type[AgentProcess], tmp_path: Path
) -> None:
    config = write_config(tmp_path, enable_script_checks=True)
    agent = make_agent("-config-file", config).start()
    marker = str(random.randrange(10**8, 10**9))  # the sleeps' argument: unique to this run
    script = f"sleep {marker} & sleep {marker}"
    register_check(
        agent, {"ID": "fork", "Name": "f", "Args": ["sh", "-c", script], "Interval": "1s", "Timeout": "500ms"}
    )
    seen = poll(lambda: status_of(agent, "fork"), lambda s: s is not None and s[1] != "")
    assert seen is not None
    assert ("critical", "Timed out (500ms) running check") == seen
    most, deadline = 0, time.monotonic() + 3.0
    while time.monotonic() < deadline:  # runs every second: without the group kill, sleeps pile up
        most = max(most, len(processes_with(marker)))
        time.sleep(0.1)
    assert 0 < most <= 4  # one run's two sleeps, and the next run's while the last is being killed
    assert 200 == agent.put("/v1/agent/check/deregister/fork").status
    assert [] == poll(lambda: processes_with(marker), lambda found: not found, timeout=10)
    assert served_promptly(agent, 0.5) < 1.0


async def flood(url: str, check_ids: list[str], seconds: float, workers: int = 32) -> tuple[int, list[str]]:
    ok, errors = 0, []
    stop = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=workers)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(n: int) -> None:
            nonlocal ok
            i = n
            while time.monotonic() < stop:
                check_id = check_ids[i % len(check_ids)]
                i += 1
                async with session.put(f"{url}/v1/agent/check/pass/{check_id}?note=n{i}") as response:
                    await response.read()
                    if response.status == 200:
                        ok += 1
                    else:
                        errors.append(f"{response.status} {await response.text()}")

        await asyncio.gather(*(worker(n) for n in range(workers)))
    return ok, errors


def test_a_ttl_flood_is_absorbed_while_reads_stay_prompt(agent: AgentProcess) -> None:
    check_ids = [f"ttl-{n}" for n in range(50)]
    for check_id in check_ids:
        register_check(agent, {"ID": check_id, "Name": check_id, "TTL": "10m"})
    worst: list[float] = []
    reader = threading.Thread(target=lambda: worst.append(served_promptly(agent, 4.0)), daemon=True)
    reader.start()
    started = time.monotonic()
    ok, errors = asyncio.run(flood(agent.url, check_ids, seconds=4.0))
    rate = ok / (time.monotonic() - started)
    reader.join(timeout=30)
    print(
        f"TTL flood: {ok} updates, {rate:.0f}/s, {len(errors)} errors, slowest read {worst[0] * 1000:.0f} ms"
    )
    assert [] == errors[:5]
    assert rate > 300  # thousands a second on an idle machine; generous for a loaded 2-core CI
    assert worst[0] < 2.0
    statuses = {c["CheckID"]: c["Status"] for c in agent.get("/v1/agent/checks").json().values()}
    assert {"passing"} == {statuses[c] for c in check_ids}
    assert 200 == agent.get("/status/v1/simple").status
    assert os.path.isdir(str(agent.data_dir))
