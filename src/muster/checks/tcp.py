"""TCP checks (Consul's CheckTCP), plus the dialing and TLS helpers the other network probes share:
each failure is raised as a `GoError` whose text reads like the Go error Consul would report."""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import ssl

from muster.checks.base import CheckResult, Probe, ProbeContext, timeout_seconds
from muster.golang import is_decimal
from muster.models import CRITICAL, PASSING, CheckDefinition


class GoError(Exception):
    """A probe failure; str() is the text Consul's Go code would put in the check output."""


def errno_text(exc: OSError) -> str:
    """Go spells syscall errors like libc, in lower case: `connection refused`."""
    if exc.errno is not None:
        text = os.strerror(exc.errno)
        return text[:1].lower() + text[1:]
    return str(exc) or type(exc).__name__


def join_host_port(host: str, port: int | str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_host_port(addr: str, network: str) -> tuple[str, int]:
    """net.SplitHostPort plus the port lookup of net.Dial, with Go's error texts."""
    prefix = f"dial {network}: address {addr}"
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0:
            raise GoError(f"{prefix}: missing ']' in address")
        host, rest = addr[1:end], addr[end + 1 :]
        if not rest.startswith(":"):
            raise GoError(f"{prefix}: missing port in address")
        port_text = rest[1:]
    else:
        host, sep, port_text = addr.rpartition(":")
        if not sep:
            raise GoError(f"{prefix}: missing port in address")
        if ":" in host:
            raise GoError(f"{prefix}: too many colons in address")
    if is_decimal(port_text):
        port = int(port_text)
        if port > 65535:
            raise GoError(f"dial {network}: address {port_text}: invalid port")
        return host, port
    try:
        return host, socket.getservbyname(port_text, network)
    except (OSError, UnicodeError):  # a name the services database cannot hold is unknown too
        raise GoError(f"dial {network}: lookup {network}/{port_text}: unknown port") from None


async def resolve(host: str, port: int, network: str) -> list[tuple[int, str]]:
    """(family, ip) pairs in resolver order; an empty host means this machine, as in Go."""
    kind = socket.SOCK_STREAM if network == "tcp" else socket.SOCK_DGRAM
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host or None, port, type=kind)
    except socket.gaierror as exc:
        reason = "no such host" if exc.errno in _NO_SUCH_HOST else errno_text(exc)
        raise GoError(f"dial {network}: lookup {host}: {reason}") from None
    return [(family, str(sockaddr[0])) for family, _, _, _, sockaddr in infos]


_NO_SUCH_HOST = {
    getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY") if hasattr(socket, name)
}


@functools.cache
def tls_context(skip_verify: bool, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    """Go's defaults: system roots, TLS 1.2+, hostname checked unless TLSSkipVerify.

    Shared per process and never changed once built: a context holding the system roots costs
    ~30 ms and ~850 KiB, too much to build per check. Build it off the event loop the first time.
    """
    if skip_verify:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


@functools.cache
def system_roots_pem() -> bytes | None:
    """The roots file Python's ssl uses (honouring SSL_CERT_FILE), for libraries that want PEM."""
    cafile = ssl.get_default_verify_paths().cafile
    if cafile is None:
        return None
    with open(cafile, "rb") as handle:
        return handle.read()


def reset_tls_trust() -> None:
    """Forget the cached roots, so contexts built next see a changed SSL_CERT_FILE (tests)."""
    tls_context.cache_clear()
    system_roots_pem.cache_clear()


_UNKNOWN_AUTHORITY = frozenset({2, 18, 19, 20, 21})  # missing or untrusted issuer, self-signed


def tls_error_text(exc: BaseException) -> str:
    """crypto/tls's wording for the handshake failures users actually meet."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        message = (exc.verify_message or str(exc)).rstrip(".")
        if code in _UNKNOWN_AUTHORITY:
            message = "certificate signed by unknown authority"
        elif code in (9, 10):  # not yet valid / expired
            message = "certificate has expired or is not yet valid"
        elif code in (62, 64):  # hostname / IP mismatch; OpenSSL does not list the cert's names
            message = "certificate is not valid for " + message.rpartition(" for ")[2].strip("'")
        return f"tls: failed to verify certificate: x509: {message}"
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or "").lower().replace("_", " ")
        if reason == "wrong version number":
            return "tls: first record does not look like a TLS handshake"
        if reason.startswith("tlsv1 alert ") or reason.startswith("sslv3 alert "):
            return "remote error: tls: " + reason.split(" alert ", 1)[1]
        if isinstance(exc, ssl.SSLEOFError) or "eof" in reason:
            return "EOF"
        return f"tls: {reason or exc}"
    if isinstance(exc, ConnectionResetError):
        return "read: connection reset by peer"
    if isinstance(exc, OSError) and exc.errno is not None:
        return errno_text(exc)
    return "EOF"


async def dial_tcp(
    addr: str,
    deadline: float,
    tls: ssl.SSLContext | None = None,
    server_name: str = "",
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """net.Dialer / tls.Dialer: resolve, connect to each address in turn, then the TLS handshake.

    Go's texts differ by phase (`dial tcp a:p: i/o timeout` vs a TLS `context deadline exceeded`),
    so the deadline is applied here, phase by phase.
    """
    host, port = split_host_port(addr, "tcp")
    try:
        async with asyncio.timeout_at(deadline):
            addresses = await resolve(host, port, "tcp")
    except TimeoutError:
        raise GoError(f"dial tcp: lookup {host}: i/o timeout") from None
    first_error: GoError | None = None
    for _, ip in addresses:
        target = join_host_port(ip, port)
        try:
            async with asyncio.timeout_at(deadline):
                reader, writer = await asyncio.open_connection(ip, port)
        except TimeoutError:
            first_error = first_error or GoError(f"dial tcp {target}: i/o timeout")
            break
        except OSError as exc:
            first_error = first_error or GoError(f"dial tcp {target}: connect: {errno_text(exc)}")
            continue
        if tls is None:
            return reader, writer
        try:
            async with asyncio.timeout_at(deadline):
                await writer.start_tls(tls, server_hostname=server_name or host)
        except TimeoutError:
            writer.transport.abort()
            raise GoError("context deadline exceeded") from None
        except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
            writer.transport.abort()
            raise GoError(tls_error_text(exc)) from None
        return reader, writer
    raise first_error or GoError(f"dial tcp: lookup {host}: no such host")


def make_tcp_probe(definition: CheckDefinition, ctx: ProbeContext) -> Probe:
    """Connect (and with TCPUseTLS, complete a handshake), then hang up."""
    addr = definition.tcp
    timeout = timeout_seconds(definition)
    kind = "TCP+TLS" if definition.tcp_use_tls else "TCP"

    async def probe() -> CheckResult:
        try:
            tls = None
            if definition.tcp_use_tls:
                tls = await asyncio.to_thread(tls_context, definition.tls_skip_verify)
            deadline = asyncio.get_running_loop().time() + timeout
            _, writer = await dial_tcp(addr, deadline, tls, definition.tls_server_name)
            writer.transport.abort()
            return CheckResult(PASSING, f"{kind} connect {addr}: Success")
        except GoError as exc:
            return CheckResult(CRITICAL, str(exc))
        except Exception as exc:  # noqa: BLE001 - a probe reports every failure as a status
            return CheckResult(CRITICAL, f"{kind} connect {addr}: {exc!r}")

    return probe
