"""Search clauses: eventtype searches and the base-search macros matched against an event."""

from __future__ import annotations

import functools
import ipaddress
import re
from pathlib import Path
from typing import Dict, FrozenSet, List, Optional, Set, Tuple, Union

from devtools.conf import ROOT, Stanza, parse_conf

from .evaluate import multivalue
from .parser import Node, unescape
from .timemod import epoch_of
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


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if ch == "*" else re.escape(ch) for ch in pattern), re.I | re.S)


Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@functools.lru_cache(maxsize=1024)
def _cidr(pattern: str) -> Optional[Network]:
    if "/" not in pattern or "*" in pattern:
        return None
    try:
        return ipaddress.ip_network(pattern.strip(), strict=False)
    except ValueError:
        return None


def _wild(pattern: str, value: str) -> bool:
    if "*" not in pattern and "/" not in pattern:
        return pattern.lower() == value.lower()
    network = _cidr(pattern)
    if network is not None:
        # field=<CIDR> in a search matches addresses in the network (assumption: only values that
        # parse as an address of the same family, the way cidrmatch() reads them)
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            return False
        return address.version == network.version and address in network
    return _compiled(pattern).fullmatch(value) is not None


class SearchParser:
    """``search`` command clauses: implicit AND, OR (binds tighter than AND, as in Splunk), NOT,
    parentheses, ``field=value`` / ``field!=value`` with ``*`` wildcards (values case-insensitive,
    any value of a multivalue field) or an address range in CIDR form, ``field IN (v1, v2, ...)``,
    ``field<value`` (``<=``, ``>``, ``>=``: numbers as numbers),
    the time modifiers ``earliest=`` / ``latest=`` (an event counts when ``earliest <= _time <
    latest``; they bound the clause they stand in), and bare terms (modelled as case-insensitive
    substrings of ``_raw``, ``*`` in a term as any text and ``*`` alone as every event; Splunk
    matches indexed segments, which agrees for the terms the app uses)."""

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
        match = re.fullmatch(r'([\w.:{}@-]+)(!=|<=|>=|=|<|>)(.*)', token, re.S)
        if match:
            value = match.group(3)
            if value.startswith('"') and value.endswith('"'):
                value = unescape(value)
            if match.group(1).lower() in ("earliest", "latest") and match.group(2) == "=":
                return ("time", match.group(1).lower(), value)
            return ("cmp", match.group(1), match.group(2), value)
        nxt = self.peek()
        if nxt is not None and nxt.upper() == "IN" and re.fullmatch(r"[\w.:{}@-]+", token):
            self.pos += 1
            if self.peek() != "(":
                raise EvalError(f"{token} IN without a value list")
            self.pos += 1
            values: List[str] = []
            while self.peek() not in (None, ")"):
                item = str(self.peek())
                self.pos += 1
                for part in ([item] if item.startswith('"') else item.split(",")):
                    part = part.strip()
                    if part:
                        values.append(unescape(part) if part.startswith('"') else part)
            if self.peek() != ")":
                raise EvalError(f"{token} IN list is not closed")
            self.pos += 1
            # the same as (field=v1 OR field=v2 ...): plain values looked up at once, patterns one by one
            plain = frozenset(v.lower() for v in values if "*" not in v and "/" not in v)
            patterns = tuple(v for v in values if "*" in v or "/" in v)
            return ("in", token, plain, patterns)
        if token.upper() in {"AND"} or token == "*":  # noqa: S105 ("*" alone matches every event)
            return ("true",)
        return ("term", unescape(token) if token.startswith('"') else token)


def _search_eval(node: Node, fields: Fields, now: float) -> bool:
    kind = node[0]
    if kind == "and":
        return all(_search_eval(n, fields, now) for n in node[1])
    if kind == "or":
        return any(_search_eval(n, fields, now) for n in node[1])
    if kind == "guarded_or":
        for name, (plain, patterns) in node[1].items():
            if any(v.lower() in plain or any(_wild(p, v) for p in patterns) for v in multivalue(fields.get(name))):
                return any(_search_eval(n, fields, now) for n in node[2])
        return False
    if kind == "not":
        return not _search_eval(node[1], fields, now)
    if kind == "true":
        return True
    if kind == "time":
        bound = _epoch(node[2], now)
        if bound is None:
            raise EvalError(f"{node[1]}={node[2]!r} is not a time modifier")
        try:
            t = float(str(fields.get("_time")))
        except ValueError:
            return False
        return t >= bound if node[1] == "earliest" else t < bound
    if kind == "term":
        term = str(node[1])
        if term == "*":
            return True  # `search *` keeps every event
        if "*" in term:
            regex = ".*".join(re.escape(part) for part in term.split("*"))
            return re.search(regex, str(fields.get("_raw", "")), re.I | re.S) is not None
        return term.lower() in str(fields.get("_raw", "")).lower()
    if kind == "in":
        _, name, plain, patterns = node
        return any(v.lower() in plain or any(_wild(p, v) for p in patterns)
                   for v in multivalue(fields.get(name)))
    _, name, op, pattern = node
    values = multivalue(fields.get(name))
    if op in ("<", "<=", ">", ">="):
        return any(_order(op, v, pattern) for v in values)
    hit = any(_wild(pattern, v) for v in values)
    return hit if op == "=" else (bool(values) and not hit)


