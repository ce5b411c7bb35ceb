"""`muster catalog services|nodes`: Consul's `consul catalog` commands, against /v1/catalog/services
and /v1/catalog/nodes."""

from __future__ import annotations

import click

from muster.cli import output
from muster.cli.client import AgentClient, http_options
from muster.cli.output import CONTEXT, option

SHORT_ID = 8  # Consul prints the first 8 characters of a node ID unless -detailed


@click.group(context_settings=CONTEXT)
def catalog() -> None:
    """Read the catalog: the services and nodes it knows."""


@catalog.command(context_settings=CONTEXT)
@http_options
@output.format_option
@option("tags", "show_tags", is_flag=True, help="Also list each service's tags.")
def services(client: AgentClient, output_format: str, show_tags: bool) -> None:
    """List the services in the catalog."""
    found = client.get("/v1/catalog/services")
    if output.wants_json(output_format):
        output.emit_json(found)
        return
    if show_tags:
        rows = [(name, output.tags(tags)) for name, tags in sorted(found.items())]
        output.emit(output.listing(("SERVICE", "TAGS"), rows, "No services in the catalog."))
    else:
        output.emit("\n".join(sorted(found)) if found else "No services in the catalog.")


@catalog.command(context_settings=CONTEXT)
@http_options
@output.format_option
@option("filter", "expression", default="", help="A filter expression over the nodes.")
@option("detailed", is_flag=True, help="Show full node IDs and the tagged addresses.")
def nodes(client: AgentClient, output_format: str, expression: str, detailed: bool) -> None:
    """List the nodes in the catalog."""
    found = client.get("/v1/catalog/nodes", {"filter": expression} if expression else None)
    if output.wants_json(output_format):
        output.emit_json(found)
        return
    rows = []
    for node in sorted(found, key=lambda n: n.get("Node", "")):
        node_id = str(node.get("ID", ""))
        row = [node.get("Node", ""), node_id if detailed else node_id[:SHORT_ID], node.get("Address", "")]
        row.append(node.get("Datacenter", ""))
        if detailed:
            addresses = node.get("TaggedAddresses") or {}
            row.append(",".join(f"{k}={v}" for k, v in sorted(addresses.items())))
        rows.append(row)
    headers = ["NODE", "ID", "ADDRESS", "DC"] + (["TAGGED ADDRESSES"] if detailed else [])
    output.emit(output.listing(headers, rows, "No nodes in the catalog."))
