"""A fast parse of the common shape of filter: dotted selectors, quoted or numeric or bare values, the
operators, `and`/`or`/`not` and parentheses, tokenised by one regular expression.

It answers a tree only where the exact parser (`parser`) would give the same tree without error, and
otherwise gives up (None) without explaining: a keyword used as a selector or value, index syntax,
a bad escape, anything unusual goes to the exact parser, which knows go-bexpr's ordered choices and
error texts. Tests check the two agree on every input the quick parse accepts.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from muster.filter.ast import Match, Node, Op, make_and, make_or, negate
from muster.golang import unquote

# Alternatives are told apart by their first character; findall runs at C speed and skips what
# matches none, which the length check catches.
_TOKEN = re.compile(
    r"[ \t\r\n]+"
    r'|"[^"]*"|`[^`]*`'
    r"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?"
    r"|[a-zA-Z][a-zA-Z0-9_]*(?:\.[a-zA-Z][a-zA-Z0-9_]*)*"
    r"|==|!=|[()]"
)
_KEYWORDS = frozenset(("and", "or", "not", "in", "is", "empty", "contains", "matches"))
_SPACE = frozenset(" \t\r\n")
_END = "\0"  # no token can be a NUL
_WORD_OPS = MappingProxyType({"contains": Op.IN, "matches": Op.MATCHES})
_NOT_WORD_OPS = MappingProxyType({"contains": Op.NOT_IN, "matches": Op.NOT_MATCHES})


class _GiveUp(Exception):
    pass


def quick_parse(text: str, max_nesting: int) -> Node | None:
    """The tree of `text`, or None when the exact parser must decide."""
    tokens: list[str] = _TOKEN.findall(text)
    if sum(map(len, tokens)) != len(text):
        return None  # a character no token starts with
    tokens.extend(_END * 6)  # enough for the longest lookahead, so none runs off the end
    try:
        return _Quick(tokens, max_nesting).run()
    except (_GiveUp, IndexError):
        return None


def _is_word(token: str) -> bool:
    return token[0].isalpha()


class _Quick:
    def __init__(self, tokens: list[str], max_nesting: int) -> None:
        self.tokens = tokens
        self.max_nesting = max_nesting

    def run(self) -> Node:
        node, at = self.or_expr(self.skip_ws(0), 0)
        if self.tokens[self.skip_ws(at)] != _END:
            raise _GiveUp
        return node

    def skip_ws(self, at: int) -> int:
        return at + 1 if self.tokens[at][0] in _SPACE else at

    def space(self, at: int) -> bool:
        return self.tokens[at][0] in _SPACE

    def keyword(self, at: int, word: str) -> bool:
        """` word ` (whitespace on both sides) at `at`."""
        tokens = self.tokens
        return tokens[at + 1] == word and tokens[at][0] in _SPACE and tokens[at + 2][0] in _SPACE

    def or_expr(self, at: int, depth: int) -> tuple[Node, int]:
        terms: list[Node] = []
        while True:
            factors: list[Node] = []
            while True:
                node, at = self.unary(at, depth)
                factors.append(node)
                if not self.keyword(at, "and"):
                    break
                at += 3
            terms.append(make_and(factors))
            if not self.keyword(at, "or"):
                return make_or(terms), at
            at += 3

    def unary(self, at: int, depth: int) -> tuple[Node, int]:
        nots = 0
        while self.tokens[at] == "not" and self.space(at + 1):
            nots += 1
            at += 2
        if self.tokens[at] == "(":
            if depth >= self.max_nesting:
                raise _GiveUp
            node, at = self.or_expr(self.skip_ws(at + 1), depth + 1)
            at = self.skip_ws(at)
            if self.tokens[at] != ")":
                raise _GiveUp
            at += 1
        else:
            node, at = self.match(at)
        for _ in range(nots):
            node = negate(node)
        return node, at

    def match(self, at: int) -> tuple[Node, int]:
        tokens = self.tokens
        if not _is_word(tokens[at]):
            return self.set_op(self.value(at), at + 1)
        selector = self.selector(at)
        after = self.skip_ws(at + 1)
        if tokens[after] in ("==", "!="):
            op = Op.EQUAL if tokens[after] == "==" else Op.NOT_EQUAL
            start = self.skip_ws(after + 1)
            return Match(selector, op, self.value(start)), start + 1
        word = tokens[after]
        if after == at + 1 or not self.space(after + 1):
            raise _GiveUp  # word operators have whitespace on both sides
        if word in _WORD_OPS:
            return Match(selector, _WORD_OPS[word], self.value(after + 2)), after + 3
        if word == "is":
            if tokens[after + 2] == "empty":
                return Match(selector, Op.IS_EMPTY, None), after + 3
            if tokens[after + 2] == "not" and self.space(after + 3) and tokens[after + 4] == "empty":
                return Match(selector, Op.IS_NOT_EMPTY, None), after + 5
        if word == "not" and tokens[after + 2] in _NOT_WORD_OPS and self.space(after + 3):
            return Match(selector, _NOT_WORD_OPS[tokens[after + 2]], self.value(after + 4)), after + 5
        return self.set_op(".".join(selector), at + 1)

    def set_op(self, value: str, at: int) -> tuple[Node, int]:
        """`_ "in" _ Selector` / `_ "not" _ "in" _ Selector` after a value."""
        if self.keyword(at, "in"):
            return Match(self.selector(at + 3), Op.IN, value), at + 4
        if self.keyword(at, "not") and self.tokens[at + 3] == "in" and self.space(at + 4):
            return Match(self.selector(at + 5), Op.NOT_IN, value), at + 6
        raise _GiveUp

    def selector(self, at: int) -> tuple[str, ...]:
        text = self.tokens[at]
        if not _is_word(text) or text in _KEYWORDS:
            raise _GiveUp
        return tuple(text.split("."))

    def value(self, at: int) -> str:
        text = self.tokens[at]
        first = text[0]
        if first in '"`':
            decoded = unquote(text)
            if decoded is None:
                raise _GiveUp
            return decoded
        if first == "-" or "0" <= first <= "9":
            follower = self.tokens[at + 1]
            if follower[0] not in _SPACE and follower not in (")", _END):
                raise _GiveUp  # go-bexpr: "Invalid number literal"
            return text
        return ".".join(self.selector(at))
