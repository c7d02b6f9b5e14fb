"""Evaluate the app's own search-time knowledge without splunkd.

There is no splunkd in the build, so this module evaluates exactly the subset of SPL the app's
``props.conf`` / ``macros.conf`` use, the way Splunk does, over sample events:

* ``flatten_json``: the field names and values ``KV_MODE = json`` gives a JSON event
  (``a.b.c``, ``a{}.b`` for arrays, every value a string, arrays of values multivalue), read only
  up to ``limits.conf [spath] extraction_cutoff`` (5000 bytes by default).
* ``evaluate``: an ``eval`` expression. Only the functions in ``FUNCTIONS`` exist; anything else
  raises ``EvalError``, so a test fails the day someone uses a function this module does not model.
* ``spath_json``: the eval function ``spath(X, "<path>")`` on JSON, which reads the whole value
  (an explicit path is not bounded by ``extraction_cutoff``).
* ``apply_props``: one sourcetype stanza: every ``EVAL-*`` evaluated in parallel against the
  extracted fields (as splunkd does: no EVAL sees another's result), then the ``LOOKUP-*``.
* ``run_pipeline``: the ``eval | lookup | where | fields`` pipelines of the pipeline macros.
* ``Lookup``: a CSV lookup with the ``match_type`` (CIDR / WILDCARD / EXACT), ``max_matches`` and
  ``case_sensitive_match`` of its ``transforms.conf`` stanza.
* ``extract_time``: ``TIME_PREFIX`` + ``MAX_TIMESTAMP_LOOKAHEAD`` + ``TIME_FORMAT`` on ``_raw``.

Values are ``None`` (null), ``str``, ``float`` / ``int``, ``bool`` or a ``list`` of strings
(a multivalue field). Modelling choices where Splunk's behaviour is not spelled out are marked
"assumption" below and listed in docs/knowledge.md.
"""

from __future__ import annotations

import calendar
import csv
import functools
import ipaddress
import json
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from devtools.conf import ROOT, Stanza, parse_conf

Value = Union[None, str, float, int, bool, List[str]]
Fields = Dict[str, Value]


class EvalError(Exception):
    """An expression this module cannot evaluate faithfully (syntax, unknown function, misuse)."""


# --------------------------------------------------------------------------------------------
# KV_MODE = json


# limits.conf [spath] extraction_cutoff (default 5000): "For 'extract-all' spath extraction mode,
# this setting applies extraction only to the first <integer> number of bytes. This setting applies
# both the auto kv extraction and the spath command" (limits.conf.spec 9.2). KV_MODE = json is that
# auto kv extraction; path-based spath is not cut off.
EXTRACTION_CUTOFF = 5000

_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")


def flatten_json(text: str, cutoff: Optional[int] = EXTRACTION_CUTOFF) -> Fields:
    """Fields that ``KV_MODE = json`` extracts from one JSON event.

    Numbers keep their JSON spelling, booleans become ``true``/``false``; a path reached more
    than once (arrays) becomes multivalue in document order. JSON null yields no value
    (assumption: only absent-or-present matters to the app's expressions). Only values that end
    within the first ``cutoff`` bytes of the event are extracted (``[spath] extraction_cutoff``;
    assumption: what lies before the cut is still extracted); ``cutoff=None`` reads everything.
    """
    json.loads(text)  # reject what is not JSON at all, as before
    out: Dict[str, List[str]] = {}

    def keep(prefix: str, value: str, end: int) -> None:
        if cutoff is None or len(text[:end].encode("utf-8")) <= cutoff:
            out.setdefault(prefix, []).append(value)

    def ws(i: int) -> int:
        return _JSON_WS.match(text, i).end()  # type: ignore[union-attr]

    def walk(i: int, prefix: str) -> int:
        i = ws(i)
        ch = text[i]
        if ch == "{":
            i = ws(i + 1)
            if text[i] == "}":
                return i + 1
            while True:
                key, i = json.decoder.scanstring(text, ws(i) + 1)  # type: ignore[attr-defined]
                i = ws(i) + 1  # the colon
                i = ws(walk(i, f"{prefix}.{key}" if prefix else key))
                if text[i] == "}":
                    return i + 1
                i += 1  # the comma
        if ch == "[":
            i = ws(i + 1)
            if text[i] == "]":
                return i + 1
            while True:
                i = ws(walk(i, f"{prefix}{{}}"))
                if text[i] == "]":
                    return i + 1
                i += 1
        if ch == '"':
            value, end = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            keep(prefix, value, end)
            return int(end)
        for literal, value_or_none in (("true", "true"), ("false", "false"), ("null", None)):
            if text.startswith(literal, i):
                if value_or_none is not None:
                    keep(prefix, value_or_none, i + len(literal))
                return i + len(literal)
        number = _JSON_NUMBER.match(text, i)
        if not number:
            raise EvalError(f"not JSON at {text[i:i + 20]!r}")
        keep(prefix, number.group(), number.end())
        return number.end()

    walk(0, "")
    return {k: (v[0] if len(v) == 1 else v) for k, v in out.items()}


