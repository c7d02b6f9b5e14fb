"""Evaluation of ``eval`` expressions: only the functions in ``FUNCTIONS`` exist."""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional

from .kvjson import json_extract_object, spath_json
from .parser import Node, Parser
from .timemod import epoch_of
from .values import EvalError, Fields, Value

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


def multivalue(value: Value) -> List[str]:
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


def cidrmatch(cidr: Value, ip: Value) -> bool:
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
    #: what ``time()`` returns: the wall clock while the search runs (tests set it)
    clock: Optional[float] = None


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


def _f_false(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 0, 0, "false")
    return False


def _f_cidrmatch(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "cidrmatch")
    return cidrmatch(_ev(ctx, args[0]), _ev(ctx, args[1]))


def _f_mvindex(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "mvindex")
    values = multivalue(_ev(ctx, args[0]))
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
    for i, value in enumerate(multivalue(_ev(ctx, args[0]))):
        if pattern.search(value):
            return i
    return None


def _f_mvcount(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "mvcount")
    values = multivalue(_ev(ctx, args[0]))
    return len(values) if values else None


def _f_mvzip(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 3, "mvzip")
    left, right = multivalue(_ev(ctx, args[0])), multivalue(_ev(ctx, args[1]))
    delim = _text(_ev(ctx, args[2]), "mvzip") if len(args) == 3 else ","
    pairs = [f"{a}{delim}{b}" for a, b in zip(left, right)]
    return None if not pairs else pairs[0] if len(pairs) == 1 else pairs


def _f_mvmap(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "mvmap")
    if args[0][0] != "field":
        raise EvalError("mvmap() iterates over a field")
    name = args[0][1]
    results: List[str] = []
    for value in multivalue(ctx.fields.get(name)):
        # assumption: the expression sees the current value under the field's name and every
        # other field of the event.
        inner = Context({**ctx.fields, name: value}, ctx.now, ctx.clock)
        result = _ev(inner, args[1])
        if result is not None:
            results.extend(multivalue(result) if isinstance(result, list) else [_text(result, "mvmap") or ""])
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
    _arity(args, 1, 2, "tonumber")
    value = _scalar(_ev(ctx, args[0]), "tonumber")
    if len(args) == 1:
        return _number(value)
    base = _number(_ev(ctx, args[1]))
    text = _text(value, "tonumber")
    if text is None or base is None:
        return None
    try:
        return int(text.strip(), int(base))
    except ValueError:
        return None


def _textual(name: str, fn: Callable[[str], Value]) -> Evaluator:
    """An eval function of one text value (null stays null)."""
    def call(ctx: Context, args: List[Node]) -> Value:
        _arity(args, 1, 1, name)
        text = _text(_ev(ctx, args[0]), name)
        return None if text is None else fn(text)
    return call


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 (a key, not a secret)


_f_lower, _f_upper, _f_len, _f_md5 = (_textual("lower", str.lower), _textual("upper", str.upper),
                                      _textual("len", len), _textual("md5", _md5))


def _numeric(name: str, fn: Callable[[float], Any]) -> Evaluator:
    """An eval function of one number (null stays null)."""
    def call(ctx: Context, args: List[Node]) -> Value:
        _arity(args, 1, 1, name)
        number = _number(_scalar(_ev(ctx, args[0]), name))
        return None if number is None else fn(number)
    return call


_f_ceiling, _f_floor, _f_abs = _numeric("ceiling", math.ceil), _numeric("floor", math.floor), _numeric("abs", abs)


def _f_isnum(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "isnum")
    value = _ev(ctx, args[0])
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_PRINTF = re.compile(r"%(0?)(\d*)([dxXs%])")


