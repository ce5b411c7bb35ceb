"""Names outside the domain go to the `recursors`, tried in order as Consul's default ("sequential")
strategy does, each for at most `recursor_timeout`: the query's own bytes over the client's transport,
the first usable reply passed back untouched. None when all fail (the caller answers SERVFAIL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Sequence

from muster.dns.names import ip_of
from muster.golang import is_decimal

log = logging.getLogger("muster.dns")
DNS_PORT = 53
_RETRY_ELSEWHERE = (2, 5)  # SERVFAIL and REFUSED: the next recursor may do better


def recursor_address(text: str) -> tuple[str, int]:
    """`1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and is_decimal(rest[1:]) else DNS_PORT
    if ip_of(text) is not None:
        return text, DNS_PORT
    host, sep, port = text.rpartition(":")
    if sep and is_decimal(port):
        return host, int(port)
    return text, DNS_PORT


class _OneReply(asyncio.DatagramProtocol):
    def __init__(self, query_id: bytes) -> None:
        self.query_id = query_id
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        # Anything that is not a response to this ID is ignored (spoofing, late replies).
        if len(data) >= 12 and data[:2] == self.query_id and data[2] & 0x80 and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def _udp(data: bytes, host: str, port: int) -> bytes:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _OneReply(data[:2]), remote_addr=(host, port)
    )
    try:
        transport.sendto(data)
        return await protocol.reply
    finally:
        transport.close()


async def _tcp(data: bytes, host: str, port: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(struct.pack("!H", len(data)) + data)
        await writer.drain()
        (length,) = struct.unpack("!H", await reader.readexactly(2))
        return await reader.readexactly(length)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def forward(data: bytes, recursors: Sequence[str], each_seconds: float, *, tcp: bool) -> bytes | None:
    for recursor in recursors:
        host, port = recursor_address(recursor)
        try:
            async with asyncio.timeout(each_seconds):
                reply = await (_tcp(data, host, port) if tcp else _udp(data, host, port))
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            log.debug("recursor %s failed: %r", recursor, exc)
            continue
        if len(reply) >= 12 and reply[:2] == data[:2] and reply[3] & 0x0F not in _RETRY_ELSEWHERE:
            return reply
        log.debug("recursor %s answered rcode %d", recursor, reply[3] & 0x0F if len(reply) > 3 else -1)
    return None
