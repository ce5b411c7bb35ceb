"""`matches` patterns: RE2 through google-re2, with Go's `regexp` error texts.

Go's regexp/syntax is a port of RE2's parser, so the two reject the same patterns with the same
offending fragment; only the wording of the reason differs, and is translated here. The one syntax
RE2 accepts and Go rejects, `\\C` (any byte), is rejected up front.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import re2

from muster.golang import to_bytes

_METACHARACTERS = frozenset("\\.+*?()|[]{}^$")

# RE2's (C++) error code texts -> Go's regexp/syntax ErrorCode texts.
_GO_REASONS = (
    ("invalid character class range", "invalid character class range"),
    ("invalid character class", "invalid character class"),
    ("invalid escape sequence", "invalid escape sequence"),
    ("missing ]", "missing closing ]"),
    ("missing )", "missing closing )"),
    ("unexpected )", "unexpected )"),
    ("trailing \\", "trailing backslash at end of expression"),
    ("no argument for repetition operator", "missing argument to repetition operator"),
    ("invalid repetition size", "invalid repeat count"),
    ("bad repetition operator", "invalid nested repetition operator"),
    ("invalid perl operator", "invalid or unsupported Perl syntax"),
    ("invalid UTF-8", "invalid UTF-8"),
    ("invalid named capture group", "invalid named capture"),
    ("pattern too large - compile failed", "expression too large"),
)


class RegexError(ValueError):
    """`str()` is Go's `*syntax.Error` text: ``error parsing regexp: <reason>: `<fragment>` ``."""

    def __init__(self, reason: str, fragment: str) -> None:
        super().__init__(f"error parsing regexp: {reason}: `{fragment}`")


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every bad pattern to stderr
    options.never_capture = True  # only "is there a match" is asked
    return options


def _any_byte_escape(pattern: str) -> bool:
    """Whether `pattern` uses `\\C` outside `\\Q...\\E` (an escaped backslash does not count)."""
    i, quoted = 0, False
    while i < len(pattern) - 1:
        pair = pattern[i : i + 2]
        if quoted:
            quoted = pair != "\\E"
        elif pair == "\\Q":
            quoted = True
        elif pair == "\\C":
            return True
        i += 2 if pair[0] == "\\" else 1
    return False


def compile_search(pattern: str) -> Callable[[str], bool]:
    """A function telling whether `pattern` matches anywhere in a string (Go `MatchString`)."""
    if _any_byte_escape(pattern):
        raise RegexError("invalid escape sequence", "\\C")
    encoded = to_bytes(pattern)
    try:
        compiled = re2.compile(encoded, options=_options())
    except re2.error as exc:
        raise _go_error(exc, pattern) from None
    literal = _literal_search(pattern)
    if literal is not None:
        return literal
    low_level = getattr(compiled, "_regexp", None)
    if low_level is None:  # another google-re2 layout: the public API, five times slower
        return lambda text: compiled.search(to_bytes(text)) is not None
    match, unanchored = low_level.Match, re2._Anchor.UNANCHORED

    def search(text: str) -> bool:
        data = text.encode() if text.isascii() else to_bytes(text)
        found: bool = match(unanchored, data, 0, len(data))[0][0] >= 0
        return found

    return search


def _literal_search(pattern: str) -> Callable[[str], bool] | None:
    """String operations for patterns that are plain text, optionally anchored (`^web`, `-proxy$`):
    the same answers as RE2 (`^`/`$` are text boundaries without `(?m)`), at a tenth of the cost."""
    at_start = pattern.startswith("^")
    body = pattern[1:] if at_start else pattern
    at_end = body.endswith("$")
    body = body[:-1] if at_end else body
    if not _METACHARACTERS.isdisjoint(body):
        return None
    if at_start and at_end:
        return lambda text: text == body
    if at_start:
        return lambda text: text.startswith(body)
    if at_end:
        return lambda text: text.endswith(body)
    return lambda text: body in text


def _go_error(exc: Exception, pattern: str) -> RegexError:
    raw = exc.args[0] if exc.args else ""
    message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    for reason, go_reason in _GO_REASONS:
        if message.startswith(reason):
            return RegexError(go_reason, message[len(reason) + 2 :])
    return RegexError(message, pattern)
