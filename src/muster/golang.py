"""Go standard-library behaviours Consul's wire format depends on: `time.ParseDuration` and
`Duration.String`, `time.Time`'s JSON, `strconv.ParseBool`, Go strings (`to_bytes`, `strconv.Quote` as
`%q` prints, `strconv.Unquote`), and `encoding/json` escaping."""

from __future__ import annotations

import datetime
import functools
import re
from types import MappingProxyType
from typing import Any

import msgspec

_UNITS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_DURATION = (1 << 63) - 1
_SECOND = 1_000_000_000


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


def parse_duration(text: str) -> int:
    """Parse a Go duration string into nanoseconds, raising ValueError with Go's exact message."""
    original = text
    invalid = ValueError(f"time: invalid duration {quote(original)}")
    negative = False
    if text and text[0] in "+-":
        negative = text[0] == "-"
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise invalid
    total = 0
    while text:
        if not (text[0] == "." or _is_digit(text[0])):
            raise invalid
        i = 0
        while i < len(text) and _is_digit(text[i]):
            i += 1
        whole = int(text[:i]) if i else 0
        had_whole = i > 0
        text = text[i:]
        fraction = ""
        if text.startswith("."):
            text = text[1:]
            i = 0
            while i < len(text) and _is_digit(text[i]):
                i += 1
            fraction = text[:i]
            text = text[i:]
        if not had_whole and not fraction:
            raise invalid
        i = 0
        while i < len(text) and text[i] != "." and not _is_digit(text[i]):
            i += 1
        if i == 0:
            raise ValueError(f"time: missing unit in duration {quote(original)}")
        unit_name, text = text[:i], text[i:]
        unit = _UNITS.get(unit_name)
        if unit is None:
            raise ValueError(f"time: unknown unit {quote(unit_name)} in duration {quote(original)}")
        if whole > (1 << 63) // unit:
            raise invalid
        value = whole * unit
        if fraction:
            # Go scales the fraction in float64; keep its truncation toward zero.
            value += int(float(int(fraction)) * (unit / 10 ** len(fraction)))
        total += value
        if total > 1 << 63:
            raise invalid
    if negative:
        return -total
    if total > _MAX_DURATION:
        raise invalid
    return total


def _fraction(value: int, digits: int) -> str:
    whole, rest = divmod(value, 10**digits)
    tail = f"{rest:0{digits}d}".rstrip("0")
    return f"{whole}.{tail}" if tail else str(whole)


def format_duration(nanos: int) -> str:
    """Render nanoseconds as Go's `Duration.String` does: `0s`, `1.5µs`, `100ms`, `1m30s`, `72h0m0s`."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    value = abs(nanos)
    if value < 1_000:
        return f"{sign}{value}ns"
    if value < 1_000_000:
        return f"{sign}{_fraction(value, 3)}\u00b5s"
    if value < _SECOND:
        return f"{sign}{_fraction(value, 6)}ms"
    seconds, nanos_part = divmod(value, _SECOND)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = _fraction(secs * _SECOND + nanos_part, 9) + "s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def format_time(nanos: int) -> str:
    """Go's time.Time JSON (RFC 3339 with trailing zeros of the fraction dropped), in UTC."""
    seconds, fraction = divmod(nanos, _SECOND)
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction:09d}".rstrip("0")
    return f"{stamp}.{digits}Z" if digits else f"{stamp}Z"


def format_optional_duration(nanos: int) -> str:
    """Consul's service-embedded checks show an unset duration as "" rather than "0s"."""
    return format_duration(nanos) if nanos else ""


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def is_decimal(text: str) -> bool:
    """ASCII digits only, as Go's strconv parses: str.isdigit() also takes "²" and "٣"."""
    return text.isascii() and text.isdigit()


def parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool; ValueError for anything else, the empty string included."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(text)


