"""The hand-written parser against a literal interpreter of go-bexpr v0.1.2's PEG with pigeon's
semantics (ordered choice, full backtracking, farthest-failure `expected` lists, custom errors).

The interpreter is the reference: it is the grammar file transcribed rule by rule, exponential in
parenthesis depth like the original, so the generated inputs stay small. Hypothesis checks that both
parsers accept the same texts with the same trees and reject the rest with the same message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from muster.filter.ast import Match, Node, Op, make_and, make_or, negate, unparse
from muster.filter.errors import FilterError
from muster.filter.parser import MAX_NESTING, parse, parse_exact, position
from muster.filter.quickparse import quick_parse
from muster.golang import unquote

# ---------------------------------------------------------------------------------------------------
# The PEG, as data. ("lit", s) ("cls", want, chars) ("any",) ("seq", ...) ("alt", ...) ("star", e)
# ("plus", e) ("opt", e) ("not", e) ("and", e) ("ref", rule) ("act", e, fn) ("code", message)

Expr = tuple[Any, ...]


def lit(text: str) -> Expr:
    return ("lit", text)


def ref(rule: str) -> Expr:
    return ("ref", rule)


def seq(*items: Expr) -> Expr:
    return ("seq", *items)


def alt(*items: Expr) -> Expr:
    return ("alt", *items)


def act(expr: Expr, fn: Callable[[Any, str], Any]) -> Expr:
    return ("act", expr, fn)


WS_CHARS = " \t\r\n"
ALPHA = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
_ = ("opt", ref("_"))


def _op(expr: Expr, op: Op) -> Expr:
    return act(expr, lambda _v, _t: op)


def _not_action(value: Any, _text: str) -> Any:
    operand = value[2]
    return operand[1] if isinstance(operand, tuple) and operand[0] == "not" else ("not", operand)


GRAMMAR: dict[str, tuple[str | None, Expr]] = {
    "Input": (
        None,
        alt(
            act(seq(_, lit("("), _, ref("Or"), _, lit(")"), _, ref("EOF")), lambda v, t: v[3]),
            act(seq(_, ref("Or"), _, ref("EOF")), lambda v, t: v[1]),
        ),
    ),
    "Or": (
        None,
        alt(
            act(seq(ref("And"), ref("_"), lit("or"), ref("_"), ref("Or")), lambda v, t: ("or", v[0], v[4])),
            ref("And"),
        ),
    ),
    "And": (
        None,
        alt(
            act(
                seq(ref("Not"), ref("_"), lit("and"), ref("_"), ref("And")), lambda v, t: ("and", v[0], v[4])
            ),
            ref("Not"),
        ),
    ),
    "Not": (None, alt(act(seq(lit("not"), ref("_"), ref("Not")), _not_action), ref("Paren"))),
    "Paren": (
        "grouping",
        alt(
            act(seq(lit("("), _, ref("Or"), _, lit(")")), lambda v, t: v[2]),
            ref("Match"),
            seq(lit("("), _, ref("Or"), _, ("not", lit(")")), ("code", "Unmatched parentheses")),
        ),
    ),
    "Match": ("match", alt(ref("MSOV"), ref("MSO"), ref("MVOS"))),
    "MSOV": (
        "match",
        act(
            seq(
                ref("Selector"), alt(*(ref(n) for n in ("EQ", "NE", "CT", "NCT", "MA", "NMA"))), ref("Value")
            ),
            lambda v, t: Match(tuple(v[0]), v[1], v[2]),
        ),
    ),
    "MSO": (
        "match",
        act(seq(ref("Selector"), alt(ref("IE"), ref("INE"))), lambda v, t: Match(tuple(v[0]), v[1], None)),
    ),
    "MVOS": (
        "match",
        alt(
            act(
                seq(ref("Value"), alt(ref("IN"), ref("NIN")), ref("Selector")),
                lambda v, t: Match(tuple(v[2]), v[1], v[0]),
            ),
            seq(
                ref("Value"),
                alt(ref("IN"), ref("NIN")),
                ("not", ref("Selector")),
                ("code", "Invalid selector"),
            ),
        ),
    ),
    "EQ": (None, _op(seq(_, lit("=="), _), Op.EQUAL)),
    "NE": (None, _op(seq(_, lit("!="), _), Op.NOT_EQUAL)),
    "IE": (None, _op(seq(ref("_"), lit("is"), ref("_"), lit("empty")), Op.IS_EMPTY)),
    "INE": (
        None,
        _op(seq(ref("_"), lit("is"), ref("_"), lit("not"), ref("_"), lit("empty")), Op.IS_NOT_EMPTY),
    ),
    "IN": (None, _op(seq(ref("_"), lit("in"), ref("_")), Op.IN)),
    "NIN": (None, _op(seq(ref("_"), lit("not"), ref("_"), lit("in"), ref("_")), Op.NOT_IN)),
    "CT": (None, _op(seq(ref("_"), lit("contains"), ref("_")), Op.IN)),
    "NCT": (None, _op(seq(ref("_"), lit("not"), ref("_"), lit("contains"), ref("_")), Op.NOT_IN)),
    "MA": (None, _op(seq(ref("_"), lit("matches"), ref("_")), Op.MATCHES)),
    "NMA": (None, _op(seq(ref("_"), lit("not"), ref("_"), lit("matches"), ref("_")), Op.NOT_MATCHES)),
    "Selector": ("selector", act(seq(ref("Identifier"), ("star", ref("SOI"))), lambda v, t: [v[0], *v[1]])),
    "Identifier": (
        None,
        act(
            seq(("cls", "[a-zA-Z]", ALPHA), ("star", ("cls", "[a-zA-Z0-9_]", ALPHA + DIGITS + "_"))),
            lambda v, t: t,
        ),
    ),
    "SOI": (None, alt(act(seq(lit("."), ref("Identifier")), lambda v, t: v[1]), ref("Index"))),
    "Index": (
        "index",
        alt(
            act(seq(lit("["), _, ref("String"), _, lit("]")), lambda v, t: v[2]),
            seq(lit("["), _, ("not", ref("String")), ("code", "Invalid index")),
            seq(lit("["), _, ref("String"), _, ("not", lit("]")), ("code", "Unclosed index expression")),
        ),
    ),
    "Value": (
        "value",
        alt(
            act(ref("Selector"), lambda v, t: ".".join(v)),
            act(ref("Number"), lambda v, t: t),
            ref("String"),
        ),
    ),
    "Number": (
        "number",
        alt(
            seq(("opt", lit("-")), ref("IntOrFloat"), ("and", ref("AfterNumbers"))),
            seq(
                ("opt", lit("-")),
                ref("IntOrFloat"),
                ("not", ref("AfterNumbers")),
                ("code", "Invalid number literal"),
            ),
        ),
    ),
    "AfterNumbers": (None, ("and", alt(ref("_"), ref("EOF"), lit(")")))),
    "IntOrFloat": (
        None,
        seq(
            alt(lit("0"), seq(("cls", "[1-9]", DIGITS[1:]), ("star", ("cls", "[0-9]", DIGITS)))),
            ("opt", seq(lit("."), ("plus", ("cls", "[0-9]", DIGITS)))),
        ),
    ),
    "String": (
        "string",
        alt(
            (
                "unquote",
                alt(
                    seq(lit("`"), ("star", ref("RSC")), lit("`")),
                    seq(lit('"'), ("star", ref("DSC")), lit('"')),
                ),
            ),
            seq(
                alt(seq(lit("`"), ("star", ref("RSC"))), seq(lit('"'), ("star", ref("DSC")))),
                ref("EOF"),
                ("code", "Unterminated string literal"),
            ),
        ),
    ),
    "RSC": (None, seq(("not", lit("`")), ("any",))),
    "DSC": (None, seq(("not", lit('"')), ("any",))),
    "_": ("whitespace", ("plus", ("cls", "[ \\t\\r\\n]", WS_CHARS))),
    "EOF": (None, ("not", ("any",))),
}


def _go_quote_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Pigeon:
    """pigeon's runtime: `failAt` with the inverted-expectation flag, errors at the current rule."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.max_fail = 0
        self.expected: list[str] = []
        self.invert = False
        self.errors: list[str] = []
        self.rules: list[str | None] = []

    def fail_at(self, failed: bool, at: int, want: str) -> None:
        # pigeon: record a failure when not inverted, or a success when inverted (inside `!`)
        if failed == self.invert:
            return
        if at < self.max_fail:
            return
        if at > self.max_fail:
            self.max_fail = at
            self.expected = []
        self.expected.append(("!" + want) if self.invert else want)

    def add_error(self, at: int, message: str) -> None:
        self.errors.append(f'{position(self.text, at)}: rule "{self.rules[-1]}": {message}')

    def run(self, expr: Expr) -> tuple[bool, Any]:  # one branch per PEG form
        kind = expr[0]
        start = self.pos
        if kind == "lit":
            ok = self.text.startswith(expr[1], start)
            self.fail_at(not ok, start, _go_quote_literal(expr[1]))
            if ok:
                self.pos += len(expr[1])
            return ok, expr[1] if ok else None
        if kind in ("cls", "any"):
            ok = start < len(self.text) and (kind == "any" or self.text[start] in expr[2])
            self.fail_at(not ok, start, "." if kind == "any" else expr[1])
            if ok:
                self.pos += 1
            return ok, self.text[start] if ok else None
        if kind == "seq":
            values = []
            for item in expr[1:]:
                ok, value = self.run(item)
                if not ok:
                    self.pos = start
                    return False, None
                values.append(value)
            return True, values
        if kind == "alt":
            for item in expr[1:]:
                ok, value = self.run(item)
                if ok:
                    return True, value
            return False, None
        if kind in ("star", "plus"):
            values = []
            while True:
                ok, value = self.run(expr[1])
                if not ok:
                    break
                values.append(value)
            if kind == "plus" and not values:
                return False, None
            return True, values
        if kind == "opt":
            ok, value = self.run(expr[1])
            return True, value if ok else None
        if kind in ("not", "and"):
            if kind == "not":
                self.invert = not self.invert
            ok, _value = self.run(expr[1])
            if kind == "not":
                self.invert = not self.invert
            self.pos = start
            return ok != (kind == "not"), None
        if kind == "ref":
            display, body = GRAMMAR[expr[1]]
            self.rules.append(display or expr[1])
            try:
                return self.run(body)
            finally:
                self.rules.pop()
        if kind in ("act", "unquote"):
            ok, value = self.run(expr[1])
            if not ok:
                return False, None
            text = self.text[start : self.pos]
            if kind == "act":
                return True, expr[2](value, text)
            decoded = unquote(text)
            if decoded is None:
                self.add_error(start, "invalid syntax")
            return True, decoded or ""
        if kind == "code":
            self.add_error(self.pos, expr[1])
            return False, None
        raise AssertionError(kind)

    def parse(self) -> Any:
        ok, value = self.run(ref("Input"))
        errors = list(dict.fromkeys(self.errors))
        if errors:
            raise FilterError("\n".join(errors), kind="syntax")
        if not ok:
            wanted = sorted(set(self.expected) - {"!."})
            if "!." in self.expected:
                wanted.append("EOF")
            listed = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " or " + wanted[-1]
            raise FilterError(
                f"{position(self.text, self.max_fail)}: no match found, expected: {listed}", kind="syntax"
            )
        return value


