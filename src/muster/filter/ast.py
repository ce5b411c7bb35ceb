"""The filter expression tree (go-bexpr's `ast.go`) and a printer whose output parses back to the same tree.

`and`/`or` chains are n-ary and flattened: evaluation order is the same as go-bexpr's right-nested
binary nodes, and the tree stays as shallow as the parenthesis nesting, whatever the clause count.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import TypeAlias

from muster.golang import quote

_IDENTIFIER = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*\Z")


class Op(enum.Enum):
    """Match operators; the value is go-bexpr's `MatchOperator.String()`, used in error texts."""

    EQUAL = "Equal"
    NOT_EQUAL = "Not Equal"
    IN = "In"
    NOT_IN = "Not In"
    IS_EMPTY = "Is Empty"
    IS_NOT_EMPTY = "Is Not Empty"
    MATCHES = "Matches"
    NOT_MATCHES = "Not Matches"


@dataclass(frozen=True, slots=True)
class Match:
    """`selector op value`; `value` is the raw text (decoded string, number text or dotted bare word),
    None for `is empty` / `is not empty`. `contains` is stored as IN, as go-bexpr does."""

    selector: tuple[str, ...]
    op: Op
    value: str | None

    @property
    def path(self) -> str:
        """The selector as go-bexpr prints it: its parts joined with dots."""
        return ".".join(self.selector)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]


Node: TypeAlias = Match | Not | And | Or


def make_and(operands: list[Node]) -> Node:
    """An And of the operands, splicing nested Ands (same evaluation order, shallower tree)."""
    return _flatten(operands, And)


def make_or(operands: list[Node]) -> Node:
    return _flatten(operands, Or)


def _flatten(operands: list[Node], kind: type[And] | type[Or]) -> Node:
    if len(operands) == 1:
        return operands[0]
    flat: list[Node] = []
    for operand in operands:
        if isinstance(operand, kind):
            flat.extend(operand.operands)
        else:
            flat.append(operand)
    return kind(tuple(flat))


def negate(node: Node) -> Node:
    """`not node` with go-bexpr's simplification: `not not x` is `x`."""
    return node.operand if isinstance(node, Not) else Not(node)


def _literal(text: str) -> str:
    # A double-quoted token ends at the first '"' whatever precedes it, so quotes are written as \x22.
    return '"' + "\\x22".join(quote(piece)[1:-1] for piece in text.split('"')) + '"'


def _selector(parts: tuple[str, ...]) -> str:
    if not parts or not _IDENTIFIER.match(parts[0]):
        raise ValueError(f"selector {parts!r} does not start with an identifier")
    out = [parts[0]]
    for part in parts[1:]:
        out.append(f".{part}" if _IDENTIFIER.match(part) else f"[{_literal(part)}]")
    return "".join(out)


def _match(node: Match) -> str:
    selector = _selector(node.selector)
    if node.op is Op.IS_EMPTY:
        return f"{selector} is empty"
    if node.op is Op.IS_NOT_EMPTY:
        return f"{selector} is not empty"
    value = _literal(node.value if node.value is not None else "")
    word = {
        Op.EQUAL: "==",
        Op.NOT_EQUAL: "!=",
        Op.MATCHES: "matches",
        Op.NOT_MATCHES: "not matches",
    }.get(node.op)
    if word is None:
        return f"{value} {'in' if node.op is Op.IN else 'not in'} {selector}"
    return f"{selector} {word} {value}"


def unparse(root: Node) -> str:
    """Expression text that parses back to `root`. Iterative, so any depth the parser accepts prints."""
    out: list[str] = []
    stack: list[Node | str] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Match):
            out.append(_match(item))
        elif isinstance(item, Not):
            grouped = not isinstance(item.operand, Match)
            stack.extend([")", item.operand, "not ("] if grouped else [item.operand, "not "])
        else:
            word = " and " if isinstance(item, And) else " or "
            parts: list[Node | str] = []
            for index, operand in enumerate(item.operands):
                if index:
                    parts.append(word)
                # An Or inside an And needs parentheses; a nested node of the same kind would have been
                # spliced by the parser, so it gets them too to stay a separate node.
                grouped = isinstance(operand, Or) or type(operand) is type(item)
                parts.extend(["(", operand, ")"] if grouped else [operand])
            stack.extend(reversed(parts))
    return "".join(out)