_SIMPLE_ESCAPES = MappingProxyType(
    {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, '"': 34}
)
_HEX = frozenset("0123456789abcdefABCDEF")
_OCT = frozenset("01234567")
_HEX_WIDTH = MappingProxyType({"x": 2, "u": 4, "U": 8})
_QUOTE_ESCAPES = MappingProxyType(
    {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}
)


# Lone surrogates that do not escape a byte (surrogateescape uses U+DC80..U+DCFF).
_OTHER_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")


def to_bytes(text: str) -> bytes:
    """The Go string (bytes) a Python string stands for: UTF-8, with U+DC80..U+DCFF as the bytes they
    escape (Python's surrogateescape). Any other lone surrogate can only come from a UTF-16 escape, which
    Go's decoders turn into U+FFFD: it is U+FFFD here too, as in decode.py and render.py."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _OTHER_SURROGATE.sub("\ufffd", text).encode("utf-8", "surrogateescape")


def quote(text: str) -> str:
    """Go's strconv.Quote (what `%q` prints) of `to_bytes(text)`: a byte that is not UTF-8 prints as
    `\\xff`, U+FFFD as itself; one implementation for the API's error texts and the filter's."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd" if _OTHER_SURROGATE.match(ch) else f"\\x{code - 0xDC00:02x}")
        elif ch.isprintable():
            out.append(ch)
        elif ch in _QUOTE_ESCAPES:
            out.append(_QUOTE_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def unquote(token: str) -> str | None:
    """Go's strconv.Unquote of a complete backtick or double-quoted token; None where Go says ErrSyntax.
    A `\\xff` or `\\377` escape that is not UTF-8 comes back as its escaped byte (see to_bytes).

    The caller guarantees the token starts and ends with its delimiter and has none inside.
    """
    body = token[1:-1]
    if token[0] == "`":
        return body.replace("\r", "")  # raw strings drop carriage returns, and never fail
    if "\\" not in body and "\n" not in body:
        return body
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\n":
            return None
        if ch != "\\":
            j = i + 1
            while j < n and body[j] not in "\\\n":
                j += 1
            out += to_bytes(body[i:j])
            i = j
            continue
        if i + 1 >= n:
            return None
        esc = body[i + 1]
        i += 2
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
        elif esc in _HEX_WIDTH:
            digits = body[i : i + _HEX_WIDTH[esc]]
            if len(digits) < _HEX_WIDTH[esc] or not _HEX.issuperset(digits):
                return None
            i += len(digits)
            value = int(digits, 16)
            if esc == "x":
                out.append(value)  # one byte, possibly not valid UTF-8
            elif value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                return None
            else:
                out += chr(value).encode("utf-8")
        elif esc in _OCT:
            digits = body[i - 1 : i + 2]
            if len(digits) < 3 or not _OCT.issuperset(digits) or int(digits, 8) > 255:
                return None
            out.append(int(digits, 8))
            i += 2
        else:  # includes \' : legal only inside Go rune literals
            return None
    return out.decode("utf-8", "surrogateescape")


_ENCODER = msgspec.json.Encoder()


def _go_escape(data: bytes) -> bytes:
    # These bytes can only occur inside JSON strings, so a plain replace is exact.
    if b"<" in data or b">" in data or b"&" in data or b"\xe2\x80" in data:
        data = (
            data.replace(b"<", b"\\u003c")
            .replace(b">", b"\\u003e")
            .replace(b"&", b"\\u0026")
            .replace(b"\xe2\x80\xa8", b"\\u2028")
            .replace(b"\xe2\x80\xa9", b"\\u2029")
        )
    return data


def encode_json(value: Any) -> bytes:
    """Compact JSON as Go's encoding/json writes it (HTML-safe escapes, no trailing newline)."""
    return _go_escape(_ENCODER.encode(value))


@functools.lru_cache(maxsize=64)
def indent_json(compact: bytes) -> bytes:
    """Re-indent compact JSON with 4 spaces, as Go's json.Indent does (no trailing newline).

    Cached: `-dev` indents every response, and list bodies are the same cached bytes objects.
    """
    return msgspec.json.format(compact, indent=4)
