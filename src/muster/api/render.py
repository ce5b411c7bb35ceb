"""Responses as Consul writes them: compact JSON without a trailing newline, `?pretty` and `-dev`
indentation, empty 200s for writes, and errors as plain text with their status (§1.3, §1.4, §1.5)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from muster.errors import MethodNotAllowed, MusterError
from muster.golang import encode_json, indent_json

if TYPE_CHECKING:
    from muster.api.call import Call

log = logging.getLogger("muster.http")
TEXT_UTF8 = "text/plain; charset=utf-8"
JSON = "application/json"
# Every response of a registered route carries these (§1.4); built into each response at construction.
ROUTE_HEADERS = {"X-Consul-Default-ACL-Policy": "allow", "Vary": "Accept-Encoding"}
_JSON_HEADERS = {"Content-Type": JSON, **ROUTE_HEADERS}
_TEXT_HEADERS = {"Content-Type": TEXT_UTF8, **ROUTE_HEADERS}
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def header_text(value: str) -> str:
    """A header value from client input: control characters become spaces, as Go does for CR and LF
    (aiohttp refuses every C0 control and drops the connection instead of answering)."""
    return _CONTROL.sub(" ", value)


def utf8(body: str) -> bytes:
    """Text for the wire; a lone surrogate echoed from client input becomes U+FFFD, as Go writes it."""
    try:
        return body.encode()
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", body).encode()


def json_bytes(body: bytes, *, pretty: bool, dev: bool, status: int = 200) -> web.Response:
    if pretty:
        body = indent_json(body) + b"\n"
    elif dev:
        body = indent_json(body)
    return web.Response(body=body, status=status, headers=_JSON_HEADERS)


def answer(call: Call, value: Any, status: int = 200) -> web.Response:
    """A value as JSON, formatted for the call; Go writes the fresh coordinate's Height as 0.00001."""
    body = encode_json(value).replace(b'"Height":1e-05', b'"Height":0.00001')
    return json_bytes(body, pretty=call.pretty, dev=call.parts.config.dev, status=status)


def empty_ok() -> web.Response:
    return web.Response(body=b"", headers=_JSON_HEADERS)


def text(body: str, status: int = 200, content_type: str = TEXT_UTF8) -> web.Response:
    headers = _TEXT_HEADERS if content_type == TEXT_UTF8 else {**ROUTE_HEADERS, "Content-Type": content_type}
    return web.Response(body=utf8(body), status=status, headers=headers)


def plain(body: str, status: int) -> web.Response:
    """Unregistered paths (the index handler) carry none of the route headers (§1.1)."""
    return web.Response(body=utf8(body), status=status, headers={"Content-Type": TEXT_UTF8})


def error(exc: MusterError) -> web.Response:
    response = text(exc.text or "An unexpected error occurred", exc.status)
    if isinstance(exc, MethodNotAllowed):
        response.headers["Allow"] = exc.allow
    return response


def internal_error() -> web.Response:
    return text("Internal error: the agent failed to handle this request; see its log", 500)
