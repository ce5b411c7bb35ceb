"""`muster maint`: Consul's `consul maint`: enable or disable node or service maintenance
(/v1/agent/maintenance, /v1/agent/service/maintenance/:id), or list what is in maintenance."""

from __future__ import annotations

import click

from muster.cli import output
from muster.cli.client import AgentClient, http_options, segment
from muster.cli.output import CONTEXT, option

NODE_CHECK = "_node_maintenance"
SERVICE_CHECK_PREFIX = "_service_maintenance:"


@click.command(context_settings=CONTEXT)
@http_options
@output.format_option
@option("enable", is_flag=True, help="Enter maintenance mode.")
@option("disable", is_flag=True, help="Leave maintenance mode.")
@option("service", "service_id", default="", help="A service ID: its maintenance instead of the node's.")
@option("reason", default="", help="Why, shown in the maintenance check's Notes (with -enable).")
def maint(
    client: AgentClient, output_format: str, enable: bool, disable: bool, service_id: str, reason: str
) -> None:
    """Enter, leave or list maintenance mode.

    -enable or -disable the node's maintenance, or one service's with -service ID; with neither,
    list what is in maintenance."""
    if enable and disable:
        raise click.UsageError("only one of -enable or -disable may be given")
    if reason and not enable:
        raise click.UsageError("-reason may only be given with -enable")
    if not (enable or disable):
        if service_id:
            raise click.UsageError("-service needs -enable or -disable")
        _list(client, output_format)
        return
    query = {"enable": "true" if enable else "false"}
    if reason:
        query["reason"] = reason
    state = "enabled" if enable else "disabled"
    if service_id:
        client.put(f"/v1/agent/service/maintenance/{segment(service_id)}", query=query)
        output.emit(f'Service maintenance is now {state} for "{service_id}"')
    else:
        client.put("/v1/agent/maintenance", query=query)
        output.emit(f"Node maintenance is now {state}")


def _list(client: AgentClient, output_format: str) -> None:
    found = client.get("/v1/agent/checks")
    rows = []
    for check_id, check in sorted(found.items()):
        if check_id == NODE_CHECK:
            rows.append(("node", check.get("Node", ""), check.get("Notes", "")))
        elif check_id.startswith(SERVICE_CHECK_PREFIX):
            rows.append(("service", check.get("ServiceID", ""), check.get("Notes", "")))
    if output.wants_json(output_format):
        output.emit_json([{"Kind": kind, "ID": ident, "Reason": why} for kind, ident, why in rows])
        return
    output.emit(output.listing(("KIND", "ID", "REASON"), rows, "Nothing is in maintenance."))
