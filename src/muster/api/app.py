"""Request dispatch with Go ServeMux's rules (clean-path and subtree 301s, 405 with Allow, OPTIONS,
the index page's 404 texts) and the headers every registered route carries (§1.1-1.4)."""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from aiohttp import web

from muster.api import render
from muster.api.call import Call, Request, parse_query
from muster.api.routes import ROUTES, Route, Router
from muster.api.ui import UIAssets
from muster.errors import MethodNotAllowed, MusterError

if TYPE_CHECKING:
    from muster.api.parts import AgentParts

log = logging.getLogger("muster.http")
UI_DISABLED = (
    "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart."
)


def clean_path(path: str) -> str:
    """Go's path cleaning for ServeMux: collapse //, resolve . and .., keep a trailing slash."""
    if "//" not in path and "/." not in path and path.startswith("/"):
        return path
    if not path.startswith("/"):
        path = "/" + path
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def _redirect(location: str, query: str) -> web.Response:
    # Go's url.URL.String escapes the cleaned path: a control character never reaches the header
    target = quote(location, safe="/$&+,:;=@") + ("?" + query if query else "")
    return web.Response(
        status=301,
        headers={"Location": target, "Content-Type": render.TEXT_UTF8},
        body=f'<a href="{target}">Moved Permanently</a>.\n\n'.encode(),
    )


def _index(path: str, ui: UIAssets | None) -> web.Response:
    if path == "/":  # as Consul's Index handler: a 301 to the UI when it is on, else a line of text
        return _redirect(ui.prefix, "") if ui is not None else render.plain(UI_DISABLED, 200)
    if "/v1/" in path:
        return render.plain("Invalid URL path: not a recognized HTTP API endpoint\n", 404)
    return render.plain(
        "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n", 404
    )


class Dispatcher:
    def __init__(self, parts: AgentParts) -> None:
        self.parts = parts
        self.router = Router(ROUTES)
        self.requests = 0
        # Told of every answer a handler gave (the fast path keeps the reusable ones: http/answers.py).
        self.answered: Callable[[Route, Call, web.StreamResponse], None] | None = None
        ui = parts.config.ui
        self.ui = UIAssets(ui, parts.acl.enabled) if ui.enabled else None

    def count(self, route_path: str, method: str, seconds: float) -> None:
        """A request the fast path (http/fastpath.py) answered, counted as the dispatcher counts its own."""
        self.requests += 1
        counts = self.parts.requests_by_route
        counts[route_path] = counts.get(route_path, 0) + 1
        self.parts.metrics.http.observe(route_path, method, seconds)

    def _redirect_target(self, path: str) -> str | None:
        """Where ServeMux redirects `path` before matching a route: its clean form, or /a/b to /a/b/
        when only the subtree exists (before any prefix match)."""
        cleaned = clean_path(path)
        if cleaned != path:
            return cleaned
        if path not in self.router.exact and path + "/" in self.router.subtree_paths:
            return path + "/"
        return None

    def direct_route(self, path: str) -> tuple[Route, str] | None:
        """The route and ID whose handler answers `path` with no redirect or UI asset on the way: the
        only requests the fast path may answer, so both choose a route by the same rules."""
        if self._redirect_target(path) is not None or (self.ui is not None and self.ui.owns(path)):
            return None
        return self.router.match(path)

    async def __call__(self, request: Request) -> web.StreamResponse:
        self.requests += 1
        path = request.path
        location = self._redirect_target(path)
        if location is not None:
            return _redirect(location, request.rel_url.raw_query_string)
        if self.ui is not None and self.ui.owns(path):
            if path + "/" == self.ui.prefix:
                return _redirect(self.ui.prefix, request.rel_url.raw_query_string)
            return self.ui.serve(request)
        matched = self.router.match(path)
        if matched is None:
            return _index(path, self.ui)
        route, path_id = matched
        counts = self.parts.requests_by_route
        counts[route.path] = counts.get(route.path, 0) + 1
        method = request.method
        started = time.perf_counter()
        call: Call | None = None
        try:
            if method == "OPTIONS":
                response: web.StreamResponse = render.empty_ok()
                response.headers["Allow"] = ",".join(("OPTIONS", *route.methods))
                response.headers.pop("Content-Type", None)
            elif method not in route.methods:
                raise MethodNotAllowed(method, route.methods)
            else:
                raw_query = request.rel_url.raw_query_string
                call = Call(self.parts, request, path_id, parse_query(raw_query) if raw_query else {})
                response = await route.handler(call)
        except MusterError as exc:
            response = render.error(exc)
        except Exception:
            log.exception("%s %s failed", method, path)
            response = render.internal_error()
        finally:  # plain numbers per route and method; /v1/agent/metrics exports them when scraped
            self.parts.metrics.http.observe(route.path, method, time.perf_counter() - started)
        if self.parts.acl.default_policy != "allow" and not response.prepared:
            response.headers["X-Consul-Default-ACL-Policy"] = self.parts.acl.default_policy
        if call is not None and call.reuse is not None and self.answered is not None:
            self.answered(route, call, response)
        return response
