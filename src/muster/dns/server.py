"""The DNS listeners (Consul's agent/dns server): UDP through an asyncio DatagramProtocol, answering a
cached reply inline and anything else in a task; TCP with two-byte length framing, several queries per
connection, closed when idle. Both on one port (`ports.dns`, 0 picks a free one)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import struct
from typing import TYPE_CHECKING, Any, cast

import dns.rcode

from muster.dns.handler import DNSHandler
from muster.dns.wire import error_reply
from muster.errors import ConfigError

if TYPE_CHECKING:
    from muster.dns.config import DNSConfig

log = logging.getLogger("muster.dns")
TCP_IDLE_SECONDS = 10.0
_FREE_PORT_ATTEMPTS = 20  # port 0: UDP picks one, TCP must get the same; retry when it is taken


def _errno(exc: BaseException | None) -> int | None:
    """The errno of a bind failure; uvloop puts it on the cause of the OSError it raises."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno:
            return exc.errno
        exc = exc.__cause__
    return None


class _UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is not a subclass

    def datagram_received(self, data: bytes, addr: Any) -> None:
        reply = self.server.handler.cached(data, False)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
            return
        self.server.spawn(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: Any) -> None:
        reply = await self.server.answer(data, tcp=False)
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("DNS UDP error: %r", exc)  # e.g. ICMP port unreachable from a client gone


class DNSServer:
    def __init__(self, handler: DNSHandler, config: DNSConfig) -> None:
        self.handler = handler
        self.config = config  # the listening address and port are the start's: a reload keeps them
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return self.config.address

    async def start(self) -> str:
        """Bind UDP and TCP; return the startup line. ConfigError when the port cannot be had."""
        port = self.config.port
        for _ in range(_FREE_PORT_ATTEMPTS if port == 0 else 1):
            try:
                await self._bind(port)
            except OSError as exc:
                await self.stop()
                code = _errno(exc)
                if port == 0 and code == errno.EADDRINUSE:
                    continue
                reason = os.strerror(code) if code else str(exc)
                raise ConfigError(f"cannot listen on {self.address}:{port} for DNS: {reason}") from None
            host = f"[{self.address}]" if ":" in self.address else self.address
            return f"DNS listening on {host}:{self.port} (udp, tcp)\n"
        raise ConfigError(f"cannot find a free port for DNS on {self.address}")

    async def _bind(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UDPProtocol(self), local_addr=(self.address, port)
        )
        self._udp = transport
        self.port = transport.get_extra_info("sockname")[1]
        self._tcp = await asyncio.start_server(self._serve_tcp, self.address, self.port, reuse_address=True)

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def answer(self, data: bytes, tcp: bool) -> bytes | None:
        """The handler's reply; a failure of Muster's own becomes SERVFAIL, logged, and serving goes on."""
        try:
            return await self.handler.resolve(data, tcp)
        except Exception:
            log.exception("DNS query failed")
            return error_reply(data, dns.rcode.SERVFAIL)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)  # stop() cancels connections still open
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_SECONDS):
                    (length,) = struct.unpack("!H", await reader.readexactly(2))
                    data = await reader.readexactly(length)
                reply = self.handler.cached(data, True) or await self.answer(data, tcp=True)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()
