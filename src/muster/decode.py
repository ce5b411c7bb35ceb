"""Request bodies decoded the way Consul's Go code decodes them (§1.6): one JSON value, trailing bytes
ignored, case-insensitive keys with exact matches preferred, snake_case aliases, unknown keys refused,
durations as Go strings or nanosecond numbers, and Go's error texts."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from typing import Any

from muster.errors import DecodeError
from muster.golang import parse_duration

STR, INT, BOOL, DURATION = "string", "int", "bool", "duration"
STR_LIST, STR_MAP, HEADER_MAP, OPAQUE = "[]string", "map[string]string", "map[string][]string", "opaque"
STRUCT, STRUCT_LIST, STRUCT_MAP = "struct", "[]struct", "map[string]struct"
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
_INT64 = (INT64_MIN, INT64_MAX)
_SURROGATE = re.compile("[\ud800-\udfff]")
# Go's encoding/json allows 10,000 levels; Python recurses (decoders, the content hash walks a proxy's
# Config three frames a level), so Muster stops at 256, a documented difference, checked on the bytes.
MAX_NESTING = 256
# Python refuses to convert integers of more than 4,300 digits; longer ones stay literals, as floats do.
_MAX_INT_DIGITS = 4000
_STRING_LITERAL = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = tuple(1 if byte in b"[{" else -1 if byte in b"]}" else 0 for byte in range(256))
_SCAN_CHUNK = 65536


class _Number(str):
    """A JSON number with a fraction or exponent, kept as its literal for Go-style error texts."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    schema: Schema | None = None
    alias_of: str | None = None  # a snake_case alias feeds this canonical field when it is empty


@dataclass(eq=False)
class Schema:
    """The JSON fields of one Go struct. `lenient` structs ignore unknown keys (Consul's Connect).
    The lookups are built at first use, so a struct nested in itself can be completed after creation."""

    name: str
    fields: list[Field]
    lenient: bool = False

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def by_fold(self) -> dict[str, Field]:
        folded: dict[str, Field] = {}
        for f in self.fields:
            folded.setdefault(f.name.lower(), f)
        return folded

    def lookup(self, key: str) -> Field | None:
        found = self.by_name.get(key)
        return found if found is not None else self.by_fold.get(key.lower())


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | _Number):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def check_nesting(data: bytes, limit: int = MAX_NESTING) -> None:
    """Refuse JSON nested deeper than `limit` arrays and objects, with Go's text for its own limit.

    A scan of the bytes, strings skipped, so no decoder ever recurses that deep; cheap when the body
    holds fewer openers than the limit, which is nearly always.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return
    brackets = _STRING_LITERAL.sub(b"", data).translate(None, _NOT_BRACKETS)
    depth = 0
    for start in range(0, len(brackets), _SCAN_CHUNK):
        chunk = brackets[start : start + _SCAN_CHUNK]
        depths = list(accumulate(map(_DEPTH_STEP.__getitem__, chunk), initial=depth))[1:]
        if max(depths) > limit:
            opener = chr(chunk[depths.index(limit + 1)])
            raise DecodeError(f"invalid character {opener!r} exceeded max depth")
        depth = depths[-1]


def _clean(text: str) -> str:
    # Go turns invalid UTF-16 escapes into U+FFFD; Python would keep lone surrogates.
    if _SURROGATE.search(text):
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _float64(value: Any, path: str) -> float:
    """A JSON number as Go's interface{} holds it; one beyond float64's range is Go's error."""
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        number = math.inf
    if math.isinf(number) or math.isnan(number):
        raise DecodeError(
            f"json: cannot unmarshal number {value} into Go struct field {path} of type float64"
        )
    return number


def _clean_opaque(value: Any, path: str) -> Any:
    """Free-form JSON (a proxy's Config) as Go's interface{} holds it: strings cleaned, keys included,
    and fractional numbers as float64 (one out of its range is refused as Go refuses it)."""
    if isinstance(value, _Number):
        return _float64(value, path)
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
        return _float64(value, path)  # Go holds every number as a float64; int64 ones stay exact here
    if isinstance(value, str):
        return _clean(value)
    # Plain loops, not comprehensions: one stack frame a level, so MAX_NESTING levels fit the stack.
    if isinstance(value, list):
        items = []
        for item in value:
            items.append(_clean_opaque(item, path))
        return items
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            cleaned[_clean(key)] = _clean_opaque(item, path)
        return cleaned
    return value


def _parse_int(literal: str) -> int | _Number:
    return int(literal) if len(literal) <= _MAX_INT_DIGITS else _Number(literal)


_DECODER = json.JSONDecoder(parse_float=_Number, parse_int=_parse_int, parse_constant=_reject_constant)


def parse_json(body: bytes) -> Any:
    """Read the first JSON value of a body, as Go's json.Decoder.Decode does, within MAX_NESTING."""
    check_nesting(body)
    text = body.decode("utf-8", "replace")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start == len(text):
        raise DecodeError("EOF")
    try:
        value, _ = _DECODER.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise DecodeError(_syntax_error(text, exc.pos)) from None
    except ValueError as exc:  # NaN, Infinity
        raise DecodeError(f"invalid character {str(exc)[0]!r} looking for beginning of value") from None
    return value


