"""`muster services register|deregister|list`: Consul's `consul services` commands, against
/v1/agent/service/register, /v1/agent/service/deregister/:id and /v1/agent/services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from muster import config as config_mod
from muster.cli import output
from muster.cli.client import AgentClient, http_options, segment
from muster.cli.output import CONTEXT, option
from muster.errors import ConfigError


@click.group(context_settings=CONTEXT)
def services() -> None:
    """Register, deregister and list the services of an agent."""


def definitions_in(path: Path) -> list[dict[str, Any]]:
    """The service definitions of a Consul config file (`service {}` or `services [...]`), in the
    API's spelling."""
    data = config_mod.parse_file(path)
    found: list[Any] = []
    for key in ("service", "services"):
        value = data.get(key)
        if value is not None:
            found.extend(value if isinstance(value, list) else [value])
    if not found:
        raise ConfigError(f'{path}: no service definition found (expected a "service" or "services" key)')
    if not all(isinstance(item, dict) for item in found):
        raise ConfigError(f"{path}: a service definition must be an object")
    return [config_mod.config_keys_to_api(item) for item in found]


def _field(definition: dict[str, Any], name: str) -> str:
    for key, value in definition.items():
        if key.lower() == name:
            return str(value)
    return ""


def _meta(pairs: tuple[str, ...]) -> dict[str, str]:
    meta = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f'"{pair}": use key=value', param_hint="-meta")
        meta[key] = value
    return meta


@services.command(context_settings=CONTEXT)
@http_options
@option("name", default="", help="Service name.")
@option("id", "service_id", default="", help="Service ID (default: the name).")
@option("address", default="", help="Service address (default: the node's).")
@option("port", type=int, default=None, help="Service port.")
@option("tag", "tag_list", multiple=True, help="A tag; repeatable.")
@option("meta", "meta_list", multiple=True, help="key=value metadata; repeatable.")
@click.argument("file", required=False, type=click.Path(path_type=Path))
def register(
    client: AgentClient,
    file: Path | None,
    name: str,
    service_id: str,
    address: str,
    port: int | None,
    tag_list: tuple[str, ...],
    meta_list: tuple[str, ...],
) -> None:
    """Register services from a FILE or from flags.

    FILE is JSON or HCL in Consul's service definition format: a `service` block or a `services`
    list, with their checks."""
    if file is not None and (name or service_id or address or port is not None or tag_list or meta_list):
        raise click.UsageError("give a FILE or -name and its flags, not both")
    if file is None:
        if not name:
            raise click.UsageError("give a FILE or at least -name")
        definition: dict[str, Any] = {"Name": name}
        extras = {"ID": service_id, "Address": address, "Tags": list(tag_list), "Meta": _meta(meta_list)}
        definition.update({key: value for key, value in extras.items() if value})
        if port is not None:
            definition["Port"] = port
        found = [definition]
    else:
        found = definitions_in(file)
    for item in found:
        client.put("/v1/agent/service/register", item)
        output.emit(f"Registered service: {_field(item, 'name')}")


@services.command(context_settings=CONTEXT)
@http_options
@option("id", "service_id", default="", help="The service ID (instead of the argument).")
@click.argument("target", required=False)
def deregister(client: AgentClient, target: str | None, service_id: str) -> None:
    """Deregister a service by ID, or every service defined in a config FILE."""
    if bool(target) == bool(service_id):
        raise click.UsageError("give exactly one service ID or FILE (or -id ID)")
    ids = [service_id] if service_id else []
    if target:
        path = Path(target)
        if path.is_file():
            ids = [_field(d, "id") or _field(d, "name") for d in definitions_in(path)]
        else:
            ids = [target]
    for sid in ids:
        client.put(f"/v1/agent/service/deregister/{segment(sid)}")
        output.emit(f"Deregistered service: {sid}")


@services.command("list", context_settings=CONTEXT)
@http_options
@output.format_option
@option("filter", "expression", default="", help="A filter expression, e.g. 'Service == web'.")
def list_services(client: AgentClient, output_format: str, expression: str) -> None:
    """List the services registered with the agent."""
    found = client.get("/v1/agent/services", {"filter": expression} if expression else None)
    if output.wants_json(output_format):
        output.emit_json(found)
        return
    rows = [
        (
            sid,
            svc.get("Service", ""),
            svc.get("Address", ""),
            svc.get("Port", 0),
            output.tags(svc.get("Tags")),
        )
        for sid, svc in sorted(found.items())
    ]
    output.emit(output.listing(("ID", "SERVICE", "ADDRESS", "PORT", "TAGS"), rows, "No services registered."))
