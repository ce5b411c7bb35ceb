"""`compile_filter`: parse, check every match against the schema, and build a fast evaluator.

The boolean structure is compiled to a jump table ("jumping code"): each match test has a successor
for true and one for false, so `and`/`or` short-circuit left to right exactly as go-bexpr evaluates,
`not` costs nothing (it swaps the successors), and evaluation is one loop, never recursion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from muster.filter.ast import And, Match, Node, Not
from muster.filter.leaves import Test, compile_match
from muster.filter.parser import parse
from muster.filter.types import GoType

_TRUE = -1
_FALSE = -2

V = TypeVar("V", bound=Mapping[str, Any])


@dataclass(frozen=True, slots=True)
class Schema:
    """The Go type of the values a filter is applied to, under the name go-bexpr's callers know it by."""

    name: str
    root: GoType


class Filter:
    """A compiled expression. `matches(value)` takes the JSON wire shape of one element."""

    __slots__ = ("expression", "matches", "schema", "tree")

    def __init__(self, expression: str, schema: Schema, tree: Node | None, matches: Test) -> None:
        self.expression = expression
        self.schema = schema
        self.tree = tree  # None for the empty expression, which keeps everything
        self.matches: Callable[[Mapping[str, Any]], bool] = matches

    def filter(self, values: Iterable[V]) -> list[V]:
        """The values that match, in order. An evaluation FilterError fails the whole call, as in Consul."""
        matches = self.matches
        return [value for value in values if matches(value)]

    def __repr__(self) -> str:
        return f"Filter({self.expression!r}, {self.schema.name})"


def compile_filter(expression: str, schema: Schema) -> Filter:
    """The filter for `expression` over values of `schema`, or FilterError with go-bexpr's text.

    Every match in the tree is checked, reachable or not. The empty expression keeps every value
    (Consul's "no filter"); one of only whitespace is a syntax error, as in go-bexpr.
    """
    if expression == "":
        return Filter(expression, schema, None, lambda _value: True)
    tree = parse(expression)
    tests: dict[int, Test] = {}
    for match in _matches(tree):  # source order: the first invalid match is the one reported
        tests[id(match)] = compile_match(match, schema.root)
    return Filter(expression, schema, tree, _evaluator(tree, tests))


def _matches(tree: Node) -> Iterable[Match]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Match):
            yield node
        elif isinstance(node, Not):
            stack.append(node.operand)
        else:
            stack.extend(reversed(node.operands))


def _evaluator(tree: Node, tests: dict[int, Test]) -> Test:
    if isinstance(tree, Match):
        return tests[id(tree)]
    if isinstance(tree, Not) and isinstance(tree.operand, Match):
        test = tests[id(tree.operand)]
        return lambda value: not test(value)
    entry, program = _jumps(tree, tests)

    def run(value: Any) -> bool:
        step = entry
        while step >= 0:
            test, if_true, if_false = program[step]
            step = if_true if test(value) else if_false
        return step == _TRUE

    return run


def _jumps(tree: Node, tests: dict[int, Test]) -> tuple[int, list[tuple[Test, int, int]]]:
    """Lay out `tree` as (test, next if true, next if false) entries; returns the entry index.

    An And's operands are placed right to left: each one's true-successor is the operand after it,
    its false-successor the And's own. Or is the mirror image. Iterative, so depth is no concern.
    """
    program: list[tuple[Test, int, int]] = []
    result = _TRUE
    # frame: [node, if_true, if_false, operands left to place, successor placed last]
    stack: list[list[Any]] = [[tree, _TRUE, _FALSE, None, None]]
    while stack:
        frame = stack[-1]
        node, if_true, if_false = frame[0], frame[1], frame[2]
        if isinstance(node, Match):
            program.append((tests[id(node)], if_true, if_false))
            result = len(program) - 1
            stack.pop()
        elif isinstance(node, Not):
            if frame[3] is None:
                frame[3] = 0
                stack.append([node.operand, if_false, if_true, None, None])
            else:
                stack.pop()  # the operand's entry is the Not's entry
        else:
            conjunction = isinstance(node, And)
            if frame[3] is None:
                frame[3] = len(node.operands)
                frame[4] = if_true if conjunction else if_false
            else:
                frame[4] = result
            if frame[3] == 0:
                result = frame[4]
                stack.pop()
                continue
            frame[3] -= 1
            operand = node.operands[frame[3]]
            if conjunction:
                stack.append([operand, frame[4], if_false, None, None])
            else:
                stack.append([operand, if_true, frame[4], None, None])
    return result, program
