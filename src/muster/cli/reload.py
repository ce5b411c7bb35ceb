"""`muster reload`: ask the agent to re-read its config files (PUT /v1/agent/reload)."""

from __future__ import annotations

import click

from muster.cli import output
from muster.cli.client import AgentClient, http_options
from muster.cli.output import CONTEXT


@click.command(context_settings=CONTEXT)
@http_options
def reload(client: AgentClient) -> None:
    """Make the agent re-read its config files."""
    client.put("/v1/agent/reload")
    output.emit("Configuration reload triggered")
