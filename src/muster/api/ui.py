"""The web UI: its static assets served at `ui_config.content_path` (Consul's agent/uiserver), and
`/v1/internal/ui/services`, the per-service health summary Consul's UI reads."""

from __future__ import annotations

import hashlib
import html
import json
import mimetypes
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from aiohttp import web

from muster.api import render
from muster.api.call import Call, Request
from muster.api.filtering import apply_filter
from muster.api.reads import blocking
from muster.catalog import Catalog, Instance
from muster.catalog import shapes as shape
from muster.models import CRITICAL, PASSING, WARNING
from muster.ui import UIConfig

INDEX = "index.html"
ASSET_DIRS = ("assets",)
# Content types by suffix, fixed so a host's /etc/mime.types cannot change what the browser is told.
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    ),
}
READ_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _asset(body: bytes, name: str) -> Asset:
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    content_type = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def _walk(folder: Traversable, prefix: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for entry in folder.iterdir():
        name = prefix + entry.name
        if entry.is_dir():
            found.update(_walk(entry, name + "/"))
        elif entry.is_file():
            found[name] = entry.read_bytes()
    return found


class UIAssets:
    """Every file is read once at start-up into a table keyed by its URL path: a request can only ever
    name a file in the table, so no path it sends reaches the filesystem (no traversal by design)."""

    def __init__(self, config: UIConfig, acls_enabled: bool) -> None:
        self.prefix = config.content_path
        package = resources.files("muster.ui")
        files: dict[str, bytes] = {}
        for folder in ASSET_DIRS:
            files.update(_walk(package.joinpath(folder), folder + "/"))
        self.assets = {name: _asset(body, name) for name, body in files.items()}
        settings = json.dumps({"contentPath": self.prefix, "aclsEnabled": acls_enabled})
        page = package.joinpath(INDEX).read_text(encoding="utf-8")
        page = page.replace("__CONTENT_PATH__", html.escape(self.prefix, quote=True))
        page = page.replace("__SETTINGS__", html.escape(settings, quote=True))
        self.index = _asset(page.encode(), INDEX)

    def owns(self, path: str) -> bool:
        return path.startswith(self.prefix) or path + "/" == self.prefix

    def serve(self, request: Request) -> web.StreamResponse:
        if request.method not in READ_METHODS:
            return _text("Method Not Allowed\n", 405, {"Allow": ", ".join(READ_METHODS)})
        relative = request.path[len(self.prefix) :]
        asset = self.index if relative == INDEX else self.assets.get(relative)
        if asset is None:
            if relative.startswith(ASSET_DIRS) or "." in relative.rsplit("/", 1)[-1]:
                return _text("404 page not found\n", 404)
            asset = self.index  # a route of the single-page app: its router reads the path
        headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
        if asset.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = asset.content_type
        body = b"" if request.method == "HEAD" else asset.body
        response = web.Response(body=body, headers=headers)
        if request.method == "HEAD":
            response.headers["Content-Length"] = str(len(asset.body))
        return response


def _text(body: str, status: int, headers: dict[str, str] | None = None) -> web.Response:
    response = render.plain(body, status)
    response.headers.update({"X-Content-Type-Options": "nosniff", **(headers or {})})
    return response


def _summary(instances: list[Instance]) -> dict[str, Any]:
    first = instances[0].service
    tags: dict[str, None] = {}  # first-seen order, one lookup each (a list made 60k tags a 16 s stall)
    nodes: dict[str, None] = {}
    counts = {PASSING: 0, WARNING: 0, CRITICAL: 0}
    for instance in instances:
        tags.update(dict.fromkeys(instance.service.tags))
        nodes[instance.node.name] = None
        for check in instance.checks:
            if check.status in counts:
                counts[check.status] += 1
    return {
        "Kind": first.kind,
        "Name": first.name,
        "Datacenter": instances[0].node.datacenter,
        "Tags": list(tags),
        "Nodes": list(nodes),
        "InstanceCount": len(instances),
        "ChecksPassing": counts[PASSING],
        "ChecksWarning": counts[WARNING],
        "ChecksCritical": counts[CRITICAL],
    }


async def ui_services(call: Call) -> web.Response:
    """Consul's `/v1/internal/ui/services`: one summary per service name. `?filter=` applies to each
    instance (the ServiceNode fields), so counts describe the matching instances."""
    call.authorize()  # before any wait: an unknown token is a 403 at once
    namespace = call.namespace()
    expression = call.query.get("filter", "")

    def build(catalog: Catalog, index: int) -> Any:
        authz = call.authorize()  # after any wait: the token's rules now
        instances = [
            i
            for i in catalog.instances(namespace)
            if authz.allowed("service", i.service.name, "read", namespace)
            and authz.allowed("node", i.node.name, "read")
        ]
        if expression:
            instances = apply_filter(
                expression, "ServiceNode", instances, lambda i: shape.service_node(i, index)
            )
        by_name: dict[str, list[Instance]] = {}
        for instance in instances:
            by_name.setdefault(instance.service.name, []).append(instance)
        return [_summary(group) for _, group in sorted(by_name.items())]

    return await blocking(call, build)
