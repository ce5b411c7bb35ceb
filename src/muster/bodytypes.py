"""Request bodies as typed msgspec Structs under Go's JSON names (§1.6): the base class, time.Duration,
the decode Schema each Struct implies, and BodyType, which decodes a canonical body with msgspec alone
and any other through decode.py's key-normalising decoder, the only source of Go's error texts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
from msgspec import inspect

from muster.decode import (
    BOOL,
    DURATION,
    HEADER_MAP,
    INT,
    INT64_MAX,
    INT64_MIN,
    OPAQUE,
    STR,
    STR_LIST,
    STR_MAP,
    STRUCT,
    STRUCT_LIST,
    STRUCT_MAP,
    Field,
    Schema,
    check_nesting,
    decode_body,
    decode_struct,
)
from muster.errors import DecodeError
from muster.golang import parse_duration

_INITIALISMS = frozenset({"id", "http", "tcp", "udp", "tls", "grpc", "ttl", "os"})


def go_name(name: str) -> str:
    """A Python field name as Go's exported field name: `tcp_use_tls` -> `TCPUseTLS`."""
    return "".join(part.upper() if part in _INITIALISMS else part.capitalize() for part in name.split("_"))


class GoStruct(msgspec.Struct, forbid_unknown_fields=True, rename=go_name):
    """A Go struct as a request body carries it. Unknown keys are refused here even where Consul
    ignores them (`lenient`): any key the normaliser would fold (another case, snake_case) must send
    the body to it. `aliases` are the snake_case keys Consul also accepts, in its order, each with the
    field it feeds when that field is empty."""

    go_type: ClassVar[str]
    aliases: ClassVar[tuple[tuple[str, str], ...]] = ()
    lenient: ClassVar[bool] = False


class Duration(int):
    """A time.Duration in nanoseconds; a body gives a Go duration string or a number."""


def normalised(schema: Schema) -> msgspec.Meta:
    """Marks a dict field kept as the JSON the normaliser makes for `schema` (stored and echoed as given,
    so not a Struct: see bodies.py)."""
    return msgspec.Meta(extra={"normalised": schema})


def _dec_hook(kind: type, value: Any) -> Any:
    """Duration fields in msgspec's pass: an int64 of nanoseconds or a Go duration string. Anything
    else (a float, which other code would parse; a bool, which Consul ignores) sends the body to the
    fallback."""
    if kind is Duration:
        if type(value) is int and INT64_MIN <= value <= INT64_MAX:
            return Duration(value)
        if type(value) is str:
            return Duration(parse_duration(value))  # its ValueError: msgspec's ValidationError
    raise TypeError(f"{kind.__name__} is not decoded here")


