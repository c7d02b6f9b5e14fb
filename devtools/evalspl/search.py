"""Search clauses: eventtype searches and the base-search macros matched against an event."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

from devtools.conf import ROOT, parse_conf

from .evaluate import multivalue
from .parser import Node, unescape
from .values import EvalError, Fields

# Search clauses (eventtype searches and the base-search macros)

_SEARCH_TOKEN = re.compile(r'\s*(\(|\)|"(?:\\.|[^"\\])*"|[^\s()"]+(?:"(?:\\.|[^"\\])*")?)')


def _search_tokens(text: str) -> List[str]:
    tokens: List[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _SEARCH_TOKEN.match(text, pos)
        if not match:
            raise EvalError(f"cannot tokenize search at {text[pos:pos + 20]!r}")
        tokens.append(match.group(1))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def _wild(pattern: str, value: str) -> bool:
    regex = "".join(".*" if ch == "*" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.I | re.S) is not None


class SearchParser:
    """``search`` command clauses: implicit AND, OR (binds tighter than AND, as in Splunk), NOT,
    parentheses, ``field=value`` / ``field!=value`` with ``*`` wildcards (values case-insensitive,
    any value of a multivalue field), and bare terms (modelled as case-insensitive substrings of
    ``_raw``, ``*`` in a term as any text and ``*`` alone as every event; Splunk matches indexed
    segments, which agrees for the terms the app uses)."""

    def __init__(self, text: str) -> None:
        self.tokens = _search_tokens(text)
        self.pos = 0

    def parse(self) -> Node:
        node = self.and_()
        if self.pos != len(self.tokens):
            raise EvalError(f"unexpected {self.tokens[self.pos]!r} in search")
        return node

    def peek(self) -> Optional[str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def and_(self) -> Node:
        parts = [self.or_()]
        while self.peek() not in (None, ")"):
            parts.append(self.or_())
        return ("and", parts)

    def or_(self) -> Node:
        parts = [self.not_()]
        while self.peek() == "OR":
            self.pos += 1
            parts.append(self.not_())
        return ("or", parts)

    def not_(self) -> Node:
        if self.peek() == "NOT":
            self.pos += 1
            return ("not", self.not_())
        return self.atom()

    def atom(self) -> Node:
        token = self.peek()
        if token is None:
            raise EvalError("search ends early")
        self.pos += 1
        if token == "(":  # noqa: S105 (a search token, not a secret)
            node = self.and_()
            if self.peek() != ")":
                raise EvalError("unbalanced parenthesis in search")
            self.pos += 1
            return node
        match = re.fullmatch(r'([\w.:{}@-]+)(!=|=)(.*)', token, re.S)
        if match:
            value = match.group(3)
            if value.startswith('"') and value.endswith('"'):
                value = unescape(value)
            return ("cmp", match.group(1), match.group(2), value)
        if token.upper() in {"AND"}:
            return ("true",)
        return ("term", unescape(token) if token.startswith('"') else token)


def _search_eval(node: Node, fields: Fields) -> bool:
    kind = node[0]
    if kind == "and":
        return all(_search_eval(n, fields) for n in node[1])
    if kind == "or":
        return any(_search_eval(n, fields) for n in node[1])
    if kind == "not":
        return not _search_eval(node[1], fields)
    if kind == "true":
        return True
    if kind == "term":
        term = str(node[1])
        if term == "*":
            return True  # `search *` keeps every event
        if "*" in term:
            regex = ".*".join(re.escape(part) for part in term.split("*"))
            return re.search(regex, str(fields.get("_raw", "")), re.I | re.S) is not None
        return term.lower() in str(fields.get("_raw", "")).lower()
    _, name, op, pattern = node
    values = multivalue(fields.get(name))
    hit = any(_wild(pattern, v) for v in values)
    return hit if op == "=" else (bool(values) and not hit)


def search_matches(search: str, fields: Fields) -> bool:
    """Whether an event (with its eventtype/tag fields filled in) matches a search clause."""
    return _search_eval(SearchParser(search).parse(), fields)


def with_eventtypes(fields: Fields, root: Path = ROOT) -> Fields:
    """Add the ``eventtype`` and ``tag`` fields eventtypes.conf / tags.conf give an event."""
    eventtypes = [s.name for s in parse_conf(root / "default" / "eventtypes.conf")
                  if s.name != "default" and search_matches(s.get("search") or "", fields)]
    tags: List[str] = []
    tags_conf = root / "default" / "tags.conf"
    if tags_conf.is_file():
        for stanza in parse_conf(tags_conf):
            field, _, value = stanza.name.partition("=")
            if field == "eventtype" and value in eventtypes:
                tags += [s.key for s in stanza.settings if s.value.strip() == "enabled" and s.key not in tags]
    out = dict(fields)
    out["eventtype"] = eventtypes or None
    out["tag"] = tags or None
    return {k: v for k, v in out.items() if v is not None}
