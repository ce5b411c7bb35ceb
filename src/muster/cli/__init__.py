"""The `muster` command line: `muster agent` runs the agent; other commands talk to one over HTTP."""

from __future__ import annotations

import click

from muster import __version__
from muster.cli.agent import agent


@click.group(context_settings={"help_option_names": ["-h", "--help", "-help"]})
@click.version_option(__version__, "-version", "--version", prog_name="muster")
def main() -> None:
    """Muster: a service registry and health agent that speaks Consul's agent API."""


main.add_command(agent)
