"""The token-level rules of go-bexpr v0.1.2's PEG (selectors, values, strings, numbers, operators), each
a function that tries the same alternatives in the same order as pigeon and records the same failures.

pigeon reports a syntax error as the terminals it tried at the farthest offset it reached. A rule here
calls `fail(offset, want)` for every terminal the PEG would have tried and missed there, so the
`expected:` list comes out identical. Each rule only looks ahead a bounded number of tokens, so none of
them can make parsing super-linear. Custom messages (`Invalid index`, ...) go through `error()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from muster.filter.ast import Op
from muster.golang import unquote

_WS_RUN = re.compile(r"[ \t\r\n]*")
_IDENTIFIER = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")
_DIGITS = re.compile(r"[0-9]*")

# Terminals as pigeon names them in "expected" lists (Go-quoted literals, classes as in the grammar).
WS = "[ \\t\\r\\n]"
ALPHA = "[a-zA-Z]"
ALNUM = "[a-zA-Z0-9_]"
DIGIT = "[0-9]"
NONZERO = "[1-9]"
EOF = "!."  # pigeon's entry for `!.`; printed as EOF


def _ignore(offset: int, want: str) -> None:
    """`fail` while the expected-list is not wanted (a first pass over text that usually parses)."""


class Scanner:
    """Input text plus pigeon's error state: the farthest failure and the custom errors so far.

    Recording failures costs a third of the parse, and is only useful when the parse fails, so the
    parser first runs without it (`record=False`) and runs again with it only to word an error.
    """

    def __init__(self, text: str, *, record: bool) -> None:
        self.text = text
        self.size = len(text)
        self.max_fail = 0
        self.expected: set[str] = set()
        # (offset, rule, message) in first-seen order; pigeon de-duplicates the printed texts.
        self.errors: dict[tuple[int, str, str], None] = {}
        self.fail: Callable[[int, str], None] = self._record if record else _ignore

    def _record(self, offset: int, want: str) -> None:
        if offset >= self.max_fail:
            if offset > self.max_fail:
                self.max_fail = offset
                self.expected = {want}
            else:
                self.expected.add(want)

    def error(self, offset: int, rule: str, message: str) -> None:
        self.errors.setdefault((offset, rule, message), None)

    def literal(self, offset: int, word: str) -> bool:
        if self.text.startswith(word, offset):
            return True
        self.fail(offset, f'"{word}"')  # no literal of the grammar needs escaping
        return False

    def ws(self, offset: int) -> int:
        """`_` (one or more whitespace): the offset after the run, or -1."""
        end = _WS_RUN.match(self.text, offset).end()  # type: ignore[union-attr]
        self.fail(end, WS)
        return end if end > offset else -1

    def ws_opt(self, offset: int) -> int:
        """`_?`: the offset after any whitespace."""
        end = _WS_RUN.match(self.text, offset).end()  # type: ignore[union-attr]
        self.fail(end, WS)
        return end

    def word_ws(self, offset: int, word: str) -> int:
        """`word _`, the tail of the word operators."""
        return self.ws(offset + len(word)) if self.literal(offset, word) else -1

    def identifier(self, offset: int) -> int:
        found = _IDENTIFIER.match(self.text, offset)
        if found is None:
            self.fail(offset, ALPHA)
            return -1
        self.fail(found.end(), ALNUM)
        return found.end()

    def selector(self, offset: int) -> tuple[list[str], int] | None:
        """`Identifier ("." Identifier / Index)*`."""
        end = self.identifier(offset)
        if end < 0:
            return None
        parts = [self.text[offset:end]]
        while True:
            if self.literal(end, "."):
                after = self.identifier(end + 1)
                if after >= 0:
                    parts.append(self.text[end + 1 : after])
                    end = after
                    continue
            index = self.index(end)
            if index is None:
                return parts, end
            parts.append(index[0])
            end = index[1]

    def index(self, offset: int) -> tuple[str, int] | None:
        """`"[" _? String _? "]"`, else the `Invalid index` / `Unclosed index expression` errors."""
        if not self.literal(offset, "["):
            return None
        start = self.ws_opt(offset + 1)
        string = self.string(start)
        if string is None:
            self.error(start, "index", "Invalid index")
            return None
        end = self.ws_opt(string[1])
        if self.literal(end, "]"):
            return string[0], end + 1
        self.error(end, "index", "Unclosed index expression")
        return None

    def string(self, offset: int) -> tuple[str, int] | None:
        """A backtick or double-quoted string, decoded by Go's `strconv.Unquote`."""
        delimiter = self.text[offset : offset + 1]
        if delimiter not in ("`", '"'):
            self.fail(offset, '"`"')
            self.fail(offset, '"\\""')
            return None
        close = self.text.find(delimiter, offset + 1)
        if close < 0:
            self.error(self.size, "string", "Unterminated string literal")
            return None
        value = unquote(self.text[offset : close + 1])
        if value is None:  # pigeon records the action's error and still accepts the token
            self.error(offset, "string", "invalid syntax")
            value = ""
        return value, close + 1

    def number(self, offset: int) -> tuple[str, int] | None:
        """`"-"? ("0" / [1-9][0-9]*) ("." [0-9]+)?` followed by whitespace, `)` or the end."""
        end = offset
        if self.text.startswith("-", end):
            end += 1
        else:
            self.fail(end, '"-"')
        if self.text.startswith("0", end):
            end += 1
        else:
            self.fail(end, '"0"')
            if not self.text[end : end + 1] or self.text[end] not in "123456789":
                self.fail(end, NONZERO)
                return None
            end = _DIGITS.match(self.text, end + 1).end()  # type: ignore[union-attr]
            self.fail(end, DIGIT)
        if self.text.startswith(".", end):
            fraction = _DIGITS.match(self.text, end + 1).end()  # type: ignore[union-attr]
            self.fail(fraction if fraction > end + 1 else end + 1, DIGIT)
            if fraction > end + 1:
                end = fraction
        else:
            self.fail(end, '"."')
        if self._after_number(end):
            return self.text[offset:end], end
        self.error(end, "number", "Invalid number literal")
        return None

    def _after_number(self, offset: int) -> bool:
        """`&(_ / EOF / ")")`."""
        if self.ws(offset) >= 0 or offset >= self.size:
            return True
        self.fail(offset, EOF)  # `!.` saw a character: pigeon records the inverted match
        return self.literal(offset, ")")

    def value(self, offset: int) -> tuple[str, int] | None:
        """`Selector / Number / String`; a bare selector's value is its dotted text."""
        selector = self.selector(offset)
        if selector is not None:
            return ".".join(selector[0]), selector[1]
        return self.number(offset) or self.string(offset)

    def binary_op(self, offset: int) -> tuple[Op, int] | None:
        """`==`, `!=`, `contains`, `not contains`, `matches`, `not matches`, in that order."""
        start = self.ws_opt(offset)
        if self.literal(start, "=="):
            return Op.EQUAL, self.ws_opt(start + 2)
        if self.literal(start, "!="):
            return Op.NOT_EQUAL, self.ws_opt(start + 2)
        if start == offset:  # the word operators need whitespace first
            return None
        for word, negated, positive in (
            ("contains", Op.NOT_IN, Op.IN),
            ("matches", Op.NOT_MATCHES, Op.MATCHES),
        ):
            end = self.word_ws(start, word)
            if end >= 0:
                return positive, end
            end = self._not_word(start, word)
            if end >= 0:
                return negated, end
        return None

    def empty_op(self, offset: int) -> tuple[Op, int] | None:
        """`_ "is" _ "empty"` / `_ "is" _ "not" _ "empty"`."""
        start = self.ws(offset)
        if start < 0:
            return None
        after_is = self.word_ws(start, "is")
        if after_is < 0:
            return None
        if self.literal(after_is, "empty"):
            return Op.IS_EMPTY, after_is + 5
        after_not = self.word_ws(after_is, "not")
        if after_not >= 0 and self.literal(after_not, "empty"):
            return Op.IS_NOT_EMPTY, after_not + 5
        return None

    def set_op(self, offset: int) -> tuple[Op, int] | None:
        """`_ "in" _` / `_ "not" _ "in" _`."""
        start = self.ws(offset)
        if start < 0:
            return None
        end = self.word_ws(start, "in")
        if end >= 0:
            return Op.IN, end
        end = self._not_word(start, "in")
        return (Op.NOT_IN, end) if end >= 0 else None

    def _not_word(self, offset: int, word: str) -> int:
        """`"not" _ word _`."""
        after_not = self.word_ws(offset, "not")
        return self.word_ws(after_not, word) if after_not >= 0 else -1