def _order(op: str, value: str, bound: str) -> bool:
    # field<value in a search compares numbers as numbers, anything else as text
    try:
        a, b = float(value), float(bound)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except ValueError:
        x, y = value.lower(), bound.lower()
        return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


@functools.lru_cache(maxsize=65536)
def _epoch(modifier: str, now: float) -> Optional[float]:
    return epoch_of(modifier, now)


Requirement = Dict[str, Tuple[FrozenSet[str], Tuple[str, ...]]]


def _requirement(node: Node) -> Optional[Requirement]:
    """Field values one of which an event must have for ``node`` to match it (plain values in lower
    case, patterns), or None when the node needs none."""
    kind = node[0]
    if kind == "in":
        return {node[1]: (node[2], node[3])}
    if kind == "cmp" and node[2] == "=":
        value = node[3]
        exact = "*" not in value and "/" not in value
        return {node[1]: (frozenset({value.lower()}) if exact else frozenset(), () if exact else (value,))}
    if kind == "or" and node[1]:
        merged: Dict[str, Tuple[Set[str], List[str]]] = {}
        for child in node[1]:
            found = _requirement(child)
            if found is None:
                return None
            for name, (values, patterns) in found.items():
                entry = merged.setdefault(name, (set(), []))
                entry[0].update(values)
                entry[1].extend(patterns)
        return {name: (frozenset(values), tuple(dict.fromkeys(patterns)))
                for name, (values, patterns) in merged.items()}
    if kind == "and":
        for child in node[1]:
            found = _requirement(child)
            if found is not None:
                return found
    return None


def _guard(node: Node) -> Node:
    """The same tree, with every large OR first checking, at once, the values its branches need
    (an event none of whose values any branch asks for is decided without the branches)."""
    kind = node[0]
    if kind in ("and", "or"):
        children = [_guard(child) for child in node[1]]
        if kind == "or" and len(children) >= 16:
            found = _requirement(("or", children))
            if found is not None:
                return ("guarded_or", found, children)
        return (kind, children)
    if kind == "not":
        return ("not", _guard(node[1]))
    return node


@functools.lru_cache(maxsize=256)
def parse_search(search: str) -> Node:
    """The parsed form of a search clause (cached: the same clause is matched against many events)."""
    return _guard(SearchParser(search).parse())


def search_matches(search: str, fields: Fields, now: float = 0.0) -> bool:
    """Whether an event (with its eventtype/tag fields filled in) matches a search clause.

    ``now`` is the time relative time modifiers (``earliest=-20m@m``) count from.
    """
    return _search_eval(parse_search(search), fields, now)


@functools.lru_cache(maxsize=8)
def _conf(path: Path) -> List[Stanza]:
    return list(parse_conf(path)) if path.is_file() else []


def with_eventtypes(fields: Fields, root: Path = ROOT) -> Fields:
    """Add the ``eventtype`` and ``tag`` fields eventtypes.conf / tags.conf give an event."""
    eventtypes = [s.name for s in _conf(root / "default" / "eventtypes.conf")
                  if s.name != "default" and search_matches(s.get("search") or "", fields)]
    tags: List[str] = []
    tags_conf = root / "default" / "tags.conf"
    if tags_conf.is_file():
        for stanza in _conf(tags_conf):
            field, _, value = stanza.name.partition("=")
            if field == "eventtype" and value in eventtypes:
                tags += [s.key for s in stanza.settings if s.value.strip() == "enabled" and s.key not in tags]
    out = dict(fields)
    out["eventtype"] = eventtypes or None
    out["tag"] = tags or None
    return {k: v for k, v in out.items() if v is not None}
