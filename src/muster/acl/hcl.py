"""The part of HCL 1 (hashicorp/hcl v1) that ACL rules use, and its JSON form: `key "label" { ... }`
blocks, `key = value` attributes, strings, numbers, bools, lists and comments. Both parse into the same
tree, as `hcl.Decode` sees them; a text whose first character is `{` is JSON, as in HCL 1."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TypeAlias

from muster.decode import check_nesting
from muster.errors import DecodeError
from muster.golang import quote

# Rules need a handful of levels (`namespace "n" { service "s" { policy = "read" } }`); the parser
# recurses up to three frames a level, so deeper text is refused before Python's stack runs out.
MAX_NESTING = 128


class HCLError(ValueError):
    """A syntax error; the text is `At <line>:<col>: <what>`, as HCL 1 reports positions."""


@dataclass(frozen=True)
class Item:
    keys: tuple[str, ...]  # `service "web" {` has the keys ("service", "web")
    value: Value
    line: int
    column: int
    assigned: bool  # written `key = value`; an attribute, which may appear once per object


Value: TypeAlias = "str | int | float | bool | list[Value] | Body"


@dataclass(frozen=True)
class Body:
    """An object: `{ ... }`, in order, duplicates kept (blocks may repeat)."""

    items: tuple[Item, ...]


_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>-?(?:0x[0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.\-]*)
  | (?P<punct>[{}\[\]=,])
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    line: int
    column: int


def _unquote(raw: str, line: int, column: int) -> str:
    out: list[str] = []
    i = 1
    while i < len(raw) - 1:
        char = raw[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        nxt = raw[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            digits = raw[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise HCLError(f"At {line}:{column}: illegal char escape")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        else:
            raise HCLError(f"At {line}:{column}: illegal char escape")
    return "".join(out)


def _tokens(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        column = pos - line_start + 1
        if match is None:
            if text.startswith('"', pos):
                raise HCLError(f"At {line}:{column}: literal not terminated")
            if text.startswith("/*", pos):
                raise HCLError(f"At {line}:{column}: comment not terminated")
            raise HCLError(f"At {line}:{column}: illegal char {quote(text[pos])}")
        kind = match.lastgroup or ""
        chunk = match.group()
        if kind not in ("space", "comment"):
            tokens.append(_Tok(kind, chunk, line, column))
        newlines = chunk.count("\n")
        if newlines:
            line += newlines
            line_start = pos + chunk.rindex("\n") + 1
        pos = match.end()
    tokens.append(_Tok("eof", "", line, pos - line_start + 1))
    return tokens


def _describe(tok: _Tok) -> str:
    return "EOF" if tok.kind == "eof" else f"{tok.kind.upper()} {tok.text}"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.depth = 0

    def nested(self, opener: _Tok) -> None:
        """Called at each `{` and `[`; the matching close calls `self.depth -= 1`."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise HCLError(f"At {opener.line}:{opener.column}: exceeded max depth of {MAX_NESTING}")

    def peek(self) -> _Tok:
        return self.tokens[self.pos]

    def take(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def fail(self, tok: _Tok, expected: str) -> HCLError:
        return HCLError(f"At {tok.line}:{tok.column}: expected: {expected} got: {_describe(tok)}")

    def object_items(self, closing: str) -> tuple[Item, ...]:
        items: list[Item] = []
        while True:
            tok = self.peek()
            if (closing == "eof" and tok.kind == "eof") or (tok.kind == "punct" and tok.text == closing):
                self.take()
                return tuple(items)
            items.append(self.item())
            if self.peek().kind == "punct" and self.peek().text == ",":
                self.take()

    def item(self) -> Item:
        first = self.peek()
        keys: list[str] = []
        while self.peek().kind in ("ident", "string"):
            tok = self.take()
            keys.append(_unquote(tok.text, tok.line, tok.column) if tok.kind == "string" else tok.text)
        if not keys:
            raise self.fail(first, "IDENT | STRING")
        tok = self.take()
        if tok.kind == "punct" and tok.text == "=":
            if len(keys) > 1:
                raise HCLError(f"At {tok.line}:{tok.column}: nested object expected: LBRACE got: ASSIGN")
            return Item(tuple(keys), self.value(), first.line, first.column, assigned=True)
        if tok.kind == "punct" and tok.text == "{":
            self.nested(tok)
            block = Body(self.object_items("}"))
            self.depth -= 1
            return Item(tuple(keys), block, first.line, first.column, assigned=False)
        raise HCLError(
            f"At {tok.line}:{tok.column}: key {quote(keys[-1])} expected start of object ('{{') "
            "or assignment ('=')"
        )

    def value(self) -> Value:
        tok = self.take()
        if tok.kind == "string":
            return _unquote(tok.text, tok.line, tok.column)
        if tok.kind == "number":
            if tok.text.lower().startswith(("0x", "-0x")):
                return int(tok.text, 16)
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind == "ident" and tok.text in ("true", "false"):
            return tok.text == "true"
        if tok.kind == "punct" and tok.text == "{":
            self.nested(tok)
            body = Body(self.object_items("}"))
            self.depth -= 1
            return body
        if tok.kind == "punct" and tok.text == "[":
            self.nested(tok)
            values: list[Value] = []
            while not (self.peek().kind == "punct" and self.peek().text == "]"):
                values.append(self.value())
                if self.peek().kind == "punct" and self.peek().text == ",":
                    self.take()
                elif not (self.peek().kind == "punct" and self.peek().text == "]"):
                    raise self.fail(self.peek(), "COMMA | RBRACK")
            self.take()
            self.depth -= 1
            return values
        raise self.fail(tok, "STRING | NUMBER | BOOL | LBRACE | LBRACK")


def _from_json(value: object, line: int) -> Value:
    if isinstance(value, dict):
        return Body(
            tuple(Item((str(k),), _from_json(v, line), line, 1, assigned=True) for k, v in value.items())
        )
    if isinstance(value, list):
        return [_from_json(v, line) for v in value]
    if isinstance(value, bool | int | float | str):
        return value
    return ""  # null: an empty value, as HCL's JSON parser decodes it into a string field


def parse(text: str) -> Body:
    """Parse rules text (HCL 1 or its JSON form) into a Body; raises HCLError."""
    if text.lstrip().startswith("{"):
        try:
            check_nesting(text.encode("utf-8", "surrogatepass"), MAX_NESTING)
        except DecodeError as exc:
            raise HCLError(f"At 1:1: {exc.text}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HCLError(f"At {exc.lineno}:{exc.colno}: {exc.msg}") from None
        body = _from_json(data, 1)
        if not isinstance(body, Body):
            raise HCLError("At 1:1: expected a JSON object")
        return body
    parser = _Parser(text)
    return Body(parser.object_items("eof"))
