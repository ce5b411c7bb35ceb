"""One API call: the agent's parts, the request, the ID taken from the path, the query, and the
request-level rules every endpoint shares (partition guard, namespace, token, body limit)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import streams
from multidict import CIMultiDictProxy
from yarl import URL

from muster.acl.authorizer import Authorizer
from muster.decode import Schema, decode_body
from muster.errors import BadRequest, DecodeError, PayloadTooLarge
from muster.golang import is_decimal, parse_duration
from muster.models import DEFAULT_NAMESPACE

if TYPE_CHECKING:
    from muster.api.parts import AgentParts

MAX_BODY_BYTES = 4 * 1024 * 1024  # Consul's default for agent write endpoints
_NAMESPACE_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}[a-zA-Z0-9])?$")
_BAD_ESCAPE = re.compile(r"%(?![0-9a-fA-F]{2})")
# aiohttp decodes header bytes that are not UTF-8 as lone surrogates (surrogateescape).
_NOT_UTF8 = re.compile("[\ud800-\udfff]")


def parse_query(raw: str) -> dict[str, str]:
    """Go's url.ParseQuery, keeping the first value of each key as Query().Get does."""
    if ";" in raw:
        raise BadRequest("Invalid query string: invalid semicolon separator in query")
    match = _BAD_ESCAPE.search(raw)
    if match:
        raise BadRequest(
            f'Invalid query string: invalid URL escape "{raw[match.start() : match.start() + 3]}"'
        )
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        query.setdefault(key, value)
    return query


class Request(Protocol):
    """What handlers read of a request: aiohttp's, or the fast path's own for a GET it builds itself
    (http/fastrequest.py)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def raw_path(self) -> str: ...
    @property
    def rel_url(self) -> URL: ...
    @property
    def headers(self) -> CIMultiDictProxy[str]: ...
    @property
    def raw_headers(self) -> tuple[tuple[bytes, bytes], ...]: ...
    @property
    def content_length(self) -> int | None: ...
    @property
    def content(self) -> streams.StreamReader: ...


@dataclass
class Call:
    parts: AgentParts
    request: Request
    path_id: str
    query: dict[str, str] = field(default_factory=dict)
    _authorizer: Authorizer | None = None
    partition_checked: bool = False  # guard_partition ran: endpoints that check early skip the repeat
    # Set by a handler whose answer may be repeated from bytes (routes marked `reuse=True`): a test
    # that holds while the answer is still the one the handler would give, and its X-Consul-Index.
    reuse: tuple[Callable[[], bool], int] | None = None

    @property
    def pretty(self) -> bool:
        return "pretty" in self.query

    def guard_partition(self) -> None:
        """Partitions are a Consul Enterprise feature Muster does not have; namespaces it has (§1.8)."""
        if self.partition_checked:
            return
        self.partition_checked = True
        if self.query.get("partition"):
            raise BadRequest(
                'Invalid query parameter: "partition" - Partitions are a Consul Enterprise feature'
            )
        if self.header("X-Consul-Partition"):
            raise BadRequest(
                'Invalid header: "X-Consul-Partition" - Partitions are a Consul Enterprise feature'
            )

    def namespace(self, from_body: str = "") -> str:
        """Enterprise precedence: body Namespace > ?ns= > X-Consul-Namespace > the token's > default."""
        self.guard_partition()
        name = from_body or self.query.get("ns") or self.header("X-Consul-Namespace")
        if not name:
            return self._authorizer.namespace if self._authorizer is not None else DEFAULT_NAMESPACE
        if not _NAMESPACE_NAME.match(name):
            raise BadRequest(
                f'Invalid namespace "{name}": a namespace name is 1-64 letters, digits or dashes, '
                "starting and ending with a letter or digit"
            )
        return name

    def authorize(self) -> Authorizer:
        """Resolve the request's token once: 403 `ACL not found` for an unknown one (§6)."""
        if self._authorizer is None:
            self._authorizer = self.parts.acl.authorize(self.token())
        return self._authorizer

    def reauthorize(self) -> Authorizer:
        """Resolve the token again after a wait: deleted meanwhile it is a 403 `ACL not found`, and
        changed rules apply to what the waiting query answers."""
        self._authorizer = None
        return self.authorize()

    def token(self) -> str:
        """Consul's precedence: ?token=, X-Consul-Token, Authorization: Bearer (§1.7)."""
        token = self.query.get("token", "")
        if token:
            return token
        token = self.header("X-Consul-Token")
        if token:
            return token
        words = self.header("Authorization").split(" ")
        if len(words) > 1 and words[0].lower() == "bearer":
            token = next((word for word in words[1:] if word), "")
        return token

    def header(self, name: str) -> str:
        """A request header's value ("" when absent); bytes that are not UTF-8 are the client's 400."""
        value = self.request.headers.get(name, "")
        if _NOT_UTF8.search(value):
            raise BadRequest(f'Invalid header: "{name}" - the value is not valid UTF-8')
        return value

    def wait_nanos(self) -> int:
        raw = self.query.get("wait", "")
        if not raw:
            return 0
        try:
            return parse_duration(raw)
        except ValueError:
            raise BadRequest("Invalid wait time") from None

    def index(self) -> int:
        raw = self.query.get("index", "")
        if not raw:
            return 0
        if not is_decimal(raw) or int(raw) >= 1 << 64:
            raise BadRequest("Invalid index")
        return int(raw)

    async def body(self) -> bytes:
        request = self.request
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"Request body too large: the limit is {MAX_BODY_BYTES} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(65536):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise PayloadTooLarge(f"Request body too large: the limit is {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def decode(self, schema: Schema) -> dict[str, Any]:
        try:
            return decode_body(await self.body(), schema)
        except DecodeError as exc:
            raise BadRequest(f"Request decode failed: {exc.text}") from None
