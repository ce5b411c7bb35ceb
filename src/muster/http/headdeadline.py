"""A deadline for reading a request head, as Go's http.Server ReadHeaderTimeout: aiohttp has none (its
keep-alive timer is the only bound), so a client trickling header bytes (slowloris) could hold a
connection and a file descriptor for minutes. Here a head must be complete within HEAD_TIMEOUT_SECONDS of
the connection opening, or of its first byte once the connection is idle between requests.
A head aiohttp cannot parse is the client's 400, logged as one debug line rather than a traceback."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

# aiohttp internals this module leans on (tested with aiohttp 3.14.5; tests/unit/test_aiohttp_pins.py
# fails naming the one that changed): RequestHandler's `_waiter` (a pending future exactly while it
# waits for the next message), `_messages` (parsed requests not yet handled), `_request_count` (heads
# parsed), `force_close()` and `handle_error(request, status, exc, message)`; web.Server's `_loop` and
# `_kwargs`, which its own __call__ passes to RequestHandler.

log = logging.getLogger("muster.http")

HEAD_TIMEOUT_SECONDS = 10.0
# An idle kept-alive connection closes after this, on the fast path and in aiohttp alike. Given to
# aiohttp explicitly: its default is 3630 s in 3.14, not the 75 s this agent documents.
KEEPALIVE_SECONDS = 75.0


class HeadDeadlineHandler(RequestHandler):
    """Closes the connection when the request head it is waiting for is not complete in time. Only
    while the handler waits for a head: a slow request body is the handler's business, not ours."""

    def __init__(self, *args: Any, head_timeout: float = HEAD_TIMEOUT_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.head_timer is None and self._waiting_for_head():
            self._arm()  # the first bytes of the next head on a kept-alive connection

    def _waiting_for_head(self) -> bool:
        waiter = self._waiter
        return waiter is not None and not waiter.done() and not self._messages

    def _arm(self) -> None:
        loop = asyncio.get_running_loop()
        self.head_timer = loop.call_later(self.head_timeout, self._overdue, self._request_count)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError) or status >= 500:
            return super().handle_error(request, status, exc, message)
        text = message or exc.message or "Bad Request"
        log.debug("malformed request from %s: %s", request.remote, text.strip().splitlines()[0])
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response")
        response = web.Response(status=status, text=text, content_type="text/plain")
        response.force_close()
        return response

    def _overdue(self, count: int) -> None:
        self.head_timer = None
        if self._request_count == count and (self._waiting_for_head() or count == 0):
            self.force_close()


class HeadDeadlineServer(web.Server):
    """aiohttp's low-level server, building HeadDeadlineHandler connections."""

    def __call__(self) -> HeadDeadlineHandler:
        return HeadDeadlineHandler(self, loop=self._loop, **self._kwargs)