def _f_printf(ctx: Context, args: List[Node]) -> Value:
    """printf with the conversions the app uses: %d, %x, %X, %s with zero padding and width."""
    _arity(args, 1, None, "printf")
    fmt = _text(_ev(ctx, args[0]), "printf")
    if fmt is None:
        return None
    values = [_ev(ctx, arg) for arg in args[1:]]
    out: List[str] = []
    pos = 0
    used = 0
    for match in _PRINTF.finditer(fmt):
        out.append(fmt[pos:match.start()])
        pos = match.end()
        zero, width, conv = match.groups()
        if conv == "%":
            out.append("%")
            continue
        if used >= len(values):
            raise EvalError("printf() has fewer arguments than conversions")
        value = values[used]
        used += 1
        if conv == "s":
            text = _text(value, "printf") or ""
        else:
            number = _number(_scalar(value, "printf"))
            if number is None:
                return None
            text = format(int(number), {"d": "d", "x": "x", "X": "X"}[conv])
        out.append(text.rjust(int(width), "0" if zero else " ") if width else text)
    if "%" in _PRINTF.sub("", fmt):
        raise EvalError(f"printf() format {fmt!r} has conversions that are not modelled")
    out.append(fmt[pos:])
    return "".join(out)


def _f_time(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 0, 0, "time")
    return ctx.clock if ctx.clock is not None else ctx.now


def _f_strptime(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "strptime")
    return _strptime(_ev(ctx, args[0]), _ev(ctx, args[1]))


def _f_now(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 0, 0, "now")
    return ctx.now


# strftime codes modelled: the same in Splunk's and the C library's strftime.
_STRFTIME = {"%Y", "%m", "%d", "%H", "%M", "%S", "%F", "%T", "%a", "%b", "%Z", "%z", "%%"}


def _f_strftime(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "strftime")
    number = _number(_scalar(_ev(ctx, args[0]), "strftime"))
    fmt = _text(_ev(ctx, args[1]), "strftime")
    if number is None or fmt is None:
        return None
    for code in re.findall(r"%.", fmt):
        if code not in _STRFTIME:
            raise EvalError(f"strftime: format {code} not modelled")
    # Splunk formats in the time zone of the user the search runs as; the model is a user in UTC
    # (assumption: the tests and fixtures state their times in UTC).
    return time.strftime(fmt.replace("%Z", "UTC").replace("%z", "+0000"), time.gmtime(number))


def _f_relative_time(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "relative_time")
    number = _number(_scalar(_ev(ctx, args[0]), "relative_time"))
    spec = _text(_ev(ctx, args[1]), "relative_time")
    if number is None or spec is None:
        return None
    # offsets and snaps chained left to right (timemod); @d snaps in UTC: the model is a user in
    # UTC, as for strftime
    value = epoch_of(spec, number) if not re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", spec) else None
    if value is None:
        raise EvalError(f"relative_time: modifier {spec!r} not modelled (offsets [+-]N<unit> and snaps @<unit>)")
    return float(value)


def _f_spath(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "spath")
    text, path = _text(_ev(ctx, args[0]), "spath"), _text(_ev(ctx, args[1]), "spath")
    if text is None or path is None:
        return None
    return spath_json(text, path)


def _f_trim(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 2, "trim")
    text = _text(_ev(ctx, args[0]), "trim")
    chars = _text(_ev(ctx, args[1]), "trim") if len(args) == 2 else " \t"
    # Splunk trims spaces and tabs by default (eval function reference), not every whitespace.
    return None if text is None else text.strip(chars)


def _f_in(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, None, "in")
    value = _ev(ctx, args[0])
    if value is None:
        return False
    text = _text(value, "in")
    return any(text == _text(_ev(ctx, arg), "in") for arg in args[1:])


def _f_nullif(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "nullif")
    left, right = _ev(ctx, args[0]), _ev(ctx, args[1])
    return None if _compare("==", left, right) else left


def _f_like(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "like")
    text, pattern = _text(_ev(ctx, args[0]), "like"), _text(_ev(ctx, args[1]), "like")
    if text is None or pattern is None:
        return None
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, re.S) is not None


def _mv_result(values: List[str]) -> Value:
    return None if not values else values[0] if len(values) == 1 else values


def _f_mvappend(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, None, "mvappend")
    values: List[str] = []
    for arg in args:
        values.extend(multivalue(_ev(ctx, arg)))
    return _mv_result(values)


def _f_mvjoin(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "mvjoin")
    values = multivalue(_ev(ctx, args[0]))
    delim = _text(_ev(ctx, args[1]), "mvjoin") or ""
    return delim.join(values) if values else None


def _f_mvdedup(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "mvdedup")
    return _mv_result(list(dict.fromkeys(multivalue(_ev(ctx, args[0])))))


