"""`muster members`: the agent's serf members (/v1/agent/members), as `consul members` prints them."""

from __future__ import annotations

from typing import Any

import click

from muster.cli import output
from muster.cli.client import AgentClient, http_options
from muster.cli.output import CONTEXT, option

# serf.MemberStatus numbers, as Consul names them.
MEMBER_STATUS = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}


@click.command(context_settings=CONTEXT)
@http_options
@output.format_option
@option("wan", is_flag=True, help="The WAN members instead of the LAN ones.")
def members(client: AgentClient, output_format: str, wan: bool) -> None:
    """List the members of the agent's cluster."""
    found = client.get("/v1/agent/members", {"wan": "1"} if wan else None)
    if output.wants_json(output_format):
        output.emit_json(found)
        return
    rows = [_row(member) for member in sorted(found, key=lambda m: m.get("Name", ""))]
    headers = ("NODE", "ADDRESS", "STATUS", "TYPE", "BUILD", "PROTOCOL", "DC")
    output.emit(output.listing(headers, rows, "No members."))


def _row(member: dict[str, Any]) -> tuple[str, ...]:
    tags = member.get("Tags") or {}
    return (
        str(member.get("Name", "")),
        f"{member.get('Addr', '')}:{member.get('Port', '')}",
        MEMBER_STATUS.get(member.get("Status", 0), "unknown"),
        "server" if tags.get("role") == "consul" else "client",
        str(tags.get("build", "")).split(":", 1)[0],
        str(tags.get("vsn", "")),
        str(tags.get("dc", "")),
    )
