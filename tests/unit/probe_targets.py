"""Real servers on 127.0.0.1 port 0 for the check probes to hit: HTTP(S), TCP, UDP, gRPC health,
HTTP/2 (h2c and TLS), and a self-signed certificate made at test time."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
from aiohttp import web
from grpc_health.v1 import health, health_pb2_grpc  # type: ignore[import-untyped]
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import PingReceived

CERT_NAME = "muster.test"  # the certificate also holds IP 127.0.0.1


def closed_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- certificates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path

    def server_context(self, alpn: list[str] | None = None) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        if alpn:
            context.set_alpn_protocols(alpn)
        return context


def make_cert(directory: Path) -> Cert:
    """Self-signed, SAN DNS:muster.test and IP:127.0.0.1; `cryptography` if present, else openssl."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _cert_with_cryptography(cert, key)
    except ImportError:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
             f"/CN={CERT_NAME}", "-addext", f"subjectAltName=DNS:{CERT_NAME},IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )  # fmt: skip
    return Cert(cert, key)


def _cert_with_cryptography(cert_path: Path, key_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    san = x509.SubjectAlternativeName(
        [x509.DNSName(CERT_NAME), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


# -- HTTP ----------------------------------------------------------------------------------------

LARGE_BODY = b"x" * 6000 + b"THE-END"
Handler = Callable[[web.Request], Awaitable[web.Response]]


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    reply = {
        "method": request.method,
        "host": request.host,
        "headers": [[name, value] for name, value in request.headers.items()],
        "body": body.decode(),
    }
    return web.json_response(reply)


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(30)
    return web.Response(text="too late")


async def _slow_body(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"partial")
    await asyncio.sleep(30)
    return response


def _reply(status: int, body: str | bytes, **headers: str) -> Handler:
    async def handler(_: web.Request) -> web.Response:
        if isinstance(body, bytes):
            return web.Response(status=status, body=body, headers=headers)
        return web.Response(status=status, text=body, headers=headers)

    return handler


def http_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/ok", _reply(200, "all good"))
    app.router.add_get("/busy", _reply(429, "slow down"))
    app.router.add_get("/fail", _reply(500, "boom"))
    app.router.add_get("/redirect", _reply(302, "moved", Location="/ok"))
    app.router.add_get("/loop", _reply(302, "again", Location="/loop"))
    app.router.add_get("/large", _reply(200, LARGE_BODY))
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/slow-body", _slow_body)
    return app


@asynccontextmanager
async def http_server(tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    runner = web.AppRunner(http_app(), handler_cancellation=True, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


# -- TCP and UDP ---------------------------------------------------------------------------------


@asynccontextmanager
async def tcp_server(tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0, ssl=tls)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


class _UDPTarget(asyncio.DatagramProtocol):
    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self.received: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport here

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.append(data)
        if self.reply is not None and self.transport is not None:
            self.transport.sendto(self.reply, addr)


@asynccontextmanager
async def udp_server(reply: bytes | None) -> AsyncIterator[tuple[int, _UDPTarget]]:
    """Answers every datagram with `reply`, or stays silent when it is None."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _UDPTarget(reply), local_addr=("127.0.0.1", 0)
    )
    try:
        yield int(transport.get_extra_info("sockname")[1]), protocol
    finally:
        transport.close()


# -- gRPC ----------------------------------------------------------------------------------------


@asynccontextmanager
async def grpc_server(cert: Cert | None = None) -> AsyncIterator[tuple[int, Any]]:
    """A grpc.aio server with the standard health servicer; yields (port, servicer)."""
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    if cert is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        credentials = grpc.ssl_server_credentials([(cert.key.read_bytes(), cert.cert.read_bytes())])
        port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        yield port, servicer
    finally:
        await server.stop(None)


# -- HTTP/2 --------------------------------------------------------------------------------------


@dataclass
class H2Server:
    """mode: "ack" answers PINGs (h2 does that itself), "silent" never reads, "goaway" refuses,
    "http1" answers like an HTTP/1.1 server, "hangup" closes at once."""

    mode: str = "ack"
    pings: int = 0
    sni: list[str | None] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = H2Connection(H2Configuration(client_side=False))
        try:
            if self.mode == "silent":
                await reader.read()
                return
            if self.mode in ("http1", "hangup"):
                await reader.read(24)
                if self.mode == "http1":
                    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
            conn.initiate_connection()
            if self.mode == "goaway":
                conn.close_connection(error_code=0xB, additional_data=b"calm down")
            writer.write(conn.data_to_send())
            while data := await reader.read(65536):
                for event in conn.receive_data(data):
                    self.pings += isinstance(event, PingReceived)
                writer.write(conn.data_to_send())
                await writer.drain()
        except Exception:  # noqa: BLE001, S110 - resets, TLS and h2 state errors just end the connection
            pass
        finally:
            writer.close()


@asynccontextmanager
async def h2_server(target: H2Server, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    if tls is not None:
        tls.sni_callback = lambda _sock, name, _ctx: target.sni.append(name)
    server = await asyncio.start_server(target.handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


def echo_reply(output: str) -> dict[str, Any]:
    """The /echo JSON from an HTTP check's output."""
    return dict(json.loads(output.split(" Output: ", 1)[1]))
