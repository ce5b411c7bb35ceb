"""`python -m muster` runs the CLI."""

from muster.cli import main

main(prog_name="muster")