_SPATH_STEP = re.compile(r"([^{}]+)((?:\{\})*)")


@functools.lru_cache(maxsize=8)
def _json_document(text: str) -> Any:
    try:
        # numbers keep their JSON spelling, as KV_MODE = json gives them
        return json.loads(text, parse_int=str, parse_float=str)
    except ValueError as exc:
        raise EvalError("spath() over a value that is not JSON is not modelled") from exc


def spath_json(text: str, path: str) -> Value:
    """``spath(X, "<path>")`` on JSON text: reads the whole value, however long (an explicit path
    is not bounded by ``[spath] extraction_cutoff``, which applies to extract-all mode only).

    Steps are separated by dots; ``name{}`` steps into every element of an array (``{}{}`` for an
    array of arrays). Values are named as ``flatten_json`` names them: strings as-is, numbers in
    their JSON spelling, booleans ``true``/``false``, JSON null no value; several values are a
    multivalue result in document order, none is null. Indexed steps (``name{0}``) and paths that
    end on an object or array (Splunk returns its JSON text) are not modelled and raise.
    """
    nodes: List[Any] = [_json_document(text)]
    for step in path.split("."):
        match = _SPATH_STEP.fullmatch(step)
        if not match:
            raise EvalError(f"spath() path step {step!r} is not modelled (only name and name{{}})")
        name, arrays = match.group(1), match.group(2).count("{}")
        found: List[Any] = []
        for node in nodes:
            if isinstance(node, list):
                raise EvalError(f"spath() path {path!r} meets an array without {{}} at {name!r}")
            if isinstance(node, dict) and name in node:
                found.append(node[name])
        for _ in range(arrays):
            found = [item for node in found if isinstance(node, list) for item in node]
        nodes = found
    values: List[str] = []
    for node in nodes:
        if isinstance(node, (dict, list)):
            raise EvalError(f"spath() path {path!r} ends on an object or array: not modelled")
        if node is None:
            continue
        values.append("true" if node is True else "false" if node is False else str(node))
    return None if not values else values[0] if len(values) == 1 else values


# --------------------------------------------------------------------------------------------
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


def _unescape(literal: str) -> str:
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
            return ("str", _unescape(token.text))
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


# --------------------------------------------------------------------------------------------
# Evaluation


def _number(value: Value) -> Optional[float]:
    if isinstance(value, bool) or value is None or isinstance(value, list):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value.strip())
    except ValueError:
        return None


def _scalar(value: Value, where: str) -> Value:
    if isinstance(value, list):
        # Splunk's scalar functions on a multivalue field are not something the app relies on.
        raise EvalError(f"{where}: multivalue argument (use mvindex/mvfind)")
    return value