def _plain_json(value: Any) -> bool:
    """Whether msgspec's value for free-form JSON equals the json module's: no floats (parsed by
    different code) and no integers beyond int64 (which the normaliser turns into float64)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, float) or (isinstance(item, int) and not INT64_MIN <= item <= INT64_MAX):
            return False
    return True


def _structs_in(value: Any, kind: str) -> Iterable[GoStruct]:
    """The Structs a STRUCT, STRUCT_LIST or STRUCT_MAP field holds."""
    if kind == STRUCT_LIST:
        return value  # type: ignore[no-any-return]
    return value.values() if kind == STRUCT_MAP else (value,)


@dataclass(frozen=True)
class _Fixup:
    """A field msgspec's pass leaves to finish: free-form JSON to check (and to normalise with `schema`
    when set), or Structs below which such fields are (`nested`: STRUCT, STRUCT_LIST or STRUCT_MAP)."""

    attr: str
    schema: Schema | None = None
    nested: str = ""


def _leaf_kind(info: inspect.Type) -> str:
    if isinstance(info, inspect.StrType):
        return STR
    if isinstance(info, inspect.BoolType):
        return BOOL
    if isinstance(info, inspect.IntType):
        return INT
    if isinstance(info, inspect.CustomType) and info.cls is Duration:
        return DURATION
    if isinstance(info, inspect.AnyType):
        return OPAQUE
    if isinstance(info, inspect.ListType) and isinstance(info.item_type, inspect.StrType):
        return STR_LIST
    if isinstance(info, inspect.DictType) and isinstance(info.key_type, inspect.StrType):
        values = info.value_type
        if isinstance(values, inspect.StrType):
            return STR_MAP
        if isinstance(values, inspect.ListType) and isinstance(values.item_type, inspect.StrType):
            return HEADER_MAP
    raise TypeError(f"no Go decoding for {info}")


class _Derivation:
    """The Schemas of a Struct and of every Struct below it (one per class, so a struct nested in
    itself gets a Schema nested in itself), and the fast path's fixups."""

    def __init__(self) -> None:
        self.schemas: dict[type[GoStruct], Schema] = {}
        self._fields: dict[type[GoStruct], list[tuple[str, Field, type[GoStruct] | None]]] = {}

    def schema(self, cls: type[GoStruct]) -> Schema:
        found = self.schemas.get(cls)
        if found is not None:
            return found
        schema = self.schemas[cls] = Schema(cls.go_type, [], lenient=cls.lenient)
        info = inspect.type_info(cls)
        assert isinstance(info, inspect.StructType)
        fields = self._fields[cls] = []
        by_attr: dict[str, Field] = {}
        for struct_field in info.fields:
            field, nested = self._field(struct_field.encode_name, struct_field.type)
            fields.append((struct_field.name, field, nested))
            by_attr[struct_field.name] = field
        schema.fields.extend(field for _, field, _ in fields)
        for alias, attr in cls.aliases:
            target = by_attr[attr]
            schema.fields.append(Field(alias, target.kind, target.schema, alias_of=target.name))
        return schema

    def _field(self, name: str, info: inspect.Type) -> tuple[Field, type[GoStruct] | None]:
        if isinstance(info, inspect.UnionType):  # `T | None`: Go's pointer, nil when not given
            (info,) = (member for member in info.types if not isinstance(member, inspect.NoneType))
        if isinstance(info, inspect.Metadata):
            schema = (info.extra or {}).get("normalised")
            if schema is not None:
                return Field(name, STRUCT, schema), None
            info = info.type
        element, kind = info, STRUCT
        if isinstance(info, inspect.ListType):
            element, kind = info.item_type, STRUCT_LIST
        elif isinstance(info, inspect.DictType):
            element, kind = info.value_type, STRUCT_MAP
        if isinstance(element, inspect.StructType):
            assert issubclass(element.cls, GoStruct)
            return Field(name, kind, self.schema(element.cls)), element.cls
        return Field(name, _leaf_kind(info)), None

    def fixups(self) -> dict[type[GoStruct], tuple[_Fixup, ...]]:
        """Per Struct, the fields to finish after msgspec's pass; Structs with none are left out."""

        def own(field: Field, nested: type[GoStruct] | None) -> bool:
            return nested is None and (field.kind == OPAQUE or field.schema is not None)

        needing = {cls for cls, fields in self._fields.items() if any(own(f, n) for _, f, n in fields)}
        while True:  # a Struct needs fixing when one below it does (nesting can be circular)
            more = {
                cls
                for cls, fields in self._fields.items()
                if cls not in needing and any(n in needing for _, _, n in fields)
            }
            if not more:
                break
            needing |= more
        return {
            cls: tuple(
                _Fixup(attr, field.schema) if own(field, nested) else _Fixup(attr, nested=field.kind)
                for attr, field, nested in self._fields[cls]
                if own(field, nested) or nested in needing
            )
            for cls in needing
        }


T = TypeVar("T", bound=GoStruct)


class BodyType(Generic[T]):
    """One kind of request body: its Struct, the decode Schema derived from it, and its decoders."""

    def __init__(self, cls: type[T]) -> None:
        derivation = _Derivation()
        self.cls = cls
        self.schema = derivation.schema(cls)
        self._fixups = derivation.fixups()
        self._decoder = msgspec.json.Decoder(cls, dec_hook=_dec_hook)

    def decode(self, body: bytes) -> T:
        """A request body as its Struct; every failure is a DecodeError carrying Go's bare text."""
        fast = self.fast(body)
        return fast if fast is not None else self.fallback(body)

    def fast(self, body: bytes) -> T | None:
        """msgspec alone, for a canonical body: Go's key names and JSON types, nothing the normaliser
        would fold, skip or clean. None when the fallback must decide; never a different value."""
        if body[:2] == b'{"' and body[2:3].islower():  # Go's names are capitalised: py-consul's aren't
            return None
        try:
            check_nesting(body)
            value = self._decoder.decode(body)
        except (DecodeError, msgspec.DecodeError, msgspec.ValidationError):
            return None
        return value if self._finish(value) else None

    def fallback(self, body: bytes) -> T:
        """The key-normalising decoder, its result as the Struct."""
        return self._typed(decode_body(body, self.schema))

    def convert(self, value: Any) -> T:
        """Plain values (a config file's, after config_keys_to_api) through the normaliser."""
        return self._typed(decode_struct(value, self.schema))

    def _typed(self, fields: dict[str, Any]) -> T:
        return msgspec.convert(fields, self.cls, dec_hook=_dec_hook)

    def _finish(self, value: GoStruct) -> bool:
        """Check and normalise the free-form JSON msgspec left as it was; False: the fallback decides."""
        for fixup in self._fixups.get(type(value), ()):
            item = getattr(value, fixup.attr)
            if item is None:
                continue
            if fixup.nested:
                structs = _structs_in(item, fixup.nested)
                if not all(self._finish(nested) for nested in structs):
                    return False
            elif not _plain_json(item):
                return False
            elif fixup.schema is not None:
                try:
                    normalised_item = decode_struct(item, fixup.schema)
                except DecodeError:
                    return False
                setattr(value, fixup.attr, normalised_item)
        return True
