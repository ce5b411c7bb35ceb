"""`muster checks list`: the agent's checks (/v1/agent/checks) with their status and output."""

from __future__ import annotations

import click

from muster.cli import output
from muster.cli.client import AgentClient, http_options
from muster.cli.output import CONTEXT, option

OUTPUT_WIDTH = 60


@click.group(context_settings=CONTEXT)
def checks() -> None:
    """Read the checks of an agent."""


@checks.command("list", context_settings=CONTEXT)
@http_options
@output.format_option
@option("filter", "expression", default="", help="A filter expression, e.g. 'Status == critical'.")
@option("service", "service_id", default="", help="Only the checks of this service ID.")
def list_checks(client: AgentClient, output_format: str, expression: str, service_id: str) -> None:
    """List the checks registered with the agent."""
    found = client.get("/v1/agent/checks", {"filter": expression} if expression else None)
    if service_id:
        found = {cid: c for cid, c in found.items() if c.get("ServiceID") == service_id}
    if output.wants_json(output_format):
        output.emit_json(found)
        return
    rows = [
        (
            cid,
            check.get("Name", ""),
            check.get("Status", ""),
            check.get("ServiceID", ""),
            output.truncate(check.get("Output", "") or check.get("Notes", ""), OUTPUT_WIDTH),
        )
        for cid, check in sorted(found.items())
    ]
    headers = ("CHECK ID", "NAME", "STATUS", "SERVICE", "OUTPUT")
    output.emit(output.listing(headers, rows, "No checks registered.", coloured=(2,)))
