"""A small HTTP client for the CLI (http.client, no dependency) and the connection flags every command
shares, as Consul's CLI reads them: -http-addr/-token/-ca-file/... or CONSUL_HTTP_ADDR and friends."""

from __future__ import annotations

import errno
import functools
import http.client
import json
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import click

from muster.cli import output
from muster.decode import check_nesting
from muster.errors import ConfigError, DecodeError

FC = TypeVar("FC", bound=Callable[..., Any])

DEFAULT_ADDRESS = "127.0.0.1:8500"
DEFAULT_TIMEOUT = 30.0
_TRUE = frozenset({"1", "t", "true", "yes", "on"})


class ClientError(Exception):
    """Anything that stops a command from getting its answer; `str()` is the one-line message."""


class AgentUnreachable(ClientError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(output.unreachable_message(url, reason))
        self.url = url
        self.reason = reason


class APIError(ClientError):
    def __init__(self, status: int, body: str, method: str, path: str) -> None:
        super().__init__(output.api_error_message(status, body, method, path))
        self.status = status
        self.body = body


class UnexpectedAnswer(ClientError):
    """An answer this command cannot use: a redirect, a body that is not JSON or not the shape asked."""


@dataclass(frozen=True)
class Address:
    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_address(text: str, *, ssl_default: bool = False) -> Address:
    """`host:port`, `host`, or `http(s)://host[:port]`, as CONSUL_HTTP_ADDR takes them."""
    raw = text.strip()
    if "://" not in raw:
        raw = ("https://" if ssl_default else "http://") + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f'invalid agent address "{text}": use host:port or http(s)://host:port')
    try:
        port = parts.port
    except ValueError:
        raise ClientError(f'invalid agent address "{text}": the port is not a number') from None
    return Address(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 8500))


@dataclass(frozen=True)
class TLSFiles:
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    def context(self) -> ssl.SSLContext:
        try:
            context = ssl.create_default_context(cafile=self.ca_file or None)
            if self.cert_file:
                context.load_cert_chain(self.cert_file, self.key_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ClientError(f"cannot load the TLS files: {exc}") from None
        return context


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        try:
            check_nesting(self.body)  # a broken or hostile agent's answer: no RecursionError here
            return json.loads(self.body) if self.body.strip() else None
        except (ValueError, DecodeError):
            raise UnexpectedAnswer(
                f"the agent's answer ({self.status}) is not JSON: {self.excerpt}"
            ) from None

    @property
    def excerpt(self) -> str:
        return output.truncate(output.one_line(self.text), 120) or "(no body)"

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    @property
    def index(self) -> int:
        try:
            return int(self.headers.get("X-Consul-Index", "0"))
        except ValueError:
            return 0


class AgentClient:
    """One agent; every call opens a connection (the CLI makes a handful of calls per run)."""

    def __init__(
        self, address: Address, token: str = "", tls: TLSFiles | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.address = address
        self.token = token
        self.tls = tls or TLSFiles()
        self.timeout = timeout

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        host, port = self.address.host, self.address.port
        if self.address.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self.tls.context())
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> Response:
        """Send one request; any HTTP status is an answer here, only a failed exchange raises."""
        target = path + ("?" + urlencode(query) if query else "")
        headers = {"User-Agent": "muster-cli"}
        if self.token:
            headers["X-Consul-Token"] = self.token
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        limit = self.timeout if timeout is None else timeout
        conn = self._connection(limit)
        try:
            conn.request(method, target, body=data, headers=headers)
            reply = conn.getresponse()
            return Response(reply.status, dict(reply.headers.items()), _read(reply, limit))
        except ssl.SSLError as exc:
            raise AgentUnreachable(self.address.url, f"TLS: {exc.reason or exc}") from None
        except TimeoutError:
            raise AgentUnreachable(self.address.url, "timed out") from None
        except OSError as exc:
            raise AgentUnreachable(self.address.url, _reason(exc)) from None
        except http.client.HTTPException as exc:
            raise AgentUnreachable(self.address.url, f"bad HTTP answer: {exc!r}") from None
        finally:
            conn.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Any = None,
        answers: tuple[int, ...] = (),
        timeout: float | None = None,
    ) -> Response:
        """As request(), but a status >= 400 not listed in `answers` raises APIError, and any other
        status outside 2xx (a redirect: the path held an ID no URL can carry) UnexpectedAnswer."""
        reply = self.request(method, path, query=query, body=body, timeout=timeout)
        if reply.status in answers or 200 <= reply.status < 300:
            return reply
        if reply.status >= 400:
            raise APIError(reply.status, reply.text, method, path)
        location = next((v for k, v in reply.headers.items() if k.lower() == "location"), "")
        moved = f" (to {location})" if location else ""
        raise UnexpectedAnswer(
            f"the agent answered {reply.status}{moved} to {method} {path}: an ID with "
            '"//", or "." or ".." between slashes, cannot be addressed in a URL path'
        )

    def get(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        return self.call("GET", path, query=query).json()

    def put(self, path: str, body: Any = None, query: Mapping[str, str] | None = None) -> Any:
        return self.call("PUT", path, query=query, body=body).json()

    def delete(self, path: str) -> Any:
        return self.call("DELETE", path).json()


MAX_ANSWER_BYTES = 64 << 20  # 10,000 services list in ~3.5 MB; more is not an agent's answer


def _read(reply: http.client.HTTPResponse, seconds: float) -> bytes:
    """The whole body within `seconds` in all (the socket timeout bounds each read only, so a body sent
    a byte at a time could take forever) and at most MAX_ANSWER_BYTES."""
    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    while chunk := reply.read1(65536):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise http.client.HTTPException(f"an answer larger than {MAX_ANSWER_BYTES >> 20} MiB")
        if time.monotonic() > deadline:
            raise TimeoutError
        chunks.append(chunk)
    return b"".join(chunks)


def segment(value: str) -> str:
    """One path segment (an ID or a name), percent-encoded."""
    return quote(value, safe="")


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ECONNREFUSED:
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror}"
    return (exc.strerror or str(exc)).lower()


