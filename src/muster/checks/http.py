"""HTTP checks (Consul's CheckHTTP): one request per run on the shared aiohttp session, 2xx passing,
429 warning, anything else critical; output `HTTP <METHOD> <url>: <status> Output: <body tail>`."""

from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass, field

import aiohttp
import yarl
from multidict import CIMultiDict

from muster.checks.base import CheckResult, Probe, ProbeContext, TailBuffer, output_cap, timeout_seconds
from muster.checks.tcp import errno_text, join_host_port, tls_context, tls_error_text
from muster.golang import quote
from muster.models import CRITICAL, PASSING, WARNING, CheckDefinition

USER_AGENT = "Consul Health Check"
ACCEPT = "text/plain, text/*, */*"
DEFAULT_OUTPUT_MAX = 4096  # Consul's DefaultBufSize, used when no cap is configured
MAX_REDIRECTS = 10  # Go's http.Client stops after 10
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
DEADLINE_EXCEEDED = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
_UNLIMITED = aiohttp.ClientTimeout()  # the probe's own deadline covers the whole request


@dataclass
class _Response:
    """What has arrived so far; a timeout while reading the body still reports the status."""

    cap: int
    status: int = 0
    reason: str = ""
    body: TailBuffer = field(init=False)  # Consul's circbuf: the body's last `cap` bytes, never more

    def __post_init__(self) -> None:
        self.body = TailBuffer(self.cap)

    def status_line(self) -> str:
        return f"{self.status} {self.reason}" if self.reason else str(self.status)


def url_error_op(method: str) -> str:
    """Go's url.Error names the method `Get`, `Post`, ..."""
    return method[:1] + method[1:].lower() if method else "Get"


def request_headers(definition: CheckDefinition) -> CIMultiDict[str]:
    """The Header map as sent: Consul's User-Agent and Accept unless given; `Host` sets the Host."""
    headers: CIMultiDict[str] = CIMultiDict()
    for name, values in definition.header.items():
        for value in values:
            headers.add(name, value)
    # Go's Header.Get reads the first value, and Set replaces them all.
    if not headers.get("User-Agent"):
        headers["User-Agent"] = USER_AGENT
    if not headers.get("Accept"):
        headers["Accept"] = ACCEPT
    if "Host" in headers:
        host = headers.getone("Host")
        del headers["Host"]
        if host:
            headers["Host"] = host  # Go sends req.Host once, never the Header's extra values
    return headers


def url_error(method: str, url: str) -> str | None:
    """What http.NewRequest / Client.Do reject before dialing, in Go's words."""
    if not _TOKEN.fullmatch(method):
        return f"net/http: invalid method {quote(method)}"
    scheme = ""
    for i, char in enumerate(url):
        if char.isascii() and char.isalpha():
            continue
        if char == ":" and i == 0:
            return f"parse {quote(url)}: missing protocol scheme"
        if char == ":":
            scheme = url[:i]
        elif i > 0 and (char.isdigit() or char in "+-."):
            continue
        break
    if not scheme and ":" in url.split("/", 1)[0]:
        return f"parse {quote(url)}: first path segment in URL cannot contain colon"
    op = f"{url_error_op(method)} {quote(url)}"
    if scheme.lower() not in ("http", "https"):
        return f"{op}: unsupported protocol scheme {quote(scheme)}"
    try:
        host = yarl.URL(url).host
    except ValueError as exc:
        return f"parse {quote(url)}: {exc}"
    if not host:
        return f"{op}: http: no Host in request URL"
    return None


def client_error_text(exc: BaseException) -> str:
    """The transport error Go's http.Client would wrap in `<Op> "<url>": ...`."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return tls_error_text(exc.certificate_error)
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError):
        return tls_error_text(exc.os_error)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"dial tcp: lookup {exc.host}: no such host"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"dial tcp {join_host_port(exc.host, exc.port or '')}: connect: {errno_text(exc.os_error)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "EOF"
    if isinstance(exc, ssl.SSLError):
        return tls_error_text(exc)
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"read: {errno_text(exc)}"
    return str(exc) or type(exc).__name__


def make_http_probe(definition: CheckDefinition, ctx: ProbeContext) -> Probe:
    """One request per run; the session is the runner's (no keep-alive), or a throwaway one."""
    method = definition.method or "GET"
    url = definition.http
    op = f"{url_error_op(method)} {quote(url)}"
    timeout = timeout_seconds(definition)
    cap = output_cap(definition, ctx.output_max_size) or DEFAULT_OUTPUT_MAX
    headers = request_headers(definition)
    # Go sends no Content-Type of its own; aiohttp would add one for a body.
    skip_auto = () if "Content-Type" in headers else ("Content-Type",)
    body = definition.body.encode() if definition.body else None
    wants_tls = definition.tls_skip_verify or url[:6].lower() == "https:"
    error = url_error(method, url)

    async def request(session: aiohttp.ClientSession, response: _Response) -> None:
        tls: ssl.SSLContext | bool = True
        if wants_tls:
            tls = await asyncio.to_thread(tls_context, definition.tls_skip_verify)
        async with session.request(
            method,
            url,
            headers=headers,
            data=body,
            allow_redirects=not definition.disable_redirects,
            max_redirects=MAX_REDIRECTS,
            ssl=tls,
            server_hostname=definition.tls_server_name or None,
            skip_auto_headers=skip_auto,
            timeout=_UNLIMITED,
        ) as resp:
            response.status, response.reason = resp.status, resp.reason or ""
            try:
                async for chunk in resp.content.iter_chunked(65536):
                    response.body.write(chunk)
            except aiohttp.ClientError:
                pass  # Consul logs a body read error and reports what it read

    async def run(session: aiohttp.ClientSession) -> CheckResult:
        response = _Response(cap)
        try:
            async with asyncio.timeout(timeout):
                await request(session, response)
        except TimeoutError:
            if not response.status:
                return CheckResult(CRITICAL, f"{op}: {DEADLINE_EXCEEDED}")
        except aiohttp.TooManyRedirects as exc:
            location = exc.history[-1].headers.get("Location", url) if exc.history else url
            return CheckResult(
                CRITICAL, f"{url_error_op(method)} {quote(location)}: stopped after {MAX_REDIRECTS} redirects"
            )
        except (aiohttp.ClientError, OSError) as exc:
            if not response.status:
                return CheckResult(CRITICAL, f"{op}: {client_error_text(exc)}")
        output = f"HTTP {method} {url}: {response.status_line()} Output: "
        output += bytes(response.body.kept).decode(errors="replace")
        if 200 <= response.status <= 299:
            return CheckResult(PASSING, output)
        if response.status == 429:
            return CheckResult(WARNING, output)
        return CheckResult(CRITICAL, output)

    async def probe() -> CheckResult:
        try:
            if error is not None:
                return CheckResult(CRITICAL, error)
            if ctx.http_session is not None:
                return await run(ctx.http_session)
            connector = aiohttp.TCPConnector(force_close=True)
            async with aiohttp.ClientSession(connector=connector) as session:
                return await run(session)
        except Exception as exc:  # noqa: BLE001 - a probe reports every failure as a status
            return CheckResult(CRITICAL, f"{op}: {exc!r}")

    return probe
