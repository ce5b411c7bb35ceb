"""What the CLI prints: aligned tables, colour only on a terminal, `-format json`, and the one-line
error messages (an unreachable agent, a 403, a bad file) with the exit code, as Consul's CLI does."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, TypeVar

import click

FC = TypeVar("FC", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help", "-help"]}
FORMATS = ("text", "pretty", "json")  # "pretty" is Consul's name for the human format of `acl ...`
# Health and status words, and the colour each gets on a terminal.
COLOURS = {
    "passing": "green",
    "running": "green",
    "warning": "yellow",
    "starting": "yellow",
    "stopping": "yellow",
    "critical": "red",
    "maintenance": "red",
    "error": "red",
    "unknown": "red",
}
_ELLIPSIS = "..."
_DENIED = "permission denied"


def option(name: str, *dest: str, **kwargs: Any) -> Callable[[FC], FC]:
    """A flag that Consul spells with one dash and that also takes the usual two."""
    return click.option(f"-{name}", f"--{name}", *dest, **kwargs)


def format_option(func: FC) -> FC:
    return option(
        "format",
        "output_format",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="text (aligned, for people) or json (for machines).",
    )(func)


def wants_json(output_format: str) -> bool:
    return output_format == "json"


# -- errors -------------------------------------------------------------------------------------
def one_line(text: str) -> str:
    """Multi-line texts (Go multierrors, parser errors) joined so an error stays one line."""
    parts = [part.strip().lstrip("*").strip() for part in text.strip().splitlines()]
    parts = [part for part in parts if part]
    if len(parts) > 1 and parts[0].endswith(":"):  # "2 errors occurred:" heads its list
        return (parts[0] + " " + "; ".join(parts[1:])).rstrip(".;")
    return "; ".join(parts).rstrip(".;")


def unreachable_message(url: str, reason: str) -> str:
    return (
        f"cannot reach the agent at {url} ({reason}): is `muster agent` running? "
        "Set -http-addr or CONSUL_HTTP_ADDR."
    )


def forbidden_message(body: str) -> str:
    text = one_line(body)
    if text.lower().startswith(_DENIED):
        text = text[len(_DENIED) :].lstrip(" :")
    return f"permission denied: {text}. Pass a token with -token or CONSUL_HTTP_TOKEN."


def api_error_message(status: int, body: str, method: str, path: str) -> str:
    text = _error_text(body)
    if status == 403:
        return forbidden_message(text or "ACL not found")
    if status == 404 and text.startswith("Invalid URL path"):
        return f"this agent does not serve {method} {path} (404: {text}); is it a newer Muster or Consul?"
    return f"the agent answered {status} to {method} {path}: {text or '(no body)'}"


def _error_text(body: str) -> str:
    """Consul errors are plain text; the status API's are `{"kind", "msg"}` JSON."""
    try:
        document = json.loads(body)
    except ValueError:
        return one_line(body)
    if isinstance(document, dict) and isinstance(document.get("msg"), str):
        return one_line(document["msg"])
    return one_line(body)


def error_line(message: str) -> str:
    return f"Error: {message}"


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(error_line(message), err=True)
    sys.exit(code)


# -- tables, colour, JSON ---------------------------------------------------------------------------
def colour(word: str) -> str:
    """A status word, coloured; click.echo drops the colour when stdout is not a terminal."""
    fg = COLOURS.get(word)
    return click.style(word, fg=fg, bold=fg == "red") if fg else word


def truncate(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - len(_ELLIPSIS)] + _ELLIPSIS


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], coloured: Sequence[int] = ()) -> str:
    """Columns padded to the widest cell; cells at `coloured` positions are status words."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [_row([click.style(h, bold=True) for h in headers], list(headers), widths)]
    for row in cells:
        shown = [colour(cell) if i in coloured else cell for i, cell in enumerate(row)]
        lines.append(_row(shown, row, widths))
    return "\n".join(lines)


def listing(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str, coloured: Sequence[int] = ()
) -> str:
    """A table, or one sentence saying there is nothing to list."""
    return table(headers, rows, coloured) if rows else empty


def _row(shown: Sequence[str], plain: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell + " " * (width - len(raw)) for cell, raw, width in zip(shown, plain, widths, strict=True)]
    return "  ".join(padded).rstrip()


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """`Name:   value` lines with the values aligned, as Consul prints one ACL token or policy."""
    width = max(len(name) for name, _ in pairs) + 2
    return "\n".join(f"{name + ':':<{width}}{value}".rstrip() for name, value in pairs)


def emit(text: str) -> None:
    click.echo(text)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=False))


def tags(values: Any) -> str:
    return ",".join(str(v) for v in values) if values else ""
