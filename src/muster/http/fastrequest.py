"""A GET the fast path parsed itself, in the shape handlers read (api/call.Request), so a reusable read
that has no kept answer yet (or a stale one) is built by the dispatcher on the fast path's connection
instead of handing the connection to aiohttp for good: a load balancer's keep-alive connection stays
fast across changes. Only GETs of routes marked `reuse=True`, without a body, reach it."""

from __future__ import annotations

from aiohttp import streams
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL


def _text(raw: bytes) -> str:
    # As aiohttp decodes header bytes and targets: UTF-8, anything else as lone surrogates.
    return raw.decode("utf-8", "surrogateescape")


class FastRequest:
    method = "GET"
    content_length: int | None = None

    def __init__(self, target: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.raw_path = _text(target)
        self.rel_url = URL(self.raw_path, encoded=True)
        self.path = self.rel_url.path
        self.raw_headers = tuple(headers)
        self.headers = CIMultiDictProxy(CIMultiDict((_text(name), _text(value)) for name, value in headers))

    @property
    def content(self) -> streams.StreamReader:
        return streams.EMPTY_PAYLOAD
