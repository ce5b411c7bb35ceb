"""`?filter=` on list endpoints: compile against the endpoint's schema, answer a bad expression with
400 and Consul's text (Consul answers 500; a client's mistake is not a server error)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from muster.errors import BadRequest

T = TypeVar("T")


def apply_filter(
    expression: str, schema_name: str, items: Iterable[T], wire: Callable[[T], Mapping[str, Any]]
) -> list[T]:
    from muster.filter import SCHEMAS, FilterError, compile_filter

    try:
        compiled = compile_filter(expression, SCHEMAS[schema_name])
        return [item for item in items if compiled.matches(wire(item))]
    except FilterError as exc:
        raise BadRequest(f"Failed to create boolean expression evaluator: {exc}") from None