def tree(raw: Any) -> Node:
    """The oracle's binary tree in the parser's flattened form."""
    if isinstance(raw, Match):
        return raw
    if raw[0] == "not":
        return negate(tree(raw[1]))
    operands = [tree(raw[1]), tree(raw[2])]
    return make_and(operands) if raw[0] == "and" else make_or(operands)


def oracle(text: str) -> Node | str:
    try:
        return tree(Pigeon(text).parse())
    except FilterError as exc:
        return str(exc)


def ours(text: str) -> Node | str:
    try:
        return parse_exact(text)
    except FilterError as exc:
        return str(exc)


# ---------------------------------------------------------------------------------------------------
# Inputs: valid expressions from the grammar, and token soup that is mostly almost valid.

SELECTORS = [
    "Service",
    "Meta.env",
    'Meta["some-key"]',
    "Meta[`a b`]",
    "not",
    "in",
    "is",
    "Tags",
    "a.b.c",
    "x_1",
]
VALUES = ['"web"', "`raw\\d`", "web", "12", "-3", "0", "1.5", '"\\x41\\u00e9"', "foo.bar", 'a["k"]', '""']
BINARY = ["==", "!=", "contains", "not contains", "matches", "not matches"]

whitespace = st.sampled_from([" ", "  ", "\t", "\n", "\r\n", " \t "])


