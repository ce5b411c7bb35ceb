"""`muster validate FILE|DIR...`: Consul's `consul validate`: check config files offline exactly as the
agent reads them at start (keys, types, service and check definitions), without serving anything."""

from __future__ import annotations

from pathlib import Path

import click

from muster import config as config_mod
from muster.cli import output
from muster.cli.output import CONTEXT, option
from muster.errors import ConfigError


def validate_paths(paths: tuple[Path, ...]) -> tuple[int, int]:
    """Load the files (a directory: its *.json and *.hcl) and their definitions into a throw-away
    in-memory agent; return (services, checks), or raise ConfigError naming the file and key."""
    from muster.agent.root import load_offline  # the agent's whole import graph, only for this command

    files = tuple(str(path) for path in paths if not path.is_dir())
    dirs = tuple(str(path) for path in paths if path.is_dir())
    config = config_mod.load({"config_file": files, "config_dir": dirs, "dev": True}, environ={})
    return load_offline(config)


@click.command(context_settings=CONTEXT)
@option("quiet", is_flag=True, help="Print nothing when the configuration is valid.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...], quiet: bool) -> None:
    """Check config files without starting an agent.

    Each FILE is read as the agent would; a DIR contributes its *.json and *.hcl files."""
    missing = [path for path in paths if not path.exists()]
    if missing:
        output.fail(f"{missing[0]}: no such file or directory")
    try:
        services, checks = validate_paths(paths)
    except ConfigError as exc:
        output.fail(f"config validation failed: {output.one_line(str(exc))}")
    if not quiet:
        output.emit(f"Configuration is valid! ({services} services, {checks} checks)")