_LITERALS = {"t": "true", "f": "false", "n": "null"}


def _syntax_error(text: str, pos: int) -> str:
    """Go's scanner texts for the common cases: truncated input and misspelt literals."""
    literal = _LITERALS.get(text[pos]) if pos < len(text) else None
    if literal is not None:
        for offset, expected in enumerate(literal):
            at = pos + offset
            if at >= len(text):
                return "unexpected EOF"
            if text[at] != expected:
                return f"invalid character {text[at]!r} in literal {literal} (expecting {expected!r})"
    if pos >= len(text.rstrip(" \t\r\n")):
        return "unexpected EOF"
    return f"invalid character {text[pos]!r} looking for beginning of value"


def _type_error(value: Any, path: str, go_type: str) -> DecodeError:
    described = _json_type(value)
    if isinstance(value, _Number | int) and not isinstance(value, bool) and go_type == "int":
        described = f"number {value}"
    return DecodeError(f"json: cannot unmarshal {described} into Go struct field {path} of type {go_type}")


def _decode_int(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and _INT64[0] <= value <= _INT64[1]:
        return value
    raise _type_error(value, path, "int")


def _decode_str(value: Any, path: str) -> str:
    if isinstance(value, str) and not isinstance(value, _Number):
        return _clean(value)
    raise _type_error(value, path, "string")


def _decode_duration(value: Any, path: str) -> int | None:
    """A Go duration string, or nanoseconds as Consul reads a number: through a float64 into an int64
    time.Duration. Beyond float64 is Go's error; beyond int64 (which Go wraps silently) is refused too."""
    if isinstance(value, bool):
        return None  # Consul's duration fields silently ignore other JSON types
    if isinstance(value, _Number | int | float):
        nanos = value if isinstance(value, int) else int(_float64(value, path))
        if not _INT64[0] <= nanos <= _INT64[1]:
            _float64(value, path)
            raise DecodeError(
                f"json: cannot unmarshal number {value} into Go struct field {path} of type time.Duration"
            )
        return nanos
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise DecodeError(str(exc)) from None
    return None


def _decode_value(f: Field, value: Any, path: str) -> Any:
    kind = f.kind
    if kind == STR:
        return _decode_str(value, path)
    if kind == INT:
        return _decode_int(value, path)
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        raise _type_error(value, path, "bool")
    if kind == DURATION:
        return _decode_duration(value, path)
    if kind == STR_LIST:
        if not isinstance(value, list):
            raise _type_error(value, path, "[]string")
        return [_decode_str(item, path) for item in value if item is not None]
    if kind == STR_MAP:
        if not isinstance(value, dict):
            raise _type_error(value, path, "map[string]string")
        return {_clean(k): ("" if v is None else _decode_str(v, path)) for k, v in value.items()}
    if kind == HEADER_MAP:
        if not isinstance(value, dict):
            raise _type_error(value, path, "map[string][]string")
        headers: dict[str, list[str]] = {}
        for name, values in value.items():
            if values is None:
                headers[_clean(name)] = []
                continue
            if not isinstance(values, list):
                raise _type_error(values, path, "[]string")
            headers[_clean(name)] = [_decode_str(item, path) for item in values if item is not None]
        return headers
    if kind == OPAQUE:
        return _clean_opaque(value, path)
    assert f.schema is not None
    if kind == STRUCT:
        return decode_struct(value, f.schema, path)
    if kind == STRUCT_LIST:
        if not isinstance(value, list):
            raise _type_error(value, path, f"[]{f.schema.name}")
        return [decode_struct(item, f.schema, path) for item in value]
    if not isinstance(value, dict):
        raise _type_error(value, path, f"map[string]{f.schema.name}")
    return {_clean(k): decode_struct(v, f.schema, path) for k, v in value.items()}


def _is_empty(value: Any) -> bool:
    return value is None or value in ("", 0, False) or (isinstance(value, list | dict) and not value)


def decode_struct(value: Any, schema: Schema, path: str = "") -> dict[str, Any]:
    """Decode a JSON object into {canonical field name: value}; aliases are folded into their fields."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _type_error(value, path or ".", schema.name)
    out: dict[str, Any] = {}
    for raw_key, raw in value.items():
        key = _clean(raw_key)
        f = schema.lookup(key)
        if f is None:
            if schema.lenient:
                continue
            raise DecodeError(f"json: unknown field {json.dumps(key, ensure_ascii=False)}")
        if raw is None:
            continue
        decoded = _decode_value(f, raw, f"{path}.{f.name}")
        if decoded is not None:
            out[f.name] = decoded
    for f in schema.fields:
        if f.alias_of is not None and f.name in out:
            alias_value = out.pop(f.name)
            if _is_empty(out.get(f.alias_of)):
                out[f.alias_of] = alias_value
    return out


def decode_body(body: bytes, schema: Schema) -> dict[str, Any]:
    """Decode a request body; every failure is a DecodeError carrying Go's bare text."""
    return decode_struct(parse_json(body), schema)
