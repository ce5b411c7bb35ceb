"""H2PING checks (Consul's CheckH2PING): open an HTTP/2 connection (TLS with ALPN h2, or h2c with
prior knowledge) and send one PING frame; passing once its ACK arrives. Framing by the `h2` package."""

from __future__ import annotations

import asyncio
import os

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, PingAckReceived
from h2.exceptions import FrameTooLargeError, ProtocolError

from muster.checks.base import CheckResult, Probe, ProbeContext, timeout_seconds
from muster.checks.tcp import GoError, dial_tcp, errno_text, tls_context
from muster.golang import quote
from muster.models import CRITICAL, PASSING, CheckDefinition

SUCCESS = "HTTP2 ping was successful"
TOO_LARGE = "http2: frame too large"
HTTP1_NOTE = "note that the frame header looked like an HTTP/1.1 header"
_ERROR_CODES = {
    0x0: "NO_ERROR",
    0x1: "PROTOCOL_ERROR",
    0x2: "INTERNAL_ERROR",
    0x3: "FLOW_CONTROL_ERROR",
    0x4: "SETTINGS_TIMEOUT",
    0x5: "STREAM_CLOSED",
    0x6: "FRAME_SIZE_ERROR",
    0x7: "REFUSED_STREAM",
    0x8: "CANCEL",
    0x9: "COMPRESSION_ERROR",
    0xA: "CONNECT_ERROR",
    0xB: "ENHANCE_YOUR_CALM",
    0xC: "INADEQUATE_SECURITY",
    0xD: "HTTP_1_1_REQUIRED",
}


def _goaway_text(event: ConnectionTerminated) -> str:
    code = int(event.error_code) if event.error_code is not None else 0
    name = _ERROR_CODES.get(code, f"unknown error code 0x{code:x}")
    debug = (event.additional_data or b"").decode(errors="replace")
    return (
        "http2: server sent GOAWAY and closed the connection; "
        f"LastStreamID={event.last_stream_id or 0}, ErrCode={name}, debug={quote(debug)}"
    )


def _check_first_frame_header(header: bytes, max_size: int) -> None:
    """Go rejects an oversized frame from its header; an HTTP/1.1 reply reads as one."""
    if len(header) == 9 and int.from_bytes(header[:3], "big") > max_size:
        if header == b"HTTP/1.1 ":
            raise GoError(f"http2: failed reading the frame payload: {TOO_LARGE}, {HTTP1_NOTE}")
        raise GoError(TOO_LARGE)


async def ping(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Client preface, SETTINGS, one PING; return on its ACK, raise GoError otherwise."""
    conn = H2Connection(H2Configuration(client_side=True, header_encoding=None))
    conn.initiate_connection()
    opaque = os.urandom(8)
    conn.ping(opaque)
    writer.write(conn.data_to_send())
    first = b""  # the first frame header, checked before h2 would buffer a huge "frame"
    while True:
        data = await reader.read(65536)
        if not data:
            raise GoError("unexpected EOF")
        if len(first) < 9:
            first += data[: 9 - len(first)]
            _check_first_frame_header(first, conn.max_inbound_frame_size)
        try:
            events = conn.receive_data(data)
        except FrameTooLargeError:
            raise GoError(TOO_LARGE) from None
        except ProtocolError:
            raise GoError("connection error: PROTOCOL_ERROR") from None
        writer.write(conn.data_to_send())  # SETTINGS ACKs and the like, as a client must
        for event in events:
            if isinstance(event, PingAckReceived) and event.ping_data == opaque:
                conn.close_connection()  # GOAWAY, as Go's ClientConn.Shutdown sends
                writer.write(conn.data_to_send())
                return
            if isinstance(event, ConnectionTerminated):
                raise GoError(_goaway_text(event))


def make_h2ping_probe(definition: CheckDefinition, ctx: ProbeContext) -> Probe:
    addr = definition.h2ping
    timeout = timeout_seconds(definition)
    use_tls = definition.h2ping_use_tls

    async def run() -> CheckResult:
        tls = None
        if use_tls:
            tls = await asyncio.to_thread(tls_context, definition.tls_skip_verify, ("h2",))
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            reader, writer = await dial_tcp(addr, deadline, tls, definition.tls_server_name)
        except GoError as exc:
            return CheckResult(CRITICAL, f"Failed to dial to {addr}: {exc}")
        try:
            async with asyncio.timeout_at(deadline):
                await ping(reader, writer)
            return CheckResult(PASSING, SUCCESS)
        except TimeoutError:
            return CheckResult(CRITICAL, "HTTP2 ping failed: context deadline exceeded")
        except GoError as exc:
            return CheckResult(CRITICAL, f"HTTP2 ping failed: {exc}")
        except OSError as exc:
            return CheckResult(CRITICAL, f"HTTP2 ping failed: read: {errno_text(exc)}")
        finally:
            writer.transport.abort()

    async def probe() -> CheckResult:
        try:
            return await run()
        except Exception as exc:  # noqa: BLE001 - a probe reports every failure as a status
            return CheckResult(CRITICAL, f"HTTP2 ping failed: {exc!r}")

    return probe
