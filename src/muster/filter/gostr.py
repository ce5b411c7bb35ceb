"""Go's `strconv` number parsing as go-bexpr uses it to coerce values: `ParseInt`, `ParseUint`, `ParseBool`,
`ParseFloat`, with Go's exact error texts. Go strings themselves (`Quote`, `Unquote`, the byte
convention) are muster.golang's."""

from __future__ import annotations

import math
import struct

from muster.golang import quote

_MAX_UINT64 = (1 << 64) - 1
_TRUE = frozenset(("1", "t", "T", "TRUE", "true", "True"))
_FALSE = frozenset(("0", "f", "F", "FALSE", "false", "False"))
_SYNTAX = "invalid syntax"
_RANGE = "value out of range"


class StrconvError(ValueError):
    """A `*strconv.NumError`; `str()` is Go's `Error()` text."""

    def __init__(self, func: str, num: str, reason: str) -> None:
        super().__init__(f"strconv.{func}: parsing {quote(num)}: {reason}")


def _lower(ch: str) -> str:
    # Go's lower(c) = c | 0x20 on a byte; only ASCII letters matter to the callers.
    return chr(ord(ch) | 0x20) if ch < "\x80" else ch


def _underscore_ok(text: str) -> bool:
    """Go's `underscoreOK`: underscores only between digits, or after a base prefix."""
    saw = "^"
    i = 0
    if text[:1] in ("+", "-"):
        text = text[1:]
    hexadecimal = False
    if len(text) >= 2 and text[0] == "0" and _lower(text[1]) in "box":
        i, saw, hexadecimal = 2, "0", _lower(text[1]) == "x"
    for ch in text[i:]:
        if "0" <= ch <= "9" or (hexadecimal and "a" <= _lower(ch) <= "f"):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def _parse_uint(text: str, bits: int) -> tuple[int, str | None]:
    """Go's `ParseUint(text, 0, bits)` as (value, None) or (_, reason); reason is a Go error text."""
    if not text:
        return 0, _SYNTAX
    base, digits = 10, text
    if text[0] == "0":
        prefix = _lower(text[1]) if len(text) >= 3 else ""
        base = {"b": 2, "o": 8, "x": 16}.get(prefix, 8)
        digits = text[2:] if prefix in ("b", "o", "x") else text[1:]
    max_value = (1 << bits) - 1
    cutoff = _MAX_UINT64 // base + 1
    value, underscores = 0, False
    for ch in digits:
        if ch == "_":
            underscores = True
            continue
        if "0" <= ch <= "9":
            digit = ord(ch) - 48
        elif "a" <= _lower(ch) <= "z":
            digit = ord(_lower(ch)) - 87
        else:
            return 0, _SYNTAX
        if digit >= base:
            return 0, _SYNTAX
        if value >= cutoff:  # Go reports overflow as soon as it happens, before later bad digits
            return max_value, _RANGE
        value = value * base + digit
        if value > max_value:
            return max_value, _RANGE
    if underscores and not _underscore_ok(text):
        return 0, _SYNTAX
    return value, None


def parse_uint(text: str, bits: int) -> int:
    value, reason = _parse_uint(text, bits)
    if reason is not None:
        raise StrconvError("ParseUint", text, reason)
    return value


def parse_int(text: str, bits: int) -> int:
    if not text:
        raise StrconvError("ParseInt", text, _SYNTAX)
    negative = text[0] == "-"
    unsigned = text[1:] if text[0] in "+-" else text
    value, reason = _parse_uint(unsigned, bits)
    if reason == _SYNTAX:
        raise StrconvError("ParseInt", text, _SYNTAX)
    cutoff = 1 << (bits - 1)
    if reason == _RANGE or (not negative and value >= cutoff) or (negative and value > cutoff):
        raise StrconvError("ParseInt", text, _RANGE)
    return -value if negative else value


def parse_bool(text: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise StrconvError("ParseBool", text, _SYNTAX)


def _special(text: str) -> tuple[float, int] | None:
    """Go's `special`: inf/infinity (signed) and nan, any case, as (value, characters consumed)."""
    sign, signs, rest = 1.0, 0, text
    if rest[:1] in ("+", "-"):
        sign, signs, rest = (-1.0 if rest[0] == "-" else 1.0), 1, rest[1:]
    folded = "".join(_lower(ch) if "A" <= ch <= "Z" else ch for ch in rest[:8])  # ASCII-only, as Go
    if rest[:1] in ("i", "I") or signs:
        if folded.startswith("infinity"):
            return sign * math.inf, signs + 8
        if folded.startswith("inf"):
            return sign * math.inf, signs + 3
    elif folded.startswith("nan"):
        return math.nan, 3
    return None


def _float_prefix(text: str) -> tuple[int, bool] | None:
    """Go's `readFloat`: how many characters form a float and whether it is hexadecimal."""
    i, n = 0, len(text)
    if i < n and text[i] in "+-":
        i += 1
    hexadecimal = i + 2 < n and text[i] == "0" and text[i + 1] in "xX"
    if hexadecimal:
        i += 2
    saw_dot = saw_digits = underscores = False
    while i < n:
        ch = text[i]
        if ch == "_":
            underscores = True
        elif ch == ".":
            if saw_dot:
                break
            saw_dot = True
        elif "0" <= ch <= "9" or (hexadecimal and ch in "abcdefABCDEF"):
            saw_digits = True
        else:
            break
        i += 1
    if not saw_digits:
        return None
    if i < n and _lower(text[i]) == ("p" if hexadecimal else "e"):
        i += 1
        if i < n and text[i] in "+-":
            i += 1
        if i >= n or not "0" <= text[i] <= "9":
            return None
        while i < n and ("0" <= text[i] <= "9" or text[i] == "_"):
            underscores = underscores or text[i] == "_"
            i += 1
    elif hexadecimal:
        return None  # a hexadecimal mantissa needs a p exponent
    if underscores and not _underscore_ok(text[:i]):
        return None
    return i, hexadecimal


def parse_float(text: str, bits: int) -> float:
    """Go's `ParseFloat(text, bits)`; a 32-bit result is rounded to float32 (via float64: a value
    exactly halfway between two float32s after that first rounding may differ from Go in the last bit)."""
    special = _special(text)
    if special is not None:
        if special[1] != len(text):
            raise StrconvError("ParseFloat", text, _SYNTAX)
        return special[0]
    prefix = _float_prefix(text)
    if prefix is None or prefix[0] != len(text):
        raise StrconvError("ParseFloat", text, _SYNTAX)
    plain = text.replace("_", "")
    try:
        value = float.fromhex(plain) if prefix[1] else float(plain)
        if bits == 32:
            value = round_float32(value)
    except OverflowError:
        raise StrconvError("ParseFloat", text, _RANGE) from None
    if math.isinf(value):
        raise StrconvError("ParseFloat", text, _RANGE)
    return value


def round_float32(value: float) -> float:
    """The float32 nearest to `value`, as a Python float; OverflowError past float32's range."""
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result