@st.composite
def match_text(draw: st.DrawFn) -> str:
    sel, value, ws = draw(st.sampled_from(SELECTORS)), draw(st.sampled_from(VALUES)), draw(whitespace)
    form = draw(st.integers(0, 3))
    if form == 0:
        glue = draw(st.sampled_from(["", ws])) if draw(st.booleans()) else ws
        op = draw(st.sampled_from(BINARY))
        if op not in ("==", "!="):
            glue = ws
        return f"{sel}{glue}{op}{glue}{value}"
    if form == 1:
        return f"{sel}{ws}is{ws}{draw(st.sampled_from(['', 'not' + ws]))}empty"
    return f"{value}{ws}{draw(st.sampled_from(['in', 'not' + ws + 'in']))}{ws}{sel}"


@st.composite
def expression_text(draw: st.DrawFn, depth: int = 2) -> str:
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return draw(match_text())
    ws = draw(whitespace)
    kind = draw(st.sampled_from(["and", "or", "not", "paren"]))
    if kind == "not":
        inner = draw(expression_text(depth=depth - 1))
        return f"not{ws}{inner}" if draw(st.booleans()) else f"not{ws}({inner})"
    if kind == "paren":
        return f"({draw(st.sampled_from(['', ws]))}{draw(expression_text(depth=depth - 1))}{ws[:1]})"
    left, right = draw(expression_text(depth=depth - 1)), draw(expression_text(depth=depth - 1))
    return f"{left}{ws}{kind}{ws}{right}"


