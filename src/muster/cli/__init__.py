"""The `muster` command line: `muster agent` runs the agent; other commands talk to one over HTTP."""

from __future__ import annotations

import click

from muster import __version__
from muster.cli.acl import acl
from muster.cli.agent import agent
from muster.cli.catalog import catalog
from muster.cli.checks import checks
from muster.cli.health import health
from muster.cli.info import info
from muster.cli.maint import maint
from muster.cli.members import members
from muster.cli.reload import reload
from muster.cli.services import services
from muster.cli.status import status
from muster.cli.validate import validate
from muster.cli.watch import watch


@click.group(context_settings={"help_option_names": ["-h", "--help", "-help"]})
@click.version_option(__version__, "-version", "--version", prog_name="muster")
def main() -> None:
    """Muster: a service registry and health agent that speaks Consul's agent API."""


main.add_command(agent)
main.add_command(acl)
main.add_command(catalog)
main.add_command(checks)
main.add_command(health)
main.add_command(info)
main.add_command(maint)
main.add_command(members)
main.add_command(reload)
main.add_command(services)
main.add_command(status)
main.add_command(validate)
main.add_command(watch)
