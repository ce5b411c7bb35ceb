"""Running the agent: the HTTP server on one uvloop event loop, the startup line, signals
(SIGTERM/SIGINT stop, SIGHUP reloads), and an orderly shutdown that wakes blocked queries first."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web

from muster.agent import Agent
from muster.api.app import Dispatcher
from muster.errors import ConfigError
from muster.store import SQLiteStore

log = logging.getLogger("muster.agent")
SHUTDOWN_GRACE_SECONDS = 5.0


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def serve(agent: Agent) -> None:
    loop = asyncio.get_running_loop()
    if isinstance(agent.store, SQLiteStore):
        agent.store.start(loop)
    server = web.Server(Dispatcher(agent), handler_cancellation=True, access_log=None)
    runner = web.ServerRunner(server, handle_signals=False)
    await runner.setup()
    config = agent.config
    site = web.TCPSite(
        runner,
        config.client_addr,
        config.http_port,
        shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
        reuse_address=True,
    )
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(
            f"cannot listen on {config.client_addr}:{config.http_port}: {exc.strerror}"
        ) from None
    port = runner.addresses[0][1]
    await agent.status.start()
    await agent.runner.start()
    reaper = asyncio.create_task(agent.check_ops.reap_forever())
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, _reload, agent)
    agent.status.mark_running()  # before the address is printed: tests and balancers see `running`
    sys.stdout.write(f"HTTP API listening on http://{url_host(config.client_addr)}:{port}\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        log.info("shutting down: waking blocked queries, finishing requests in flight")
        agent.status.mark_stopping()  # http-api reports `stopping`: /status/v1/simple turns 503
        agent.state.waiters.close()
        reaper.cancel()
        await agent.runner.stop()
        await runner.cleanup()
        await agent.status.stop()
        agent.close()
        log.info("stopped")


def _reload(agent: Agent) -> None:
    try:
        agent.reload()
        log.info("configuration reloaded")
    except ConfigError as exc:
        log.error("reload failed, keeping the running configuration: %s", exc)
