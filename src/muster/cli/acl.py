"""`muster acl bootstrap|policy|token`: Consul's `consul acl` commands over the /v1/acl/* HTTP API
(bootstrap, policy create/list/read/delete, token create/list/read/delete)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from muster.cli import output
from muster.cli.client import AgentClient, APIError, http_options, segment
from muster.cli.output import CONTEXT, option
from muster.errors import ConfigError


@click.group(context_settings=CONTEXT)
def acl() -> None:
    """Manage ACLs: bootstrap, policies and tokens."""


@acl.group(context_settings=CONTEXT)
def policy() -> None:
    """Create, list, read and delete ACL policies."""


@acl.group(context_settings=CONTEXT)
def token() -> None:
    """Create, list, read and delete ACL tokens."""


# -- rendering, as Consul's "pretty" format -----------------------------------------------------------
def show_token(found: dict[str, Any]) -> str:
    pairs: list[tuple[str, Any]] = [
        ("AccessorID", found.get("AccessorID", "")),
        ("SecretID", found.get("SecretID", "")),
        ("Description", found.get("Description", "")),
        ("Local", str(bool(found.get("Local"))).lower()),
        ("Create Time", found.get("CreateTime", "")),
    ]
    if found.get("ExpirationTime"):
        pairs.append(("Expiration Time", found["ExpirationTime"]))
    lines = [output.fields(pairs)]
    links = found.get("Policies") or []
    if links:
        lines.append("Policies:")
        lines.extend(f"   {link.get('ID', '')} - {link.get('Name', '')}" for link in links)
    return "\n".join(lines)


def show_policy(found: dict[str, Any]) -> str:
    pairs = [
        ("ID", found.get("ID", "")),
        ("Name", found.get("Name", "")),
        ("Description", found.get("Description", "")),
        ("Datacenters", ", ".join(found.get("Datacenters") or [])),
    ]
    return output.fields(pairs) + "\nRules:\n" + str(found.get("Rules", ""))


def _emit(value: Any, output_format: str, show: Any) -> None:
    if output.wants_json(output_format):
        output.emit_json(value)
    else:
        output.emit(show(value))


@acl.command(context_settings=CONTEXT)
@http_options
@output.format_option
def bootstrap(client: AgentClient, output_format: str) -> None:
    """Create the initial management token (once per cluster)."""
    try:
        found = client.put("/v1/acl/bootstrap")
    except APIError as exc:
        if "bootstrap no longer allowed" not in exc.body:
            raise
        output.fail(f"the ACL system is already bootstrapped ({output.one_line(exc.body)})")
    _emit(found, output_format, show_token)


# -- policies -------------------------------------------------------------------------------------
def read_rules(value: str) -> str:
    """Consul's -rules: the text itself, `@FILE` to read a file, or `-` for standard input."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_text()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read rules file: {exc.strerror}") from None
    return value


@policy.command("create", context_settings=CONTEXT)
@http_options
@output.format_option
@option("name", required=True, help="The policy's name.")
@option("description", default="", help="A description.")
@option("rules", default="", help="HCL or JSON rules; @FILE reads a file, - reads standard input.")
@option("valid-datacenter", "datacenters", multiple=True, help="A datacenter it is valid in; repeatable.")
def create_policy(
    client: AgentClient,
    output_format: str,
    name: str,
    description: str,
    rules: str,
    datacenters: tuple[str, ...],
) -> None:
    """Create a policy."""
    body: dict[str, Any] = {"Name": name, "Description": description, "Rules": read_rules(rules)}
    if datacenters:
        body["Datacenters"] = list(datacenters)
    _emit(client.put("/v1/acl/policy", body), output_format, show_policy)


@policy.command("list", context_settings=CONTEXT)
@http_options
@output.format_option
def list_policies(client: AgentClient, output_format: str) -> None:
    """List the policies."""
    found = client.get("/v1/acl/policies")
    if output.wants_json(output_format):
        output.emit_json(found)
        return
    rows = [(p.get("ID", ""), p.get("Name", ""), p.get("Description", "")) for p in found]
    output.emit(output.listing(("ID", "NAME", "DESCRIPTION"), rows, "No policies."))


