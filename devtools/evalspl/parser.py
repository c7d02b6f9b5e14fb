"""Tokenizer and parser of ``eval`` expressions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

from .values import EvalError

# Tokenizer and parser

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<str>"(?:\\.|[^"\\])*")
  | (?P<qfield>'[^']*')
  | (?P<op>==|!=|<=|>=|=|<|>|\+|-|\*|/|%|\.|\(|\)|,)
  | (?P<name>[A-Za-z_$][\w$]*)
""", re.X)

_KEYWORDS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokenize(text: str) -> List[Token]:
    tokens: List[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise EvalError(f"cannot tokenize at {text[pos:pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind == "ws":
            continue
        value = match.group()
        if kind == "name" and value in _KEYWORDS:
            kind = "kw"
        tokens.append(Token(kind, value))
    return tokens


def unescape(literal: str) -> str:
    # SPL string literals: \" and \\ are escapes; any other backslash stays (regexes rely on it).
    body = literal[1:-1]
    return re.sub(r'\\(["\\])', r"\1", body)


Node = Tuple[Any, ...]


class Parser:
    """Recursive descent; precedence OR < AND < NOT < comparison < + - . < * / % < unary."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Optional[Token]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, text: Optional[str] = None) -> Token:
        token = self.peek()
        if token is None or (text is not None and token.text != text):
            raise EvalError(f"expected {text or 'a token'} at token {self.pos}")
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise EvalError(f"unexpected {self.peek()!r}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek() is not None and self.peek() == Token("kw", "OR"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek() is not None and self.peek() == Token("kw", "AND"):
            self.take()
            node = ("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.peek() == Token("kw", "NOT"):
            self.take()
            return ("not", self.not_())
        return self.comparison()

    def comparison(self) -> Node:
        node = self.additive()
        token = self.peek()
        if token is not None and token.kind == "op" and token.text in {"==", "=", "!=", "<", "<=", ">", ">="}:
            self.take()
            op = "==" if token.text == "=" else token.text
            node = ("cmp", op, node, self.additive())
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while True:
            token = self.peek()
            if token is None or token.kind != "op" or token.text not in {"+", "-", "."}:
                return node
            self.take()
            node = ("arith", token.text, node, self.multiplicative())

    def multiplicative(self) -> Node:
        node = self.unary()
        while True:
            token = self.peek()
            if token is None or token.kind != "op" or token.text not in {"*", "/", "%"}:
                return node
            self.take()
            node = ("arith", token.text, node, self.unary())

    def unary(self) -> Node:
        if self.peek() == Token("op", "-"):
            self.take()
            return ("arith", "-", ("num", 0), self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "num":
            return ("num", float(token.text) if "." in token.text else int(token.text))
        if token.kind == "str":
            return ("str", unescape(token.text))
        if token.kind == "qfield":
            return ("field", token.text[1:-1])
        if token.kind == "op" and token.text == "(":
            node = self.or_()
            self.take(")")
            return node
        if token.kind == "name":
            if self.peek() == Token("op", "("):
                self.take("(")
                args: List[Node] = []
                if self.peek() != Token("op", ")"):
                    args.append(self.or_())
                    while self.peek() == Token("op", ","):
                        self.take(",")
                        args.append(self.or_())
                self.take(")")
                return ("call", token.text.lower(), args)
            return ("field", token.text)
        raise EvalError(f"unexpected token {token.text!r}")
