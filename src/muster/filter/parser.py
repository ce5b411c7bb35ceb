"""Parse a filter expression into a tree: go-bexpr v0.1.2's language and error texts, in linear time.

go-bexpr's generated PEG parser re-parses an operand each time an `or`/`and` alternative fails, which
is exponential in parenthesis depth. Here the grammar is hand-written recursive descent that makes
each rule invocation the PEG would make once, in the same order, recording the same failures (see
`scanner`): same language, same trees, same error texts, linear cost. Recursion happens only at `(`,
two frames per level, bounded by MAX_NESTING. Common expressions take a quicker path (`quickparse`).
"""

from __future__ import annotations

from muster.filter.ast import Match, Node, make_and, make_or, negate
from muster.filter.errors import FilterError
from muster.filter.quickparse import quick_parse
from muster.filter.scanner import EOF, Scanner
from muster.golang import to_bytes

MAX_EXPRESSION_BYTES = 64 * 1024
"""Longest expression accepted, in UTF-8 bytes (go-bexpr has no limit)."""

MAX_NESTING = 256
"""Deepest parenthesis nesting accepted (go-bexpr has no limit, but needs minutes past ten levels)."""


def parse(expression: str) -> Node:
    """The tree of `expression`, or FilterError with go-bexpr's text for the first problem."""
    size = len(expression) if expression.isascii() else len(to_bytes(expression))
    if size > MAX_EXPRESSION_BYTES:
        raise FilterError(
            f"filter expression is {size} bytes long; the limit is {MAX_EXPRESSION_BYTES}", kind="limit"
        )
    tree = quick_parse(expression, MAX_NESTING)
    return tree if tree is not None else parse_exact(expression)


def parse_exact(expression: str) -> Node:
    """`parse` without the quick path for common expressions (the tests hold the two equal)."""
    try:
        return _Parser(expression, record=False).parse()
    except _NoMatch:  # word the error: parse again, recording what was expected where
        return _Parser(expression, record=True).parse()


def position(text: str, offset: int) -> str:
    """pigeon's `line:column (byte offset)`; a newline is column 0 of the line it starts."""
    line = 1 + text.count("\n", 0, offset + 1)
    last_newline = text.rfind("\n", 0, offset + 1)
    column = offset - last_newline if last_newline >= 0 else offset + 1
    head = text[:offset]
    return f"{line}:{column} ({len(head) if head.isascii() else len(to_bytes(head))})"


class _NoMatch(Exception):
    """The first, quick pass failed without a custom error: the expected-list must be computed."""


class _Parser(Scanner):
    def __init__(self, text: str, *, record: bool) -> None:
        super().__init__(text, record=record)
        self.record = record
        self.depth = 0

    def parse(self) -> Node:
        parsed = self.or_expr(self.ws_opt(0))
        end = self.ws_opt(parsed[1]) if parsed is not None else -1
        if end >= 0 and end < self.size:
            self.fail(end, EOF)
        if self.errors:
            # pigeon prints the rule's display name Go-quoted; ours are plain words.
            lines = (f'{position(self.text, at)}: rule "{rule}": {msg}' for at, rule, msg in self.errors)
            raise FilterError("\n".join(lines), kind="syntax")
        if parsed is None or end < self.size:
            if not self.record:
                raise _NoMatch
            raise FilterError(f"{position(self.text, self.max_fail)}: {self._no_match()}", kind="syntax")
        return parsed[0]

    def _no_match(self) -> str:
        wanted = sorted(self.expected - {EOF})
        if EOF in self.expected:
            wanted.append("EOF")
        listed = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " or " + wanted[-1]
        return "no match found, expected: " + listed

    def or_expr(self, offset: int) -> tuple[Node, int] | None:
        """`AndExpr (_ "or" _ AndExpr)*`, where the loop stops (and gives back the `or`) as soon as
        the right operand fails: the PEG's `AndExpr _ "or" _ OrExpr / AndExpr`."""
        terms: list[Node] = []
        start = offset
        end = -1
        while True:
            factors: list[Node] = []
            cursor = start
            while True:
                unary = self.unary(cursor)
                if unary is None:
                    break
                factors.append(unary[0])
                end = unary[1]
                cursor = self._keyword(end, "and")
                if cursor < 0:
                    break
            if not factors:
                break
            terms.append(make_and(factors))
            start = self._keyword(end, "or")
            if start < 0:
                break
        return (make_or(terms), end) if terms else None

    def _keyword(self, offset: int, word: str) -> int:
        """`_ word _`: the offset of the next operand, or -1."""
        start = self.ws(offset)
        return self.word_ws(start, word) if start >= 0 else -1

    def unary(self, offset: int) -> tuple[Node, int] | None:
        """`"not" _ NotExpr / Grouping`, Grouping being `"(" _? OrExpr _? ")" / Match`.

        A `not` whose operand fails to parse is retried as a selector or value named `not` (`not == 1`,
        `not in Tags`), as the PEG's ordered choice does. Grouping is inlined so that each level of
        parentheses costs two stack frames (this and `or_expr`)."""
        starts = [offset]
        while self.literal(starts[-1], "not"):
            after = self.ws(starts[-1] + 3)
            if after < 0:
                break
            starts.append(after)
        nots = len(starts) - 1
        at = starts[nots]
        parsed: tuple[Node, int] | None = None
        if self.literal(at, "("):
            if self.depth >= MAX_NESTING:
                message = f"parentheses nest deeper than {MAX_NESTING} levels"
                raise FilterError(f"{position(self.text, at)}: {message}", kind="limit")
            self.depth += 1
            inner = self.or_expr(self.ws_opt(at + 1))
            self.depth -= 1
            end = self.ws_opt(inner[1]) if inner is not None else -1
            if inner is not None and self.literal(end, ")"):
                parsed = inner[0], end + 1
            elif inner is not None:
                self.error(end, "grouping", "Unmatched parentheses")
        else:
            parsed = self.match(at)
        while parsed is None and nots > 0:
            nots -= 1  # this start is "not ...": Grouping's "(" fails there, then Match
            parsed = None if self.literal(starts[nots], "(") else self.match(starts[nots])
        if parsed is None:
            return None
        node = parsed[0]
        for _ in range(nots):
            node = negate(node)
        return node, parsed[1]

    def match(self, offset: int) -> tuple[Node, int] | None:
        """`Selector BinOp Value / Selector EmptyOp / Value SetOp Selector`."""
        selector = self.selector(offset)
        if selector is not None:
            parts, end = selector
            operator = self.binary_op(end)
            if operator is not None:
                value = self.value(operator[1])
                if value is not None:
                    return Match(tuple(parts), operator[0], value[0]), value[1]
            operator = self.empty_op(end)
            if operator is not None:
                return Match(tuple(parts), operator[0], None), operator[1]
            value = (".".join(parts), end)  # Value would parse this same selector
        else:
            value = self.value(offset)
        if value is None:
            return None
        operator = self.set_op(value[1])
        if operator is None:
            return None
        target = self.selector(operator[1])
        if target is None:
            self.error(operator[1], "match", "Invalid selector")
            return None
        return Match(tuple(target[0]), operator[0], value[0]), target[1]
