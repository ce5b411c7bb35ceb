"""`muster watch`: Consul's `consul watch` for the service, checks and services types: a blocking-query
loop (?index= / X-Consul-Index) that runs a handler with the result as JSON on stdin at each change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import click

from muster.cli import output
from muster.cli.client import AgentClient, ClientError, Response, http_options, segment
from muster.cli.output import CONTEXT, option

TYPES = ("service", "checks", "services")
STATES = ("any", "passing", "warning", "critical")
WAIT = "5m"  # the agent's own default; the read timeout leaves room for its jitter (wait/16)
READ_TIMEOUT = 5 * 60 * 17 / 16 + 15
MAX_BACKOFF = 30.0


def endpoint(kind: str, service: str, state: str, passing_only: bool) -> tuple[str, dict[str, str]]:
    """The path and query a watch of this type blocks on, as Consul's watch plans build them."""
    if kind == "services":
        return "/v1/catalog/services", {}
    if kind == "service":
        if not service:
            raise click.UsageError("-type service needs -service NAME")
        return f"/v1/health/service/{segment(service)}", {"passing": "1"} if passing_only else {}
    if service:
        return f"/v1/health/checks/{segment(service)}", {}
    return f"/v1/health/state/{segment(state)}", {}


@click.command(context_settings=CONTEXT)
@http_options
@option("type", "kind", type=click.Choice(TYPES), required=True, help="What to watch.")
@option("service", default="", help="The service (required for -type service; optional for checks).")
@option("state", type=click.Choice(STATES), default="any", help="Checks in this state (-type checks).")
@option("passingonly", "passing_only", is_flag=True, help="Only passing instances (-type service).")
@option("max-runs", "max_runs", type=int, default=0, hidden=True, help="Stop after N handler runs.")
@click.argument("handler", nargs=-1)
def watch(
    client: AgentClient,
    kind: str,
    service: str,
    state: str,
    passing_only: bool,
    max_runs: int,
    handler: tuple[str, ...],
) -> None:
    """Run a handler whenever a view changes.

    Blocks on the agent and runs HANDLER (after --) with the view's JSON on stdin at each change, with
    CONSUL_INDEX set; without a handler, prints the JSON. A single HANDLER argument containing spaces
    runs through /bin/sh, as Consul's does."""
    path, query = endpoint(kind, service, state, passing_only)
    try:
        _loop(client, path, query, list(handler), max_runs)
    except KeyboardInterrupt:
        raise SystemExit(0) from None


def _loop(client: AgentClient, path: str, query: dict[str, str], handler: list[str], max_runs: int) -> None:
    index, runs, failures = 0, 0, 0
    last: bytes | None = None
    while True:
        blocking = dict(query, index=str(index), wait=WAIT) if index else query
        try:
            reply = client.call("GET", path, query=blocking, timeout=READ_TIMEOUT)
        except ClientError as exc:
            if last is None:
                raise  # never answered: the command's usual one-line error
            failures += 1
            delay = min(MAX_BACKOFF, 2.0**failures)
            click.echo(f"watch: {exc} (retrying in {delay:.0f}s)", err=True)
            time.sleep(delay)
            continue
        failures = 0
        # An index going back resets, as Consul's watch does; never block on 0 (that would not block).
        index = 0 if reply.index < index else max(1, reply.index)
        if reply.body == last:
            continue  # the index moved for something else, or the wait ran out: no change to report
        last = reply.body
        _run(handler, reply)
        runs += 1
        if max_runs and runs >= max_runs:
            return


def _run(handler: list[str], reply: Response) -> None:
    document = reply.json()
    if not handler:
        output.emit(json.dumps(document, indent=2))
        sys.stdout.flush()
        return
    command = ["/bin/sh", "-c", handler[0]] if len(handler) == 1 and " " in handler[0] else handler
    env = dict(os.environ, CONSUL_INDEX=str(reply.index))
    try:
        done = subprocess.run(command, input=json.dumps(document).encode() + b"\n", env=env, check=False)
    except OSError as exc:
        click.echo(f"watch: cannot run the handler {handler[0]!r}: {exc.strerror}", err=True)
        return
    if done.returncode != 0:
        click.echo(f"watch: the handler exited with status {done.returncode}", err=True)
