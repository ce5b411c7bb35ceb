"""`muster health SERVICE`: the local health of a service by name (/v1/agent/health/service/name/:name)
as an exit code scripts can use: 0 passing, 1 warning, 2 critical, maintenance or unknown."""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from muster.cli import output
from muster.cli.client import AgentClient, ClientError, http_options, segment
from muster.cli.output import CONTEXT

UNKNOWN = "unknown"
EXIT_CODES = {"passing": 0, "warning": 1, "critical": 2, "maintenance": 2, UNKNOWN: 2}
HEALTH_ANSWERS = (429, 503, 404)  # the endpoint's status code is the health, not a failure
STATUS_ORDER = ("passing", "warning", "critical", "maintenance")


@click.command(context_settings=CONTEXT)
@http_options
@output.format_option
@click.argument("service")
def health(client: AgentClient, output_format: str, service: str) -> None:
    """Show a service's health as an exit code.

    Exit 0 passing, 1 warning, 2 critical, maintenance, unknown service or unreachable agent."""
    try:
        reply = client.call(
            "GET", f"/v1/agent/health/service/name/{segment(service)}", answers=HEALTH_ANSWERS
        )
    except ClientError as exc:
        output.fail(str(exc), EXIT_CODES[UNKNOWN])
    instances: list[dict[str, Any]] = (reply.json() or []) if reply.status != 404 else []
    status = _worst(instances)
    if output.wants_json(output_format):
        output.emit_json({"Service": service, "AggregatedStatus": status, "Instances": instances})
    else:
        output.emit(f"{service}: {output.colour(status)}")
        if instances:
            output.emit(output.table(("ID", "STATUS", "CHECKS"), _rows(instances), coloured=(1,)))
        else:
            output.emit(f'No service named "{service}" is registered with this agent.')
    raise SystemExit(EXIT_CODES.get(status, EXIT_CODES[UNKNOWN]))


def _worst(instances: list[dict[str, Any]]) -> str:
    statuses = [str(instance.get("AggregatedStatus", UNKNOWN)) for instance in instances]
    if not statuses:
        return UNKNOWN
    return max(statuses, key=lambda s: (EXIT_CODES.get(s, 2), s == "maintenance"))


def _rows(instances: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    rows = []
    for instance in instances:
        counts = Counter(str(check.get("Status", "")) for check in instance.get("Checks") or [])
        summary = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s]) or "no checks"
        service = instance.get("Service") or {}
        rows.append((str(service.get("ID", "")), str(instance.get("AggregatedStatus", "")), summary))
    return rows
