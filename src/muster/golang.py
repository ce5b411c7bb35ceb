"""Go standard-library behaviours Consul's wire format depends on: `time.ParseDuration` and
`Duration.String`, `strconv.ParseBool`, `strconv.Quote` (`%q`), and `encoding/json` escaping."""

from __future__ import annotations

import functools
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


def format_optional_duration(nanos: int) -> str:
    """Consul's service-embedded checks show an unset duration as "" rather than "0s"."""
    return format_duration(nanos) if nanos else ""


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool; ValueError for anything else, the empty string included."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(text)


_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def quote(text: str) -> str:
    """Go's strconv.Quote, as `%q` prints a string."""
    parts = ['"']
    for char in text:
        escaped = _QUOTE_ESCAPES.get(char)
        if escaped is not None:
            parts.append(escaped)
        elif char == "\ufffd" or char.isprintable():
            parts.append(char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            parts.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(f"\\U{ord(char):08x}")
    parts.append('"')
    return "".join(parts)


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
