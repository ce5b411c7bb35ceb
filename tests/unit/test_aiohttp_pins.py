"""Pins the aiohttp internals src/muster/http/ leans on (private attributes, and behaviour aiohttp does
not document). Checked on aiohttp 3.14.5: after an upgrade, a failure here names what moved, before the
fast path or the head deadline misbehave in production. No sockets: a fake transport."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_runner import BaseSite

from muster.http.fastpath import FastPathProtocol
from muster.http.headdeadline import KEEPALIVE_SECONDS, HeadDeadlineHandler, HeadDeadlineServer

TESTED = ("3.14.",)


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False
        self.protocol: asyncio.BaseProtocol | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self.protocol is not None
        return self.protocol

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def slots(cls: type) -> set[str]:
    return {name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())}


def self_attributes(function: Any) -> set[str]:
    """The private attributes a method's source reads or writes on self (or on `site`)."""
    return set(re.findall(r"\b(?:self|site)\.(_[a-z_]+)", inspect.getsource(function)))


async def ok(request: web.BaseRequest) -> web.Response:
    return web.Response(text="ok")


def test_aiohttp_is_a_release_these_pins_were_checked_on() -> None:
    assert aiohttp.__version__.startswith(TESTED), (
        f"aiohttp {aiohttp.__version__}: src/muster/http/ was checked on {TESTED} only. Run this file, "
        "tests/e2e/test_fastpath.py and tests/reliability/test_limits.py, then add the release to TESTED"
    )


def test_request_handler_keeps_the_private_state_the_head_deadline_reads() -> None:
    missing = {"_waiter", "_messages", "_request_count"} - slots(RequestHandler)
    assert not missing, f"RequestHandler lost {missing}: HeadDeadlineHandler._waiting_for_head reads them"
    assert ["self"] == list(inspect.signature(RequestHandler.force_close).parameters)
    handle_error = inspect.signature(RequestHandler.handle_error).parameters
    assert ["self", "request", "status", "exc", "message"] == list(handle_error), (
        "RequestHandler.handle_error changed: HeadDeadlineHandler.handle_error overrides it"
    )
    assert "keepalive_timeout" in inspect.signature(RequestHandler.__init__).parameters


def test_server_call_builds_its_handler_from_loop_and_kwargs_only() -> None:
    used = self_attributes(web.Server.__call__)
    assert {"_loop", "_kwargs"} == used, f"web.Server.__call__ now uses {used}: HeadDeadlineServer copies it"


def test_tcp_site_start_does_what_fast_path_site_start_replaces() -> None:
    expected = {"_runner", "_host", "_port", "_ssl_context", "_backlog", "_reuse_address", "_reuse_port"}
    expected |= {"_server", "_bound_port"}
    used = self_attributes(web.TCPSite.start)
    assert expected == used, f"TCPSite.start now touches {used ^ expected}: FastPathSite.start replaces it"
    assert {"_runner", "_backlog", "_server"} <= slots(BaseSite)
    assert {"_host", "_port", "_bound_port"} <= slots(web.TCPSite)
    assert "_server" in self_attributes(web.ServerRunner.addresses.fget)  # the port printed at start


def test_the_waiter_is_pending_exactly_while_a_head_is_awaited() -> None:
    async def scenario() -> list[object]:
        server = HeadDeadlineServer(ok, keepalive_timeout=KEEPALIVE_SECONDS)
        handler = server()
        transport = FakeTransport()
        handler.connection_made(transport)
        await asyncio.sleep(0)
        seen: list[object] = [type(handler), handler._keepalive_timeout, handler._waiting_for_head()]
        handler.data_received(b"GET / HTTP/1.1\r\nHo")
        seen += [handler._request_count, handler._waiting_for_head()]
        handler.data_received(b"st: x\r\n\r\n")
        seen += [handler._request_count, handler._waiting_for_head()]
        for _ in range(20):
            await asyncio.sleep(0)
        seen.append(transport.written.split(b"\r\n", 1)[0])
        seen.append(handler._waiting_for_head())  # kept alive, waiting for the next head
        handler.force_close()
        seen.append(transport.closed)
        handler.connection_lost(None)
        return seen

    expected = [
        HeadDeadlineHandler,
        KEEPALIVE_SECONDS,
        True,
        0,
        True,
        1,
        False,
        b"HTTP/1.1 200 OK",
        True,
        True,
    ]
    assert expected == asyncio.run(scenario())


def test_a_malformed_head_is_the_clients_400_through_handle_error(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> bytes:
        handler = HeadDeadlineServer(ok)()
        transport = FakeTransport()
        handler.connection_made(transport)
        handler.data_received(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0)
        handler.connection_lost(None)
        return transport.written

    with caplog.at_level(logging.DEBUG):
        written = asyncio.run(scenario())
    assert b" 400 Bad Request" == written.split(b"\r\n", 1)[0][8:]
    assert b"Content-Type: text/plain" in written
    assert [] == [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    debug = [r.getMessage() for r in caplog.records if r.name == "muster.http"]
    assert ["malformed request from None: Invalid header token:"] == debug


def test_a_request_handler_takes_over_a_transport_mid_stream() -> None:
    """FastPathProtocol's hand-over: set_protocol, connection_made, then the bytes read so far."""

    async def scenario() -> bytes:
        server = HeadDeadlineServer(ok)
        transport = FakeTransport()
        fast = FastPathProtocol(routes=None, fallback=server, live=set())  # type: ignore[arg-type]
        fast.connection_made(transport)
        fast.data_received(b"GET /other HTTP/1.1\r\nHo")  # a split head goes to aiohttp
        handler = transport.get_protocol()
        assert isinstance(handler, HeadDeadlineHandler)
        handler.data_received(b"st: x\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0)
        handler.connection_lost(None)
        return transport.written

    assert asyncio.run(scenario()).startswith(b"HTTP/1.1 200 OK\r\n")
