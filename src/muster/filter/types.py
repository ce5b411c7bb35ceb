"""The Go type model behind a filter's static checks: go-bexpr v0.1.2's "field configurations"
(`field_config.go`) derived from Go types, here described directly.

A selector walks the type, not the data: struct fields by their Go names (case-sensitive), any key of
a string-keyed map, and through a slice of structs to the element's fields (matched as "any element").
Each type allows a fixed set of operators and coerces the expression's raw value one way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias

from muster.filter import gostr
from muster.filter.ast import Op

Coerce: TypeAlias = Callable[[str], Any]

STRING_OPS = frozenset((Op.EQUAL, Op.NOT_EQUAL, Op.IN, Op.NOT_IN, Op.MATCHES, Op.NOT_MATCHES))
SCALAR_OPS = frozenset((Op.EQUAL, Op.NOT_EQUAL))
EMPTY_OPS = frozenset((Op.IS_EMPTY, Op.IS_NOT_EMPTY))
MEMBER_OPS = frozenset((Op.IN, Op.NOT_IN, Op.IS_EMPTY, Op.IS_NOT_EMPTY))


@dataclass(frozen=True, slots=True)
class Prim:
    """A Go string, bool, int/uint of `bits`, or float of `bits` (32 or 64)."""

    kind: str  # "string" | "bool" | "int" | "uint" | "float"
    bits: int = 64

    def coerce(self, raw: str) -> Any:
        """The raw expression value as this type, or StrconvError with Go's text."""
        if self.kind == "string":
            return raw
        if self.kind == "bool":
            return gostr.parse_bool(raw)
        if self.kind == "int":
            return gostr.parse_int(raw, self.bits)
        if self.kind == "uint":
            return gostr.parse_uint(raw, self.bits)
        return gostr.parse_float(raw, self.bits)

    @property
    def zero(self) -> Any:
        return {"string": "", "bool": False, "float": 0.0}.get(self.kind, 0)


@dataclass(frozen=True, slots=True)
class Field:
    """A selectable struct field: its Go type and the key it has in the JSON wire shape."""

    type: GoType
    json: str


class Struct:
    """A Go struct; `fields` maps selector names to fields. Unexported and `bexpr:"-"` fields are
    simply left out (selecting them is "not valid"), though the JSON may carry them."""

    __slots__ = ("fields", "name")

    def __init__(self, name: str, fields: Mapping[str, GoType | Field]) -> None:
        self.name = name
        self.fields: Mapping[str, Field] = MappingProxyType(
            {key: value if isinstance(value, Field) else Field(value, key) for key, value in fields.items()}
        )

    def __repr__(self) -> str:
        return f"Struct({self.name!r})"


@dataclass(frozen=True, slots=True)
class Ptr:
    """A pointer to a struct: null in the data means the whole value is missing."""

    elem: Struct


@dataclass(frozen=True, slots=True)
class Slice:
    elem: GoType


@dataclass(frozen=True, slots=True)
class Map:
    """A map; only string-keyed maps can be selected into or tested with `in`."""

    value: GoType
    string_keys: bool = True


@dataclass(frozen=True, slots=True)
class Opaque:
    """`interface{}` or another type go-bexpr cannot look into (only allowed inside slices and maps)."""


GoType: TypeAlias = Prim | Struct | Ptr | Slice | Map | Opaque

STRING = Prim("string")
BOOL = Prim("bool")
INT = Prim("int")


def deref(go_type: GoType) -> GoType:
    return go_type.elem if isinstance(go_type, Ptr) else go_type


def operators(go_type: GoType) -> frozenset[Op]:
    """The operators go-bexpr allows on a field of this type itself."""
    go_type = deref(go_type)
    if isinstance(go_type, Prim):
        return STRING_OPS if go_type.kind == "string" else SCALAR_OPS
    if isinstance(go_type, Slice):
        return MEMBER_OPS if isinstance(go_type.elem, Prim) else EMPTY_OPS
    if isinstance(go_type, Map):
        return MEMBER_OPS if go_type.string_keys else EMPTY_OPS
    return frozenset()


def coercer(go_type: GoType) -> Coerce | None:
    """How the raw value is converted for this field: the element's rule for slices of primitives,
    the raw string for map keys; None where the operators take no value."""
    go_type = deref(go_type)
    if isinstance(go_type, Prim):
        return go_type.coerce
    if isinstance(go_type, Slice) and isinstance(go_type.elem, Prim):
        return go_type.elem.coerce
    if isinstance(go_type, Map) and go_type.string_keys:
        return STRING.coerce
    return None


def has_subfields(go_type: GoType) -> bool:
    """Whether a selector may continue below a field of this type."""
    go_type = deref(go_type)
    if isinstance(go_type, Struct):
        return bool(go_type.fields)
    if isinstance(go_type, Map):
        return go_type.string_keys and not isinstance(go_type.value, Opaque)
    if isinstance(go_type, Slice):
        return not isinstance(go_type.elem, Prim) and has_subfields(go_type.elem)
    return False