def _f_mvsort(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "mvsort")
    # lexicographic, by code point (uppercase before lowercase), as the eval reference says
    return _mv_result(sorted(multivalue(_ev(ctx, args[0]))))


def _extreme(ctx: Context, args: List[Node], name: str, pick: Callable[..., Any]) -> Value:
    _arity(args, 1, None, name)
    values = [v for v in (_scalar(_ev(ctx, arg), name) for arg in args) if v is not None]
    if not values:
        return None
    numbers = [_number(v) for v in values]
    if all(n is not None for n in numbers):
        return pick(numbers)  # type: ignore[no-any-return]
    if any(n is not None for n in numbers):
        raise EvalError(f"{name}() over numbers and strings together is not modelled")
    return pick(_text(v, name) for v in values)  # type: ignore[no-any-return]


def _f_max(ctx: Context, args: List[Node]) -> Value:
    return _extreme(ctx, args, "max", max)


def _f_min(ctx: Context, args: List[Node]) -> Value:
    return _extreme(ctx, args, "min", min)


def _f_round(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 2, "round")
    number = _number(_scalar(_ev(ctx, args[0]), "round"))
    digits = _number(_ev(ctx, args[1])) if len(args) == 2 else 0.0
    if number is None or digits is None:
        return None
    # Splunk rounds half away from zero; Python's round() rounds half to even.
    scale = 10 ** int(digits)
    rounded = math.floor(abs(number) * scale + 0.5) / scale
    return math.copysign(rounded, number) if rounded else 0.0


def _f_json_valid(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 1, 1, "json_valid")
    text = _text(_ev(ctx, args[0]), "json_valid")
    if text is None:
        return None
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _f_json_extract(ctx: Context, args: List[Node]) -> Value:
    _arity(args, 2, 2, "json_extract")
    text, path = _text(_ev(ctx, args[0]), "json_extract"), _text(_ev(ctx, args[1]), "json_extract")
    if text is None or path is None:
        return None
    return json_extract_object(text, path)


FUNCTIONS: Dict[str, Evaluator] = {
    "coalesce": _f_coalesce, "if": _f_if, "case": _f_case, "match": _f_match,
    "replace": _f_replace, "lower": _f_lower, "len": _f_len, "isnull": _f_isnull,
    "isnotnull": _f_isnotnull, "null": _f_null, "true": _f_true, "false": _f_false, "cidrmatch": _f_cidrmatch,
    "mvindex": _f_mvindex, "mvfind": _f_mvfind, "mvcount": _f_mvcount, "mvzip": _f_mvzip,
    "mvmap": _f_mvmap, "split": _f_split, "substr": _f_substr, "tonumber": _f_tonumber,
    "floor": _f_floor, "abs": _f_abs, "strptime": _f_strptime, "now": _f_now, "spath": _f_spath,
    "upper": _f_upper, "trim": _f_trim, "md5": _f_md5, "in": _f_in, "nullif": _f_nullif, "like": _f_like,
    "mvappend": _f_mvappend, "mvjoin": _f_mvjoin, "mvdedup": _f_mvdedup, "mvsort": _f_mvsort,
    "max": _f_max, "min": _f_min, "round": _f_round, "json_valid": _f_json_valid,
    "json_extract": _f_json_extract, "strftime": _f_strftime, "relative_time": _f_relative_time,
    "ceiling": _f_ceiling, "isnum": _f_isnum, "printf": _f_printf, "time": _f_time,
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


def evaluate(expression: str, fields: Fields, now: Optional[float] = None, clock: Optional[float] = None) -> Value:
    """Evaluate one eval expression over an event's fields; booleans are returned as-is.

    ``now`` is what ``now()`` returns (the search's time), ``clock`` what ``time()`` returns.
    """
    value = _ev(Context(fields, time.time() if now is None else now, clock), _parsed(expression))
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


@functools.lru_cache(maxsize=1024)
def _parsed(expression: str) -> Node:
    return Parser(expression).parse()


def as_field(value: Value) -> Value:
    """What a field assigned from ``value`` holds: booleans cannot be field values in Splunk."""
    if isinstance(value, bool):
        raise EvalError("an eval assigned a boolean to a field")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return value
