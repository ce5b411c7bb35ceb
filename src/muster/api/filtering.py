"""`?filter=` on list endpoints: compile against the endpoint's schema, answer a bad expression with
400 and Consul's text (Consul answers 500; a client's mistake is not a server error)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from muster.errors import BadRequest

T = TypeVar("T")
PREFIX = "Failed to create boolean expression evaluator: "


def apply_filter(
    expression: str, schema_name: str, items: Iterable[T], wire: Callable[[T], Mapping[str, Any]]
) -> list[T]:
    """Keep the items whose wire shape matches; the empty expression keeps everything."""
    # The filter engine (parser, schemas, RE2) costs ~3 MiB of RSS: loaded by the first filter.
    from muster.filter import SCHEMAS, FilterError, compile_filter

    try:
        compiled = compile_filter(expression, SCHEMAS[schema_name])
        return [item for item in items if compiled.matches(wire(item))]
    except FilterError as exc:
        # Creation errors carry Consul's prefix; evaluation errors are sent as they are.
        raise BadRequest(f"{PREFIX}{exc}" if exc.at_creation else str(exc)) from None
