"""`muster agent`'s flags, generated from the SETTINGS table and parsed as Consul's agent parses them
(Go's `flag` package): `-flag value`, `-flag=value`, `--flag`; booleans as `-ui`, `-ui=false` (never
`-ui false`); repeatable lists; an unknown flag named in Go's words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import click

from muster.settings import FLAGS, Setting, default_text

HELP_NAMES = ("-h", "--help", "-help")
_BOOL_WORDS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}
_METAVARS: dict[type | tuple[type, ...], str] = {
    bool: "[=BOOL]",
    int: "NUMBER",
    (int, float): "NUMBER",
    dict: "KEY:VALUE",
}
_ATOI = re.compile(r"[+-]?[0-9]+")  # strconv.Atoi: an optional sign and decimal digits, nothing else


def parse_bool(text: str) -> bool | None:
    """strconv.ParseBool: the twelve spellings Go accepts; None for anything else."""
    return _BOOL_WORDS.get(text)


def convert(setting: Setting, value: str) -> Any:
    """A flag's text as Consul's flag.Value types read it (strconv.ParseBool, strconv.Atoi), or Go's
    error naming the flag."""
    if setting.kind is bool:
        parsed = parse_bool(value)
        if parsed is None:
            raise click.UsageError(f'invalid boolean value "{value}" for {setting.flag}: parse error')
        return parsed
    if setting.kind is int and _ATOI.fullmatch(value):
        return int(value)
    if setting.kind == (int, float):
        try:
            return float(value)
        except ValueError:
            pass
    elif setting.kind is not int:
        return value
    raise click.UsageError(f'invalid value "{value}" for flag {setting.flag}: parse error')


class GoValue(click.ParamType[Any]):
    """A flag value converted by convert(): go_args has checked every occurrence already, as Go does
    (click converts only the last one of a flag given twice)."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting
        self.name = "value"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return convert(self.setting, value) if isinstance(value, str) else value


def option(setting: Setting) -> click.Option:
    """The click option of one SETTINGS row: `-name` and `--name`, its value kept under `dest`."""
    repeatable = setting.kind in (list, dict)
    where = f" [{setting.key}; default {default_text(setting)}]" if setting.key else ""
    return click.Option(
        [setting.flag, f"-{setting.flag}", setting.dest],
        type=click.STRING if repeatable else GoValue(setting),
        multiple=repeatable,
        default=None,
        metavar=_METAVARS.get(setting.kind, "TEXT"),
        help=f"{setting.help}{where}",
    )


def options() -> list[click.Option]:
    return [option(setting) for setting in FLAGS]


def _by_name() -> dict[str, Setting]:
    return {setting.flag.lstrip("-"): setting for setting in FLAGS}


def go_args(args: Sequence[str]) -> list[str]:
    """Parse a command line as Go's flag package does and hand click `-flag value` pairs: a boolean flag
    without `=value` is true (the next word is never its value), every value is checked where it stands.
    As Go, parsing stops at the first word that is not a flag (or after `--`); any such word is an error,
    as in `consul agent`."""
    known = _by_name()
    out: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in HELP_NAMES:
            out.append(arg)
            index += 1
            continue
        if arg == "--" or not arg.startswith("-") or arg == "-":
            rest = args[index + 1 :] if arg == "--" else args[index:]
            if rest:
                raise click.UsageError(f"Unexpected extra arguments: [{' '.join(rest)}]")
            break
        name, has_value, _ = arg[2 if arg.startswith("--") else 1 :].partition("=")
        setting = known.get(name)
        if setting is None or name.startswith("-"):
            raise click.UsageError(f"flag provided but not defined: -{name}")
        if has_value or setting.kind is bool:
            value = arg.partition("=")[2] if has_value else "true"
        elif index + 1 < len(args):
            index += 1
            value = args[index]  # as Go: the next word is the value, even "-1" or "-x"
        else:
            raise click.UsageError(f"flag needs an argument: -{name}")
        convert(setting, value)
        out += [setting.flag, value]  # click takes the value from the next word, whatever it is
        index += 1
    return out


class AgentCommand(click.Command):
    """A click command whose flags follow Go's rules (see go_args)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            normalised = go_args(args)
        except click.UsageError as exc:
            exc.ctx = ctx  # so that the usage line and "Try ... -h" are printed
            raise
        return super().parse_args(ctx, normalised)
