"""UDP checks (Consul's CheckUDP): send a datagram and wait for one byte; a reply or silence until the
timeout is passing, an error such as ICMP port unreachable ("connection refused") is critical."""

from __future__ import annotations

import asyncio
import socket

from muster.checks.base import CheckResult, Probe, ProbeContext, timeout_seconds
from muster.checks.tcp import GoError, errno_text, join_host_port, resolve, split_host_port
from muster.models import CRITICAL, PASSING, CheckDefinition


def _local_remote(sock: socket.socket, remote: str) -> str:
    local = sock.getsockname()
    return f"udp {join_host_port(str(local[0]), int(local[1]))}->{remote}"


async def _exchange(addr: str, deadline: float) -> None:
    """Raise GoError unless the exchange counts as success."""
    loop = asyncio.get_running_loop()
    host, port = split_host_port(addr, "udp")
    async with asyncio.timeout_at(deadline):
        family, ip = (await resolve(host, port, "udp"))[0]
    remote = join_host_port(ip, port)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        try:
            sock.connect((ip, port))  # a UDP connect only sets the peer: it never blocks
        except OSError as exc:
            raise GoError(f"dial udp {remote}: connect: {errno_text(exc)}") from None
        try:
            # Consul writes its empty Message: a zero-length datagram. asyncio's datagram transport
            # drops empty payloads on Python 3.11, so the socket is driven directly.
            sock.send(b"")
        except OSError as exc:
            raise GoError(f"write {_local_remote(sock, remote)}: write: {errno_text(exc)}") from None
        try:
            async with asyncio.timeout_at(deadline):
                await loop.sock_recv(sock, 1)
        except TimeoutError:
            return  # silence is success: UDP services need not answer
        except OSError as exc:
            raise GoError(f"read {_local_remote(sock, remote)}: read: {errno_text(exc)}") from None


def make_udp_probe(definition: CheckDefinition, ctx: ProbeContext) -> Probe:
    addr = definition.udp
    timeout = timeout_seconds(definition)

    async def probe() -> CheckResult:
        try:
            await _exchange(addr, asyncio.get_running_loop().time() + timeout)
            return CheckResult(PASSING, f"UDP connect {addr}: Success")
        except TimeoutError:
            return CheckResult(PASSING, f"UDP connect {addr}: Success")  # Go: a dial timeout passes
        except GoError as exc:
            return CheckResult(CRITICAL, str(exc))
        except Exception as exc:  # noqa: BLE001 - a probe reports every failure as a status
            return CheckResult(CRITICAL, f"UDP connect {addr}: {exc!r}")

    return probe
