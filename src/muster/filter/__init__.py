"""Consul's `?filter=` language: go-bexpr v0.1.2 (the version Consul links), parsed, type-checked
against a schema and evaluated over JSON wire shapes, with go-bexpr's exact error texts.

    flt = compile_filter('Service == "web" and "primary" in Tags', SCHEMAS["AgentService"])
    flt.matches(service_json)  # -> bool

Where Muster deliberately differs from go-bexpr v0.1.2:

* A selector that steps through a null struct pointer (`Proxy`, `Connect`, `Proxy.TransparentProxy`,
  `Proxy.AccessLogs` on services without them) is a missing value, answered like a missing map key:
  `==`, `in`, `is not empty` false; `!=`, `not in`, `is empty`, `not matches` true; `matches` true (the
  v0.1.2 missing-key rule, kept for consistency). go-bexpr panics and Consul drops the connection.
* The parser is linear-time (go-bexpr's is exponential in parenthesis depth) and bounded: expressions
  over MAX_EXPRESSION_BYTES (64 KiB) or nesting parentheses deeper than MAX_NESTING (256) are
  rejected with a FilterError of kind "limit". Within those limits the accepted language, trees and
  every syntax error text are go-bexpr's.
* `matches` uses RE2 through google-re2 (Go uses its own port of RE2): Go's error texts are
  reproduced; `\\C` is rejected as Go does. A float32 literal is rounded via float64, which can differ
  from Go in the last bit for values exactly halfway between two float32s.
* An expression containing lone surrogates (bytes that were not UTF-8) is parsed as text; go-bexpr
  would add an `invalid encoding` error.

The empty expression means "no filter" (a filter that keeps everything), as in Consul's handlers.
"""

from __future__ import annotations

from muster.filter.compiler import Filter, Schema, compile_filter
from muster.filter.errors import FilterError
from muster.filter.parser import MAX_EXPRESSION_BYTES, MAX_NESTING
from muster.filter.schemas import SCHEMAS

__all__ = [
    "MAX_EXPRESSION_BYTES",
    "MAX_NESTING",
    "SCHEMAS",
    "Filter",
    "FilterError",
    "Schema",
    "compile_filter",
]