def _policy(client: AgentClient, policy_id: str, name: str) -> dict[str, Any]:
    if bool(policy_id) == bool(name):
        raise click.UsageError("give exactly one of -id or -name")
    if policy_id:
        found: dict[str, Any] = client.get(f"/v1/acl/policy/{segment(policy_id)}")
    else:
        found = client.get(f"/v1/acl/policy/name/{segment(name)}")
    return found


@policy.command("read", context_settings=CONTEXT)
@http_options
@output.format_option
@option("id", "policy_id", default="", help="The policy's ID.")
@option("name", default="", help="The policy's name.")
def read_policy(client: AgentClient, output_format: str, policy_id: str, name: str) -> None:
    """Show one policy, by -id or -name."""
    _emit(_policy(client, policy_id, name), output_format, show_policy)


@policy.command("delete", context_settings=CONTEXT)
@http_options
@option("id", "policy_id", default="", help="The policy's ID.")
@option("name", default="", help="The policy's name.")
def delete_policy(client: AgentClient, policy_id: str, name: str) -> None:
    """Delete a policy, by -id or -name."""
    if bool(policy_id) == bool(name):
        raise click.UsageError("give exactly one of -id or -name")
    if name:
        policy_id = str(_policy(client, "", name).get("ID", ""))
    client.delete(f"/v1/acl/policy/{segment(policy_id)}")
    output.emit(f'Policy "{policy_id}" deleted successfully')


# -- tokens ---------------------------------------------------------------------------------------
@token.command("create", context_settings=CONTEXT)
@http_options
@output.format_option
@option("description", default="", help="A description.")
@option("policy-id", "policy_ids", multiple=True, help="A policy ID to link; repeatable.")
@option("policy-name", "policy_names", multiple=True, help="A policy name to link; repeatable.")
@option("local", is_flag=True, help="Create a token local to this datacenter.")
@option("accessor", default="", help="The AccessorID to use (default: a new UUID).")
@option("secret", default="", help="The SecretID to use (default: a new UUID).")
@option("expires-ttl", "expires_ttl", default="", help="How long the token lives, e.g. 1h.")
def create_token(
    client: AgentClient,
    output_format: str,
    description: str,
    policy_ids: tuple[str, ...],
    policy_names: tuple[str, ...],
    local: bool,
    accessor: str,
    secret: str,
    expires_ttl: str,
) -> None:
    """Create a token linked to policies."""
    links = [{"ID": pid} for pid in policy_ids] + [{"Name": name} for name in policy_names]
    body: dict[str, Any] = {"Description": description, "Policies": links, "Local": local}
    extras = {"AccessorID": accessor, "SecretID": secret, "ExpirationTTL": expires_ttl}
    body.update({key: value for key, value in extras.items() if value})
    _emit(client.put("/v1/acl/token", body), output_format, show_token)


@token.command("list", context_settings=CONTEXT)
@http_options
@output.format_option
def list_tokens(client: AgentClient, output_format: str) -> None:
    """List the tokens."""
    found = client.get("/v1/acl/tokens")
    if output.wants_json(output_format):
        output.emit_json(found)
        return
    rows = [
        (
            t.get("AccessorID", ""),
            t.get("Description", ""),
            ", ".join(link.get("Name", "") for link in t.get("Policies") or []),
            str(bool(t.get("Local"))).lower(),
        )
        for t in found
    ]
    output.emit(output.listing(("ACCESSOR ID", "DESCRIPTION", "POLICIES", "LOCAL"), rows, "No tokens."))


@token.command("read", context_settings=CONTEXT)
@http_options
@output.format_option
@option("id", "accessor_id", default="", help="The token's AccessorID.")
@option("self", "own", is_flag=True, help="The token this command is using.")
def read_token(client: AgentClient, output_format: str, accessor_id: str, own: bool) -> None:
    """Show one token, by -id or -self."""
    if bool(accessor_id) == own:
        raise click.UsageError("give exactly one of -id or -self")
    path = "/v1/acl/token/self" if own else f"/v1/acl/token/{segment(accessor_id)}"
    _emit(client.get(path), output_format, show_token)


@token.command("delete", context_settings=CONTEXT)
@http_options
@option("id", "accessor_id", required=True, help="The token's AccessorID.")
def delete_token(client: AgentClient, accessor_id: str) -> None:
    """Delete a token."""
    client.delete(f"/v1/acl/token/{segment(accessor_id)}")
    output.emit(f'Token "{accessor_id}" deleted successfully')
