"""One match expression (`selector op value`) checked against a type and turned into a test of a JSON
value: go-bexpr v0.1.2's `validate.go` (creation errors) and `evaluate.go` (the runtime walk).

The walk follows the type, step by step: a struct field (absent or null = Go's zero value), a map key
(absent = the "missing" answer below), every element of a slice of structs (true if any element
matches). go-bexpr panics on a null struct pointer; Muster answers as for a missing map key.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeAlias

from muster.filter.ast import Match, Op
from muster.filter.errors import FilterError
from muster.filter.gostr import StrconvError, round_float32
from muster.filter.regex import RegexError, compile_search
from muster.filter.types import (
    GoType,
    Map,
    Prim,
    Ptr,
    Slice,
    Struct,
    coercer,
    deref,
    has_subfields,
    operators,
)
from muster.golang import quote

Test: TypeAlias = Callable[[Any], bool]

# What a match answers when its selector reaches an absent map key or a null struct pointer. `matches`
# answering true is go-bexpr v0.1.2's behaviour for missing keys (a bug, fixed in later versions).
MISSING: Mapping[Op, bool] = MappingProxyType(
    {
        Op.EQUAL: False,
        Op.IS_NOT_EMPTY: False,
        Op.IN: False,
        Op.NOT_EQUAL: True,
        Op.IS_EMPTY: True,
        Op.NOT_IN: True,
        Op.MATCHES: True,
        Op.NOT_MATCHES: True,
    }
)
_ABSENT = object()
_EMPTY_STRUCT: Mapping[str, Any] = MappingProxyType({})
_NEGATED = MappingProxyType(
    {
        Op.NOT_EQUAL: Op.EQUAL,
        Op.NOT_IN: Op.IN,
        Op.NOT_MATCHES: Op.MATCHES,
        Op.IS_NOT_EMPTY: Op.IS_EMPTY,
    }
)


def compile_match(match: Match, root: GoType) -> Test:
    """A test of a whole element for `match`, or FilterError (kind "validation") with go-bexpr's text."""
    test, go_type = _resolve(match, root)
    if match.op not in operators(go_type):
        raise FilterError(
            f"Invalid match operator {quote(match.op.value)} for selector {quote(match.path)}",
            kind="validation",
        )
    value: Any = None
    coerce = coercer(go_type)
    if match.value is not None and coerce is not None:
        try:
            value = coerce(match.value)
        except StrconvError as exc:
            raise FilterError(
                f"Failed to coerce value {quote(match.value)} for selector {quote(match.path)}: {exc}",
                kind="validation",
            ) from None
    return test(_leaf(go_type, match.op, value))


def _resolve(match: Match, root: GoType) -> tuple[Callable[[Test], Test], GoType]:
    """The type the selector reaches, and a function wrapping a leaf test in the walk that gets there."""
    steps: list[Callable[[Test], Test]] = []
    current = root
    missing = MISSING[match.op]
    for index, part in enumerate(match.selector):
        go_type = deref(current)
        while isinstance(go_type, Slice) and has_subfields(go_type):
            steps.append(_any_step(".".join(match.selector[:index]), go_type.elem))
            current = go_type.elem
            go_type = deref(current)
        if isinstance(go_type, Struct) and part in go_type.fields:
            field = go_type.fields[part]
            steps.append(_field_step(field.json, field.type, missing))
            current = field.type
        elif isinstance(go_type, Map) and has_subfields(go_type):
            steps.append(_key_step(part, go_type.value, missing))
            current = go_type.value
        else:
            path = ".".join(match.selector[: index + 1])
            raise FilterError(f"Selector {quote(path)} is not valid", kind="validation")

    def wrap(test: Test) -> Test:
        for step in reversed(steps):
            test = step(test)
        return test

    return wrap, current


def _zero(go_type: GoType) -> Any:
    """Go's zero value as it looks after JSON decoding (null slices and maps stay None)."""
    if isinstance(go_type, Prim):
        return go_type.zero
    return _EMPTY_STRUCT if isinstance(go_type, Struct) else None


def _field_step(key: str, go_type: GoType, missing: bool) -> Callable[[Test], Test]:
    zero = _zero(go_type)

    def wrap(then: Test) -> Test:
        if isinstance(go_type, Ptr):

            def pointer(value: Any) -> bool:
                try:
                    found = value.get(key)
                except AttributeError:
                    found = None
                return missing if found is None else then(found)

            return pointer

        def field(value: Any) -> bool:
            try:
                found = value.get(key)
            except AttributeError:  # not an object: as Go's zero struct
                found = None
            return then(zero if found is None else found)

        return field

    return wrap


def _key_step(key: str, go_type: GoType, missing: bool) -> Callable[[Test], Test]:
    zero = _zero(go_type)
    nullable = isinstance(go_type, Ptr)

    def wrap(then: Test) -> Test:
        def lookup(value: Any) -> bool:
            try:
                found = value.get(key, _ABSENT)
            except AttributeError:  # a null map has no keys
                return missing
            if found is _ABSENT or (found is None and nullable):
                return missing
            return then(zero if found is None else found)

        return lookup

    return wrap


def _any_step(path: str, elem: GoType) -> Callable[[Test], Test]:
    zero = _zero(elem)
    pointers = isinstance(elem, Ptr)

    def wrap(then: Test) -> Test:
        def any_element(value: Any) -> bool:
            if not isinstance(value, list):
                return False
            for item in value:
                if item is None:
                    if pointers:
                        raise FilterError(
                            f"Value at selector {quote(path)} with type invalid does not support nested "
                            "field selection",
                            kind="evaluation",
                        )
                    item = zero
                if then(item):
                    return True
            return False

        return any_element

    return wrap


def _leaf(go_type: GoType, op: Op, value: Any) -> Test:
    positive = _positive_leaf(deref(go_type), _NEGATED.get(op, op), value)
    if op not in _NEGATED:
        return positive
    return lambda found: not positive(found)


def _positive_leaf(go_type: GoType, op: Op, value: Any) -> Test:
    if op is Op.IS_EMPTY:
        return lambda found: not found
    if op is Op.MATCHES:
        try:
            search = compile_search(value)
        except RegexError as exc:
            raise FilterError(
                f"Failed to compile regular expression {quote(value)}: {exc}", kind="validation"
            ) from None
        return lambda found: isinstance(found, str) and search(found)
    if op is Op.IN:
        if isinstance(go_type, Prim):  # substring
            return lambda found: isinstance(found, str) and value in found
        if isinstance(go_type, Map):  # key
            return lambda found: isinstance(found, dict) and value in found
        if isinstance(go_type, Slice) and go_type.elem == Prim("float", 32):
            return lambda found: isinstance(found, list) and any(_float32(item) == value for item in found)
        return lambda found: isinstance(found, list) and value in found  # element
    if go_type == Prim("float", 32):
        return lambda found: _float32(found) == value
    return lambda found: bool(found == value)


def _float32(value: Any) -> float:
    try:
        return round_float32(float(value))
    except (OverflowError, TypeError, ValueError):
        return math.nan  # not a float32 value: equal to nothing