def _text(value: Value, where: str) -> Optional[str]:
    value = _scalar(value, where)
    if value is None:
        return None
    if isinstance(value, bool):
        raise EvalError(f"{where}: boolean used as text")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _mv(value: Value) -> List[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    text = _text(value, "multivalue")
    return [text] if text is not None else []


def _truth(value: Value) -> bool:
    return value is True


def _regex(pattern: Value, where: str) -> re.Pattern[str]:
    text = _text(pattern, where)
    if text is None:
        raise EvalError(f"{where}: null regex")
    try:
        return re.compile(text)
    except re.error as exc:
        raise EvalError(f"{where}: regex {text!r} does not compile: {exc}") from exc


def _compare(op: str, left: Value, right: Value) -> Optional[bool]:
    if left is None or right is None:
        return None
    if isinstance(left, list) or isinstance(right, list):
        raise EvalError("comparison with a multivalue field")
    ln, rn = _number(left), _number(right)
    a: Any
    b: Any
    if ln is not None and rn is not None:
        a, b = ln, rn
    else:
        a, b = _text(left, "compare"), _text(right, "compare")
    results: Dict[str, bool] = {"==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}
    return results[op]


def _arith(op: str, left: Value, right: Value) -> Value:
    if left is None or right is None:
        return None
    if op == ".":
        return (_text(left, ".") or "") + (_text(right, ".") or "")
    ln, rn = _number(left), _number(right)
    if op == "+" and (ln is None or rn is None):
        return (_text(left, "+") or "") + (_text(right, "+") or "")
    if ln is None or rn is None:
        return None
    if op == "+":
        return ln + rn
    if op == "-":
        return ln - rn
    if op == "*":
        return ln * rn
    if rn == 0:
        return None
    if op == "/":
        return ln / rn
    return math.fmod(ln, rn)


def _cidrmatch(cidr: Value, ip: Value) -> bool:
    net_text, ip_text = _text(cidr, "cidrmatch"), _text(ip, "cidrmatch")
    if net_text is None or ip_text is None:
        return False
    try:
        network = ipaddress.ip_network(net_text, strict=False)
        address = ipaddress.ip_address(ip_text.strip())
    except ValueError:
        return False
    return address.version == network.version and address in network


_STRPTIME = {"%Y": "%Y", "%m": "%m", "%d": "%d", "%H": "%H", "%M": "%M", "%S": "%S", "%z": "%z"}


def _strptime(value: Value, fmt: Value) -> Optional[float]:
    text, pattern = _text(value, "strptime"), _text(fmt, "strptime")
    if text is None or pattern is None:
        return None
    for code in re.findall(r"%.", pattern):
        if code not in _STRPTIME:
            raise EvalError(f"strptime: format {code} not modelled")
    try:
        parsed = datetime.strptime(text, pattern)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # Splunk would use the searching user's time zone; the app always passes %z.
        raise EvalError("strptime without %z depends on the user's time zone")
    return parsed.timestamp()


Evaluator = Callable[["Context", List[Node]], Value]


@dataclass
class Context:
    fields: Fields
    now: float


def _ev(ctx: Context, node: Node) -> Value:
    kind = node[0]
    if kind == "num":
        return node[1]  # type: ignore[no-any-return]
    if kind == "str":
        return node[1]  # type: ignore[no-any-return]
    if kind == "field":
        return ctx.fields.get(node[1])
    if kind == "or":
        left, right = _ev(ctx, node[1]), _ev(ctx, node[2])
        return _truth(left) or _truth(right)
    if kind == "and":
        return _truth(_ev(ctx, node[1])) and _truth(_ev(ctx, node[2]))
    if kind == "not":
        inner = _ev(ctx, node[1])
        return None if inner is None else not _truth(inner)
    if kind == "cmp":
        return _compare(node[1], _ev(ctx, node[2]), _ev(ctx, node[3]))
    if kind == "arith":
        return _arith(node[1], _ev(ctx, node[2]), _ev(ctx, node[3]))
    if kind == "call":
        name, args = node[1], node[2]
        function = FUNCTIONS.get(name)
        if function is None:
            raise EvalError(f"eval function {name}() is not modelled; add it to devtools/evalspl.py")
        return function(ctx, args)
    raise EvalError(f"unknown node {kind}")


def _arity(args: List[Node], low: int, high: Optional[int], name: str) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        raise EvalError(f"{name}() takes {low}..{high} arguments, got {len(args)}")


def _f_coalesce(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, None, "coalesce")
    for arg in args:
        value = _ev(ctx, arg)
        if value is not None and value != []:
            return value
    return None


def _f_if(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 3, 3, "if")
    return _ev(ctx, args[1]) if _truth(_ev(ctx, args[0])) else _ev(ctx, args[2])


def _f_case(ctx: Context, args: List[Node]) -> Value:
    if len(args) % 2:
        raise EvalError("case() takes condition/value pairs")
    for i in range(0, len(args), 2):
        if _truth(_ev(ctx, args[i])):
            return _ev(ctx, args[i + 1])
    return None


def _f_match(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "match")
    text = _text(_ev(ctx, args[0]), "match")
    if text is None:
        return None
    return _regex(_ev(ctx, args[1]), "match").search(text) is not None


def _f_replace(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 3, 3, "replace")
    text = _text(_ev(ctx, args[0]), "replace")
    if text is None:
        return None
    replacement = _text(_ev(ctx, args[2]), "replace") or ""
    return _regex(_ev(ctx, args[1]), "replace").sub(replacement, text)


def _f_lower(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "lower")
    text = _text(_ev(ctx, args[0]), "lower")
    return None if text is None else text.lower()


def _f_len(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "len")
    text = _text(_ev(ctx, args[0]), "len")
    return None if text is None else len(text)


def _f_isnull(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "isnull")
    return _ev(ctx, args[0]) in (None, [])


def _f_isnotnull(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "isnotnull")
    return _ev(ctx, args[0]) not in (None, [])


def _f_null(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 0, 0, "null")
    return None


def _f_true(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 0, 0, "true")
    return True


def _f_cidrmatch(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "cidrmatch")
    return _cidrmatch(_ev(ctx, args[0]), _ev(ctx, args[1]))


def _f_mvindex(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "mvindex")
    values = _mv(_ev(ctx, args[0]))
    index = _number(_ev(ctx, args[1]))
    if index is None or not values:
        return None
    i = int(index)
    if i < -len(values) or i >= len(values):
        return None
    return values[i]


def _f_mvfind(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "mvfind")
    pattern = _regex(_ev(ctx, args[1]), "mvfind")
    for i, value in enumerate(_mv(_ev(ctx, args[0]))):
        if pattern.search(value):
            return i
    return None


def _f_mvcount(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "mvcount")
    values = _mv(_ev(ctx, args[0]))
    return len(values) if values else None


def _f_mvzip(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 3, "mvzip")
    left, right = _mv(_ev(ctx, args[0])), _mv(_ev(ctx, args[1]))
    delim = _text(_ev(ctx, args[2]), "mvzip") if len(args) == 3 else ","
    pairs = [f"{a}{delim}{b}" for a, b in zip(left, right)]
    return None if not pairs else pairs[0] if len(pairs) == 1 else pairs


def _f_mvmap(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "mvmap")
    if args[0][0] != "field":
        raise EvalError("mvmap() iterates over a field")
    name = args[0][1]
    results: List[str] = []
    for value in _mv(ctx.fields.get(name)):
        # assumption: the expression sees the current value under the field's name and every
        # other field of the event.
        inner = Context({**ctx.fields, name: value}, ctx.now)
        result = _ev(inner, args[1])
        if result is not None:
            results.extend(_mv(result) if isinstance(result, list) else [_text(result, "mvmap") or ""])
    return None if not results else results[0] if len(results) == 1 else results


def _f_split(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "split")
    text, delim = _text(_ev(ctx, args[0]), "split"), _text(_ev(ctx, args[1]), "split")
    if text is None or not delim:
        return None
    parts = text.split(delim)
    return parts[0] if len(parts) == 1 else parts


def _f_substr(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 3, "substr")
    text = _text(_ev(ctx, args[0]), "substr")
    start = _number(_ev(ctx, args[1]))
    if text is None or start is None:
        return None
    begin = int(start) - 1 if start > 0 else len(text) + int(start)
    if len(args) == 3:
        length = _number(_ev(ctx, args[2]))
        if length is None:
            return None
        return text[begin:begin + int(length)]
    return text[begin:]


def _f_tonumber(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "tonumber")
    return _number(_scalar(_ev(ctx, args[0]), "tonumber"))


def _f_floor(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "floor")
    number = _number(_scalar(_ev(ctx, args[0]), "floor"))
    return None if number is None else math.floor(number)


def _f_abs(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "abs")
    number = _number(_scalar(_ev(ctx, args[0]), "abs"))
    return None if number is None else abs(number)


def _f_strptime(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "strptime")
    return _strptime(_ev(ctx, args[0]), _ev(ctx, args[1]))


def _f_now(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 0, 0, "now")
    return ctx.now


def _f_spath(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "spath")
    text, path = _text(_ev(ctx, args[0]), "spath"), _text(_ev(ctx, args[1]), "spath")
    if text is None or path is None:
        return None
    return spath_json(text, path)


FUNCTIONS: Dict[str, Evaluator] = {
    "coalesce": _f_coalesce, "if": _f_if, "case": _f_case, "match": _f_match,
    "replace": _f_replace, "lower": _f_lower, "len": _f_len, "isnull": _f_isnull,
    "isnotnull": _f_isnotnull, "null": _f_null, "true": _f_true, "cidrmatch": _f_cidrmatch,
    "mvindex": _f_mvindex, "mvfind": _f_mvfind, "mvcount": _f_mvcount, "mvzip": _f_mvzip,
    "mvmap": _f_mvmap, "split": _f_split, "substr": _f_substr, "tonumber": _f_tonumber,
    "floor": _f_floor, "abs": _f_abs, "strptime": _f_strptime, "now": _f_now, "spath": _f_spath,
}


def functions_used(expression: str) -> List[str]:
    """Every function name an expression calls (for the 'subset stays honest' test)."""
    names: List[str] = []

    def walk(node: Node) -> None:
        if node[0] == "call":
            names.append(node[1])
            for arg in node[2]:
                walk(arg)
        else:
            for part in node[1:]:
                if isinstance(part, tuple):
                    walk(part)

    walk(Parser(expression).parse())
    return names


def fields_referenced(expression: str) -> List[str]:
    """Every field an expression reads."""
    names: List[str] = []

    def walk(node: Node) -> None:
        if node[0] == "field":
            names.append(node[1])
            return
        for part in node[1:]:
            if isinstance(part, tuple):
                walk(part)
            elif isinstance(part, list):
                for item in part:
                    walk(item)

    walk(Parser(expression).parse())
    return names


def evaluate(expression: str, fields: Fields, now: Optional[float] = None) -> Value:
    """Evaluate one eval expression over an event's fields; booleans are returned as-is."""
    value = _ev(Context(fields, time.time() if now is None else now), Parser(expression).parse())
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def as_field(value: Value) -> Value:
    """What a field assigned from ``value`` holds: booleans cannot be field values in Splunk."""
    if isinstance(value, bool):
        raise EvalError("an eval assigned a boolean to a field")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return value


# --------------------------------------------------------------------------------------------
# Lookups


@dataclass
class Lookup:
    """A CSV lookup as its transforms.conf stanza defines it."""

    name: str
    rows: List[Dict[str, str]]
    match_types: Dict[str, str]
    max_matches: int
    case_sensitive: bool

    @classmethod
    def load(cls, name: str, root: Path = ROOT) -> Lookup:
        stanza = _stanza(root / "default" / "transforms.conf", name)
        filename = stanza.get("filename") or ""
        with open(root / "lookups" / filename, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        match_types: Dict[str, str] = {}
        for kind, field in re.findall(r"(\w+)\(([^)]+)\)", stanza.get("match_type") or ""):
            if kind.upper() not in {"CIDR", "WILDCARD", "EXACT"}:
                raise EvalError(f"{name}: unknown match_type {kind}")
            match_types[field.strip()] = kind.upper()
        case = (stanza.get("case_sensitive_match") or "true").strip().lower() in {"1", "true"}
        return cls(name, rows, match_types, int(stanza.get("max_matches") or 100), case)

    def _matches(self, column: str, pattern: str, value: str) -> bool:
        kind = self.match_types.get(column, "EXACT")
        if kind == "CIDR":
            # A plain address in a CIDR column is its own /32 or /128 network.
            return _cidrmatch(pattern, value)
        if not self.case_sensitive:
            pattern, value = pattern.lower(), value.lower()
        if kind == "WILDCARD":
            regex = "".join(".*" if ch == "*" else re.escape(ch) for ch in pattern)
            return re.fullmatch(regex, value, re.S) is not None
        return pattern == value

    def match(self, inputs: Dict[str, Value]) -> List[Dict[str, str]]:
        """Rows matching every input (lookup column -> event value), file order, max_matches."""
        if any(v is None or isinstance(v, list) for v in inputs.values()):
            return []  # assumption: an event without a match field gets no lookup output
        hits = [row for row in self.rows
                if all(self._matches(col, row.get(col, ""), str(val)) for col, val in inputs.items())]
        return hits[: self.max_matches]

    def outputs(self, inputs: Dict[str, Value], columns: Sequence[str]) -> Dict[str, Value]:
        """Output columns of the matching rows; empty cells are dropped (assumption), so an
        output field only lines up with another when every matching row fills both."""
        rows = self.match(inputs)
        out: Dict[str, Value] = {}
        for column in columns:
            values = [row[column] for row in rows if row.get(column)]
            out[column] = None if not values else values[0] if len(values) == 1 else values
        return out


def _stanza(path: Path, name: str) -> Stanza:
    conf = parse_conf(path)
    stanza = conf.stanza(name)
    if stanza is None:
        raise EvalError(f"no [{name}] in {path.name}")
    return stanza


_LOOKUP_SPEC = re.compile(r"\s*(\S+)\s+(.*?)(?:\s+(OUTPUTNEW|OUTPUT)\s+(.*))?\s*$", re.S)


def _pairs(text: str) -> List[Tuple[str, str]]:
    tokens = text.split()
    pairs: List[Tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        if i + 2 < len(tokens) and tokens[i + 1].upper() == "AS":
            pairs.append((tokens[i], tokens[i + 2]))
            i += 3
        else:
            pairs.append((tokens[i], tokens[i]))
            i += 1
    return pairs


def apply_lookup(spec: str, fields: Fields, root: Path = ROOT) -> Fields:
    """``<lookup> <col> AS <field> ... OUTPUT|OUTPUTNEW <col> AS <field> ...`` on one event."""
    match = _LOOKUP_SPEC.match(spec)
    if not match:
        raise EvalError(f"cannot parse lookup {spec!r}")
    name, inputs_text, mode, outputs_text = match.groups()
    lookup = Lookup.load(name, root)
    inputs = {col: fields.get(field) for col, field in _pairs(inputs_text)}
    outputs = _pairs(outputs_text or "")
    result = dict(fields)
    values = lookup.outputs(inputs, [col for col, _ in outputs])
    for col, field in outputs:
        if mode == "OUTPUTNEW" and result.get(field) is not None:
            continue
        result[field] = values[col]
    return result


# --------------------------------------------------------------------------------------------
# props.conf


def props_stanza(sourcetype: str, root: Path = ROOT) -> Stanza:
    return _stanza(root / "default" / "props.conf", sourcetype)


def apply_props(sourcetype: str, raw: str, root: Path = ROOT, now: Optional[float] = None) -> Fields:
    """Search-time fields of one event: KV_MODE=json, then every EVAL-* in parallel, then LOOKUP-*."""
    stanza = props_stanza(sourcetype, root)
    if (stanza.get("KV_MODE") or "").strip() != "json":
        raise EvalError(f"[{sourcetype}] is not KV_MODE = json")
    extracted: Fields = {**flatten_json(raw), "_raw": raw, "sourcetype": sourcetype}
    result = dict(extracted)
    for setting in stanza.settings:
        if setting.key.startswith("EVAL-"):
            value = as_field(evaluate(setting.value, extracted, now))
            name = setting.key[len("EVAL-"):]
            if value is None:
                result.pop(name, None)
            else:
                result[name] = value
    for setting in stanza.settings:
        if setting.key.startswith("LOOKUP-"):
            result = apply_lookup(setting.value, result, root)
    return {k: v for k, v in result.items() if v is not None}


# --------------------------------------------------------------------------------------------
# Timestamps

_TIME_CODES = {
    "%Y": r"(?P<Y>\d{4})", "%m": r"(?P<m>\d{2})", "%d": r"(?P<d>\d{2})", "%H": r"(?P<H>\d{2})",
    "%M": r"(?P<M>\d{2})", "%S": r"(?P<S>\d{2})",
    # assumption: %<n>N reads up to n sub-second digits (Cloud Logging writes 3, 6 or 9)
    "%9N": r"(?P<N>\d{1,9})", "%6N": r"(?P<N>\d{1,6})", "%3N": r"(?P<N>\d{1,3})",
    "%Z": r"(?P<Z>Z|UTC|GMT|[+-]\d\d:?\d\d)",
}


def extract_time(stanza: Stanza, raw: str) -> Optional[float]:
    """Epoch seconds Splunk's TIME_PREFIX/TIME_FORMAT settings take from ``raw``, or None."""
    prefix = stanza.get("TIME_PREFIX") or ""
    lookahead = int(stanza.get("MAX_TIMESTAMP_LOOKAHEAD") or 128)
    fmt = stanza.get("TIME_FORMAT") or ""
    found = re.search(prefix, raw)
    if not found:
        return None
    window = raw[found.end(): found.end() + lookahead] if lookahead > 0 else raw[found.end():]
    pattern = ""
    for piece in re.split(r"(%\d?[A-Za-z])", fmt):
        if not piece:
            continue
        if piece.startswith("%"):
            if piece not in _TIME_CODES:
                raise EvalError(f"TIME_FORMAT code {piece} not modelled")
            pattern += _TIME_CODES[piece]
        else:
            pattern += re.escape(piece)
    parsed = re.match(pattern, window)
    if not parsed:
        return None
    g = parsed.groupdict()
    seconds = calendar.timegm((int(g["Y"]), int(g["m"]), int(g["d"]), int(g["H"]), int(g["M"]),
                               int(g["S"]), 0, 0, 0))
    zone = g.get("Z") or "Z"
    if zone not in {"Z", "UTC", "GMT"}:
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds + (float("0." + g["N"]) if g.get("N") else 0.0)


# --------------------------------------------------------------------------------------------
# Pipeline macros


def _split_assignments(text: str) -> List[Tuple[str, str]]:
    from devtools.splcheck import split_top_level

    out: List[Tuple[str, str]] = []
    for part in split_top_level(text, ","):
        name, _, expression = part.partition("=")
        if not expression:
            raise EvalError(f"eval without assignment: {part!r}")
        out.append((name.strip(), expression.strip()))
    return out


def run_pipeline(pipeline: str, events: List[Fields], root: Path = ROOT,
                 now: Optional[float] = None) -> List[Fields]:
    """Run an ``eval | lookup | where | fields -`` pipeline (a pipeline macro's expansion)."""
    from devtools.splcheck import split_top_level

    rows = [dict(e) for e in events]
    for stage in (s.strip() for s in split_top_level(pipeline, "|")):
        if not stage:
            continue
        command, _, rest = stage.partition(" ")
        if command == "eval":
            for row in rows:
                for name, expression in _split_assignments(rest):
                    value = as_field(evaluate(expression, row, now))
                    if value is None:
                        row.pop(name, None)
                    else:
                        row[name] = value
        elif command == "lookup":
            rows = [apply_lookup(rest, row, root) for row in rows]
        elif command == "where":
            rows = [row for row in rows if evaluate(rest, row, now) is True]
        elif command == "fields":
            if not rest.startswith("- "):
                raise EvalError("only 'fields - <patterns>' is modelled")
            patterns = [re.compile(re.escape(p).replace(r"\*", ".*") + "$") for p in rest[2:].split()]
            rows = [{k: v for k, v in row.items() if not any(p.match(k) for p in patterns)}
                    for row in rows]
        else:
            raise EvalError(f"command {command!r} is not modelled")
        rows = [{k: v for k, v in row.items() if v is not None} for row in rows]
    return rows


# --------------------------------------------------------------------------------------------
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
    ``_raw``; Splunk matches indexed segments, which agrees for the terms the app uses)."""

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
                value = _unescape(value)
            return ("cmp", match.group(1), match.group(2), value)
        if token.upper() in {"AND"}:
            return ("true",)
        return ("term", _unescape(token) if token.startswith('"') else token)


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
        return str(node[1]).lower() in str(fields.get("_raw", "")).lower()
    _, name, op, pattern = node
    values = _mv(fields.get(name))
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
