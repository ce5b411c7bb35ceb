"""`muster agent`: Consul's agent flags (generated from SETTINGS, see cli/flags.py), config files,
logging, then serve."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

import click

from muster import config as config_mod
from muster.cli.flags import HELP_NAMES, AgentCommand, options
from muster.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from muster.http.server import ServedAgent


class _JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "@level": record.levelname.lower(),
            "@module": record.name,
            "@message": record.getMessage(),
        }
        if record.exc_info:
            entry["@exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(level: str, as_json: bool) -> None:
    if level not in config_mod.LOG_LEVELS:
        raise ConfigError(f'invalid log level "{level}": use trace, debug, info, warn or error')
    handler = logging.StreamHandler(sys.stderr)
    if as_json:
        handler.setFormatter(_JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config_mod.LOG_LEVELS[level])


@click.command(cls=AgentCommand, params=options(), context_settings={"help_option_names": list(HELP_NAMES)})
def agent(**flags: Any) -> None:
    """Run the Muster agent."""
    # Imported here so that the other commands start fast (they never run an agent).
    import uvloop

    from muster.agent.root import open_agent
    from muster.http.server import serve
    from muster.status.levels import State

    log = logging.getLogger("muster.agent")
    instance: ServedAgent | None = None
    try:
        config = config_mod.load(flags)
        setup_logging(config.log_level, config.log_json)
        for key in config.ignored_keys:
            log.warning('config key "%s" is accepted for Consul compatibility and has no effect', key)
        for flag in config.ignored_flags:
            log.info("flag %s is accepted for Consul compatibility and has no effect", flag)
        instance = open_agent(config, flags)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(instance))
    except (ConfigError, StoreError) as exc:
        _fail(str(exc))
    except Exception as exc:
        if instance is not None and instance.status.phase != State.STARTING:
            raise  # a failure after start-up is a bug: its traceback is the report
        # Start-up ends with Consul's one line, never a traceback; -log-level debug shows where.
        log.debug("start-up failed", exc_info=True)
        _fail(f"{type(exc).__name__}: {exc}")


def _fail(message: str) -> NoReturn:
    click.echo(f"==> Error starting agent: {message}", err=True)
    sys.exit(1)