# -- the connection flags -------------------------------------------------------------------------
_HTTP_OPTIONS = (
    output.option(
        "http-addr",
        "http_addr",
        envvar=["MUSTER_HTTP_ADDR", "CONSUL_HTTP_ADDR"],
        default=DEFAULT_ADDRESS,
        show_default=True,
        help="The agent: host:port or http(s)://host:port [env MUSTER_HTTP_ADDR, CONSUL_HTTP_ADDR].",
    ),
    output.option(
        "token",
        envvar="CONSUL_HTTP_TOKEN",
        default="",
        help="ACL token sent as X-Consul-Token [env CONSUL_HTTP_TOKEN].",
    ),
    output.option(
        "ca-file",
        "ca_file",
        envvar="CONSUL_CACERT",
        default="",
        help="CA bundle for HTTPS [env CONSUL_CACERT].",
    ),
    output.option(
        "client-cert",
        "client_cert",
        envvar="CONSUL_CLIENT_CERT",
        default="",
        help="Client certificate [env CONSUL_CLIENT_CERT].",
    ),
    output.option(
        "client-key",
        "client_key",
        envvar="CONSUL_CLIENT_KEY",
        default="",
        help="Client key [env CONSUL_CLIENT_KEY].",
    ),
    click.option("--http-ssl", "http_ssl", envvar="CONSUL_HTTP_SSL", default="", hidden=True),
)
_HTTP_KEYS = ("http_addr", "token", "ca_file", "client_cert", "client_key", "http_ssl")


def client_from_flags(flags: Mapping[str, Any]) -> AgentClient:
    address = parse_address(flags["http_addr"], ssl_default=str(flags["http_ssl"]).lower() in _TRUE)
    tls = TLSFiles(flags["ca_file"], flags["client_cert"], flags["client_key"])
    return AgentClient(address, token=flags["token"], tls=tls)


def http_options(func: FC) -> FC:
    """Add the connection flags; call `func(client, **rest)`; any ClientError or bad file is one
    `Error:` line and exit 1."""

    @functools.wraps(func)
    def command(**kwargs: Any) -> Any:
        flags = {key: kwargs.pop(key) for key in _HTTP_KEYS}
        try:
            return func(client_from_flags(flags), **kwargs)
        except ClientError as exc:
            output.fail(str(exc))
        except ConfigError as exc:
            output.fail(output.one_line(str(exc)))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:  # JSON of another shape
            output.fail(f"the agent's answer is not what this command expects ({type(exc).__name__}: {exc})")

    for decorate in reversed(_HTTP_OPTIONS):
        command = decorate(command)
    return command  # type: ignore[return-value]
