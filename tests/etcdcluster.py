"""A real etcd cluster (Debian's etcd-server) on free loopback ports, each in its own temp dir, for the
fleet-catalog tests and benchmarks. Members can be killed and restarted one by one."""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.targets import free_port

# etcd must be told its ports (it advertises them), so they are picked before it binds them. Picked below
# the kernel's ephemeral range (32768-60999), where every port-0 bind and outgoing connection lands, and
# at random, so another cluster of a parallel test worker rarely picks the same; a clash is retried.
_PORTS = range(20000, 32000)
_START_ATTEMPTS = 3

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
STARTUP_TIMEOUT = 30.0


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(default_factory=Path)
    scheme: str = "http"

    @property
    def client_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"


@dataclass(frozen=True)
class ClientTLS:
    """etcd serves clients over TLS and requires a client certificate signed by `ca`."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


class EtcdCluster:
    def __init__(
        self, size: int = 1, *, extra_args: tuple[str, ...] = (), tls: ClientTLS | None = None
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="muster-etcd-")
        root = Path(self._tmp.name)
        self.tls = tls
        self.extra_args = extra_args
        if tls is not None:
            self.extra_args += (
                "--cert-file", str(tls.server_cert),
                "--key-file", str(tls.server_key),
                "--trusted-ca-file", str(tls.ca),
                "--client-cert-auth",
            )  # fmt: skip
        self.scheme = "https" if tls else "http"
        self.root = root
        self.size = size
        self._pick_ports()

    def _pick_ports(self) -> None:
        root, scheme = self.root, self.scheme
        self.members = [
            Member(f"m{i}", _free_port(), _free_port(), root / f"m{i}", log=root / f"m{i}.log", scheme=scheme)
            for i in range(self.size)
        ]
        self.initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    @property
    def endpoints(self) -> list[str]:
        return [m.client_url for m in self.members]

    def agent_args(self, prefix: str = "/muster/") -> list[str]:
        args = ["-catalog", "etcd", "-etcd-prefix", prefix]
        for endpoint in self.endpoints:
            args += ["-etcd-endpoint", endpoint]
        return args

    def start(self) -> EtcdCluster:
        """Start a new cluster; a port taken meanwhile by another process starts it again on others."""
        for attempt in range(_START_ATTEMPTS):
            for member in self.members:
                self.start_member(member, wait=False)
            try:
                for member in self.members:
                    self.wait_healthy(member)
                return self
            except RuntimeError as exc:
                if "address already in use" not in str(exc) or attempt == _START_ATTEMPTS - 1:
                    raise
                for member in self.members:
                    self.kill(member)
                    shutil.rmtree(member.data_dir, ignore_errors=True)
                self._pick_ports()
        return self

    def start_member(self, member: Member, *, wait: bool = True) -> None:
        state = "existing" if member.data_dir.exists() else "new"
        cmd = [
            ETCD,
            "--name", member.name,
            "--data-dir", str(member.data_dir),
            "--listen-client-urls", member.client_url,
            "--advertise-client-urls", member.client_url,
            "--listen-peer-urls", member.peer_url,
            "--initial-advertise-peer-urls", member.peer_url,
            "--initial-cluster", self.initial_cluster,
            "--initial-cluster-state", state,
            "--initial-cluster-token", self._tmp.name,
            "--heartbeat-interval", "100",
            "--election-timeout", "1000",
            *self.extra_args,
        ]  # fmt: skip
        with member.log.open("ab") as log:
            member.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_healthy(member)

    def wait_healthy(self, member: Member) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if member.proc is not None and member.proc.poll() is not None:
                raise RuntimeError(f"etcd {member.name} exited:\n{member.log.read_text()[-3000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(
                    f"{member.client_url}/health", timeout=2, context=self._context()
                ) as reply,
            ):
                if b'"health":"true"' in reply.read():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"etcd {member.name} not healthy:\n{member.log.read_text()[-3000:]}")

    def _context(self) -> ssl.SSLContext | None:
        if self.tls is None:
            return None
        context = ssl.create_default_context(cafile=str(self.tls.ca))
        context.load_cert_chain(self.tls.client_cert, self.tls.client_key)
        return context

    def kill(self, member: Member) -> None:
        if member.proc is not None and member.proc.poll() is None:
            member.proc.send_signal(signal.SIGKILL)
            member.proc.wait(10)
        member.proc = None

    def stop_all(self) -> None:
        for member in self.members:
            self.kill(member)

    def close(self) -> None:
        self.stop_all()
        self._tmp.cleanup()


def _free_port() -> int:
    """A free loopback port below the ephemeral range, or any free one if none of a few tries is."""
    for _ in range(20):
        port = random.choice(_PORTS)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    return free_port()
