"""`muster info`: the agent's statistics from /v1/agent/self, by section, as `consul info` prints them."""

from __future__ import annotations

import click

from muster.cli import output
from muster.cli.client import AgentClient, http_options
from muster.cli.output import CONTEXT


@click.command(context_settings=CONTEXT)
@http_options
@output.format_option
def info(client: AgentClient, output_format: str) -> None:
    """Show the agent's statistics, by section."""
    document = client.get("/v1/agent/self")
    stats = document.get("Stats") or {}
    if output.wants_json(output_format):
        output.emit_json(stats)
        return
    lines = []
    for section, values in sorted(stats.items()):
        lines.append(f"{section}:")
        lines.extend(f"\t{key} = {value}".rstrip() for key, value in sorted((values or {}).items()))
    output.emit("\n".join(lines))