TOKENS = [
    *SELECTORS,
    *VALUES,
    *BINARY,
    "and",
    "or",
    "not",
    "is",
    "empty",
    "in",
    "(",
    ")",
    "[",
    "]",
    ".",
    "-",
    "=",
    "!",
    "08",
    "3x",
    "1.",
    '"unterminated',
    "`open",
    '"a\\qb"',
    '"\\400"',
    "AND",
    "é",
    "x-y",
    "'q'",
]


@st.composite
def token_soup(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=8))
    gaps = draw(
        st.lists(st.sampled_from(["", " ", " ", " ", "\t", "\n"]), min_size=len(tokens), max_size=len(tokens))
    )
    return "".join(g + t for g, t in zip(gaps, tokens, strict=True)) + draw(st.sampled_from(["", " ", ")"]))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid expression with one character inserted, deleted or replaced."""
    text = draw(expression_text())
    at = draw(st.integers(0, len(text)))
    change = draw(st.sampled_from(["insert", "delete", "replace"]))
    char = draw(st.sampled_from(list(' ()[]."`=!-_x0\\\n')))
    if change == "insert":
        return text[:at] + char + text[at:]
    if change == "delete":
        return text[:at] + text[at + 1 :]
    return text[:at] + char + text[at + 1 :]


FUZZ = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(expression_text())
def test_valid_expressions_parse_as_the_peg_parses_them(text: str) -> None:
    assert oracle(text) == ours(text)


@FUZZ
@given(st.one_of(token_soup(), mutated()))
def test_broken_expressions_fail_with_the_pegs_error_text(text: str) -> None:
    assert oracle(text) == ours(text)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list('ab in not()"`[]=.!-0 1\t\n')), max_size=24))
def test_arbitrary_short_texts_agree_with_the_peg(text: str) -> None:
    assert oracle(text) == ours(text)


@FUZZ
@given(st.one_of(expression_text(depth=3), token_soup(), mutated()))
def test_the_quick_parse_only_answers_what_the_exact_parser_answers(text: str) -> None:
    quick = quick_parse(text, MAX_NESTING)
    if quick is not None:
        assert quick == parse_exact(text)


def test_the_quick_parse_takes_the_common_forms() -> None:
    for text in [
        'Service == "web"',
        "(a == 1 or not b != x.y) and -2 not in T",
        "x is not empty",
        "x matches `a`",
    ]:
        assert quick_parse(text, MAX_NESTING) is not None


@settings(max_examples=400, deadline=None)
@given(expression_text(depth=3))
def test_printing_a_tree_parses_back_to_the_same_tree(text: str) -> None:
    node = ours(text)
    if isinstance(node, str):  # e.g. a bad escape in a generated string
        return
    assert parse(unparse(node)) == node


IDENTIFIERS = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,5}", fullmatch=True) | st.sampled_from(
    ["not", "in", "and"]
)
NO_VALUE = (Op.IS_EMPTY, Op.IS_NOT_EMPTY)


def _match(first: str, rest: list[str], op: Op, value: str) -> Match:
    return Match((first, *rest), op, None if op in NO_VALUE else value)


MATCHES = st.builds(
    _match,
    IDENTIFIERS,
    st.lists(IDENTIFIERS | st.text(max_size=5), max_size=3),
    st.sampled_from(list(Op)),
    st.text(),
).filter(
    # `not not matches "v"` reads as `not (not matches "v")` in go-bexpr: no text gives this tree.
    lambda match: not (match.selector == ("not",) and match.op is Op.NOT_MATCHES)
)
TREES = st.recursive(
    MATCHES,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(make_and),
        st.lists(children, min_size=2, max_size=3).map(make_or),
        children.map(negate),
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(TREES)
def test_any_tree_prints_as_text_that_parses_back_to_it(node: Node) -> None:
    text = unparse(node)
    assert node == parse(text)
    assert node == parse_exact(text)


def test_the_oracle_reproduces_known_go_bexpr_messages() -> None:
    # A sanity check of the reference itself, from go-bexpr's grammar tests.
    assert oracle("32 == 32") == '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]'
    assert oracle("x in 32") == '1:6 (5): rule "match": Invalid selector'
    assert oracle('foo["abc" == 3') == '1:11 (10): rule "index": Unclosed index expression'
