"""The one error type of the filter package, carrying go-bexpr's text."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["syntax", "validation", "limit", "evaluation"]


class FilterError(ValueError):
    """A bad filter expression, or a filter that failed on a value.

    `str(error)` is go-bexpr v0.1.2's text without Consul's prefix. For the HTTP layer:

    * `at_creation` (kind "syntax", "validation" or "limit"): raised by `compile_filter`. Consul's body
      is `"Failed to create boolean expression evaluator: " + str(error)`.
    * not `at_creation` (kind "evaluation"): raised by `Filter.matches` / `Filter.filter` while
      evaluating (a null element in a slice of struct pointers; no AgentService or HealthCheck field
      can produce one). Consul returns the text as is, without the prefix, and the request fails as a
      whole: it does not skip the element.

    Consul answers both with 500; Muster answers 400 (a client's mistake), with the same body.
    """

    def __init__(self, message: str, *, kind: ErrorKind) -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind

    @property
    def at_creation(self) -> bool:
        return self.kind != "evaluation"

    def __str__(self) -> str:
        return self.message
