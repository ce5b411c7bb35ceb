"""`muster status [SERVICE]`: Puppet's status API (/status/v1/services[/NAME]) at a detail level, with
an exit code by state: 0 running, 1 starting or stopping, 2 error or unknown."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click

from muster.cli import output
from muster.cli.client import AgentClient, http_options, segment
from muster.cli.output import CONTEXT, option

LEVELS = ("critical", "info", "debug")
EXIT_CODES = {"running": 0, "starting": 1, "stopping": 1, "error": 2, "unknown": 2}
NOT_RUNNING = 503  # the API's answer when something is not running: still an answer, with a body


@click.command(context_settings=CONTEXT)
@http_options
@output.format_option
@option("level", type=click.Choice(LEVELS), default="info", show_default=True, help="Detail level.")
@click.argument("service", required=False)
def status(client: AgentClient, output_format: str, level: str, service: str | None) -> None:
    """Show the agent's status (Puppet's status API).

    Every subsystem, or one SERVICE in detail. Exit 0 running, 1 starting or stopping, 2 error or
    unknown."""
    path = "/status/v1/services" + (f"/{segment(service)}" if service else "")
    reply = client.call("GET", path, query={"level": level}, answers=(NOT_RUNNING,))
    document: dict[str, Any] = reply.json() or {}
    entries = {service: document} if service else document
    if output.wants_json(output_format):
        output.emit_json(document)
    elif service:
        output.emit(_detail(service, document))
    else:
        rows = [
            (name, entry.get("state", ""), entry.get("service_version", ""), _alerts(entry))
            for name, entry in sorted(entries.items())
        ]
        output.emit(output.listing(("SERVICE", "STATE", "VERSION", "ALERTS"), rows, "No services.", (1,)))
    states = [str(entry.get("state", "unknown")) for entry in entries.values()]
    raise SystemExit(max((EXIT_CODES.get(state, 2) for state in states), default=0))


def _alerts(entry: dict[str, Any]) -> str:
    counts = Counter(str(alert.get("severity", "")) for alert in entry.get("active_alerts") or [])
    return ", ".join(f"{count} {severity}" for severity, count in sorted(counts.items()))


def _detail(name: str, entry: dict[str, Any]) -> str:
    pairs = [
        ("Service", name),
        ("State", output.colour(str(entry.get("state", "")))),
        ("Version", entry.get("service_version", "")),
        ("Status version", entry.get("service_status_version", "")),
        ("Detail level", entry.get("detail_level", "")),
    ]
    lines = [output.fields(pairs)]
    alerts = entry.get("active_alerts") or []
    if alerts:
        lines.append("Alerts:")
        lines.extend(f"   {a.get('severity', '')}: {a.get('message', '')}" for a in alerts)
    if entry.get("status") not in (None, {}):
        lines.append("Status:")
        lines.append(json.dumps(entry["status"], indent=2))
    return "\n".join(lines)
