"""Running the agent: the HTTP and HTTPS listeners (one Dispatcher) and the DNS server on one uvloop event
loop, the startup lines, signals (SIGTERM/SIGINT drain then stop, SIGHUP reloads), and an orderly
shutdown: balancers are told first (`/status/v1/simple` turns 503), then blocked queries are woken,
then the listeners close."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from muster.agent.identity import NodeIdentity
from muster.api.app import Dispatcher
from muster.api.parts import AgentParts
from muster.config import AgentConfig
from muster.dns.handler import DNSHandler
from muster.dns.server import DNSServer
from muster.errors import ConfigError
from muster.gcpause import FrozenSurvivors
from muster.http.fastpath import FastPathProtocol, FastRoutes
from muster.http.headdeadline import KEEPALIVE_SECONDS, HeadDeadlineServer
from muster.tls import server_context

log = logging.getLogger("muster.agent")


class ServedAgent(AgentParts, Protocol):
    """What running the agent needs beyond the API's parts: its identity for DNS, the lifecycle of the
    store and the catalog, and the hooks a reload calls."""

    node: NodeIdentity
    reload_listeners: list[Callable[[AgentConfig], None]]

    def start_store(self, loop: asyncio.AbstractEventLoop) -> None: ...
    async def start_catalog(self) -> None: ...
    async def leave_catalog(self) -> None: ...
    async def stop_catalog(self) -> None: ...
    def close(self) -> None: ...


# Once the listeners close, requests still in flight get this long to finish.
SHUTDOWN_GRACE_SECONDS = 5.0


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class Listener:
    name: str  # HTTP or HTTPS
    host: str
    port: int
    ssl_context: ssl.SSLContext | None = None

    @property
    def scheme(self) -> str:
        return self.name.lower()


def plan_listeners(config: AgentConfig) -> list[Listener]:
    """HTTP first (its line is the first one printed), then HTTPS; a port of -1 turns one off.

    The TLS context is built here, before anything starts, so a bad file stops the agent at once.
    """
    listeners = []
    if config.http_port >= 0:
        listeners.append(Listener("HTTP", config.client_addr, config.http_port))
    if config.https_port >= 0:
        context = server_context(config.tls)
        listeners.append(Listener("HTTPS", config.https_addr, config.https_port, context))
    if not listeners:
        raise ConfigError("no HTTP API listener: ports.http and ports.https are both -1")
    return listeners


class FastPathSite(web.TCPSite):
    """An HTTP or HTTPS listener: connections start on the fast path (fastpath.py) and move to aiohttp's
    handler at the first request the fast path does not answer (with TLS, the fast path sees the
    decrypted bytes, after the handshake and any client-certificate check). On stop, fast-path
    connections close with the listener; aiohttp closes the rest as usual.

    aiohttp internals (tested with 3.14.5, pinned by tests/unit/test_aiohttp_pins.py): TCPSite.start is
    replaced by BaseSite.start (registers the site) and our own create_server, setting BaseSite's
    `_server` (read by stop() and runner.addresses) and TCPSite's `_bound_port`; it reads `_runner`,
    `_host`, `_port`, `_ssl_context` and `_backlog`."""

    def __init__(
        self,
        runner: web.ServerRunner,
        host: str,
        port: int,
        routes: FastRoutes,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, host, port, ssl_context=ssl_context, reuse_address=True)
        self.routes = routes
        self.connections: set[FastPathProtocol] = set()

    def _protocol(self) -> FastPathProtocol:
        server = self._runner.server
        assert server is not None
        return FastPathProtocol(self.routes, server, self.connections)

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol,
            self._host,
            self._port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_address=True,
        )
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port

    async def stop(self) -> None:
        await super().stop()
        for connection in list(self.connections):
            connection.close()


async def _start(runner: web.ServerRunner, listener: Listener, routes: FastRoutes) -> str:
    """Start one listener; return its startup line with the port it got."""
    before = len(runner.addresses)
    site = FastPathSite(runner, listener.host, listener.port, routes, listener.ssl_context)
    try:
        await site.start()
    except OSError as exc:
        # asyncio's strerror repeats the address ("error while attempting to bind on address ..."):
        # the errno's own text says it once.
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(f"cannot listen on {listener.host}:{listener.port}: {reason}") from None
    port = runner.addresses[before][1]
    return f"{listener.name} API listening on {listener.scheme}://{url_host(listener.host)}:{port}\n"


async def serve(agent: ServedAgent) -> None:
    listeners = plan_listeners(agent.config)
    loop = asyncio.get_running_loop()
    agent.start_store(loop)
    dispatcher = Dispatcher(agent)
    server = HeadDeadlineServer(
        dispatcher, handler_cancellation=True, access_log=None, keepalive_timeout=KEEPALIVE_SECONDS
    )
    routes = FastRoutes(agent.state, agent.acl, agent.config.dev, dispatcher)
    dispatcher.answered = routes.keep
    agent.metrics.attach_kept(routes.kept)
    runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
    await runner.setup()
    dns_server = None
    if agent.config.dns.port >= 0:
        handler = DNSHandler(agent.catalog, agent.acl, agent.node, agent.config.dns)
        dns_server = DNSServer(handler, agent.config.dns)
        agent.reload_listeners.append(lambda config: handler.reconfigure(config.dns))
    try:
        lines = [await _start(runner, listener, routes) for listener in listeners]
        if dns_server is not None:
            lines.append(await dns_server.start())
            agent.metrics.attach_dns(dns_server.handler.stats)
    except ConfigError:
        await runner.cleanup()
        raise
    await agent.status.start()
    await agent.runner.start()
    await agent.start_catalog()
    reaper = asyncio.create_task(agent.check_ops.reap_forever())
    collector = FrozenSurvivors(loop)
    collector.start()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, _reload, agent)
    agent.status.mark_running()  # before the address is printed: tests and balancers see `running`
    sys.stdout.write("".join(lines))
    sys.stdout.flush()
    try:
        await stop.wait()
        await drain(agent, stop)
    finally:
        agent.status.mark_stopping()
        log.info("shutting down: waking blocked queries, finishing requests in flight")
        agent.state.waiters.close()
        reaper.cancel()
        collector.stop()
        await agent.runner.stop()
        if dns_server is not None:
            await dns_server.stop()
        await agent.stop_catalog()
        await runner.cleanup()
        await agent.status.stop()
        agent.close()
        log.info("stopped")


async def drain(agent: ServedAgent, stop: asyncio.Event) -> None:
    """Report `stopping` at once, so `/status/v1/simple` turns 503 and balancers take the agent out,
    and keep serving every request normally for the grace period; a second signal ends it early."""
    agent.status.mark_stopping()
    await agent.leave_catalog()  # the fleet's healthy answers drop this node now
    grace = agent.config.status_drain_grace_seconds
    if grace <= 0:
        return
    log.info("draining: /status/v1/simple answers 503, serving %.3g s more (signal again to stop now)", grace)
    stop.clear()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(grace):
            await stop.wait()


def _reload(agent: ServedAgent) -> None:
    try:
        agent.reload()
        log.info("configuration reloaded")
    except ConfigError as exc:
        log.error("reload failed, keeping the running configuration: %s", exc)
