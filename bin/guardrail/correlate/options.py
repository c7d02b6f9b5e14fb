"""Command options: one table (name, parser, bounds, default, help) and the values it parses to.

:data:`OPTION_TABLE` is the only place an option is defined. The adapter declares its splunklib
options from it, :func:`parse_options` validates with it, and tests hold ``searchbnf.conf`` and the
option table in ``docs/commands/correlatepolicydenied.md`` to it. Values are ASCII only: other
scripts' digits (``٥``, fullwidth ``１０``) are refused with a message, not read as numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Optional, Tuple, Union

from ..errors import OptionError
from .lookupfile import LOOKUP_NAME

Value = Union[float, int, bool, str]

_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|sec|m|min|h|hr|d)?\s*$", re.IGNORECASE | re.ASCII)
_NUMBER = re.compile(r"^\s*[0-9]+(?:\.[0-9]*)?\s*$|^\s*\.[0-9]+\s*$", re.ASCII)
_WHOLE = re.compile(r"^\s*[0-9]+\s*$", re.ASCII)
_UNIT = {None: 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0}
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})
_WEEK = 7 * 86400.0


def _duration(spec: OptionSpec, value: str) -> float:
    match = _DURATION.match(value)
    if match is None:
        raise OptionError(spec.name, value, "expected a duration such as 300, 90s, 5m, 4h")
    seconds = float(match.group(1)) * _UNIT[match.group(2).lower() if match.group(2) else None]
    return float(_bounded(spec, value, seconds, "seconds"))


def _fraction(spec: OptionSpec, value: str) -> float:
    if not _NUMBER.match(value):
        raise OptionError(spec.name, value, "expected a number between 0 and 1")
    return float(_bounded(spec, value, float(value), ""))


def _boolean(spec: OptionSpec, value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise OptionError(spec.name, value, "expected true or false")


def _count(spec: OptionSpec, value: str) -> int:
    if not _WHOLE.match(value):
        raise OptionError(spec.name, value, "expected a whole number")
    digits = value.strip().lstrip("0")
    # past any bound, and past the digits int() converts at all: the bound's message, not a crash
    number = int(digits or "0") if len(digits) <= 30 else 10**30
    return int(_bounded(spec, value, number, ""))


def _lookup(spec: OptionSpec, value: str) -> str:
    text = value.strip()
    if text and not LOOKUP_NAME.match(text):
        raise OptionError(spec.name, value, "expected a lookup file name such as identity_evidence.csv")
    return text


_NATLOG = ("stream", "summary", "checks")


def _natlog(spec: OptionSpec, value: str) -> str:
    text = value.strip().lower()
    if text not in _NATLOG:
        raise OptionError(spec.name, value, "expected " + ", ".join(_NATLOG[:-1]) + " or " + _NATLOG[-1])
    return text


def _bounded(spec: OptionSpec, value: str, number: float, unit: str) -> float:
    low, high = spec.low, spec.high
    if (low is not None and number < low) or (high is not None and number > high):
        if isinstance(low, int) and isinstance(high, int):
            raise OptionError(spec.name, value, f"must be between {low} and {high}")
        unit = f" {unit}" if unit else ""
        raise OptionError(spec.name, value, f"must be between {low:g} and {high:g}{unit}")
    return number


@dataclass(frozen=True)
class OptionSpec:
    """One command option: how it is written, parsed, bounded, defaulted and explained."""

    name: str
    parse: Callable[[OptionSpec, str], Value]
    default: Value
    #: how the default is written in searchbnf.conf and the docs (``5m``, ``none``)
    default_text: str
    #: the value's placeholder in the syntax line (``<duration>``, ``<num>``)
    syntax: str
    help: str
    low: Optional[float] = None
    high: Optional[float] = None


OPTION_TABLE: Tuple[OptionSpec, ...] = (
    OptionSpec("window", _duration, 300.0, "5m", "<duration>",
               "IdP sign-ins from the caller IP count this long before the call", 1, _WEEK),
    OptionSpec("skew", _duration, 60.0, "60s", "<duration>",
               "endpoint clocks (EDR, Windows logons) may be off by this much", 0, 3600),
    OptionSpec("network_tolerance", _duration, 2.0, "2s", "<duration>",
               "NAT and proxy records count within this of the call", 0, 300),
    OptionSpec("fingerprint_window", _duration, 60.0, "60s", "<duration>",
               "a proxy record carrying the call's gcloud invocation-id counts within this of the call", 0, 3600),
    OptionSpec("lookback", _duration, 43200.0, "12h", "<duration>",
               "how far back a DHCP lease, VPN session or interactive logon may have started", 60, _WEEK),
    OptionSpec("selfjoin_window", _duration, 120.0, "2m", "<duration>",
               "other audit entries of the same gcloud run / same IP + agent count within this", 0, 3600),
    OptionSpec("agent_window", _duration, 60.0, "60s", "<duration>",
               "a service agent's originating call comes at most this much earlier", 0, 3600),
    OptionSpec("min_confidence", _fraction, 0.6, "0.6", "<num>",
               "a person singled out by the evidence is named only at this confidence or above", 0.0, 1.0),
    OptionSpec("margin", _fraction, 0.25, "0.25", "<num>",
               "accepted for older searches and ignored: nobody is named ahead of a runner-up", 0.0, 1.0),
    OptionSpec("keep_evidence", _boolean, False, "false", "<bool>",
               "pass evidence rows (and other rows) through, output fields empty"),
    OptionSpec("max_buffer", _count, 50000, "50000", "<int>",
               "most denied events held at once (see \"Order and memory\")", 1, 10_000_000),
    OptionSpec("evidence", _lookup, "", "none", "<string>",
               "a CSV lookup file in this app's lookups/ folder with more evidence rows"),
    OptionSpec("natlog", _natlog, "stream", "stream", "<string>",
               "how the NAT log's completeness is judged: from the calls in the stream, from check "
               "counts in the stream (nat_log_ip rows), or output those checks instead of the denied events"),
    OptionSpec("natlog_window", _duration, 43200.0, "12h", "<duration>",
               "with natlog=summary, the check counts within this of a call judge its NAT log", 900, _WEEK),
)
OPTIONS_BY_NAME: Dict[str, OptionSpec] = {spec.name: spec for spec in OPTION_TABLE}


def _default(name: str) -> Value:
    return OPTIONS_BY_NAME[name].default


@dataclass(frozen=True)
class Options:
    """Tunables of the correlation, one field per row of :data:`OPTION_TABLE` (see docs/commands)."""

    window: float = float(_default("window"))
    skew: float = float(_default("skew"))
    network_tolerance: float = float(_default("network_tolerance"))
    fingerprint_window: float = float(_default("fingerprint_window"))
    lookback: float = float(_default("lookback"))
    selfjoin_window: float = float(_default("selfjoin_window"))
    agent_window: float = float(_default("agent_window"))
    min_confidence: float = float(_default("min_confidence"))
    margin: float = float(_default("margin"))
    keep_evidence: bool = bool(_default("keep_evidence"))
    max_buffer: int = int(_default("max_buffer"))
    evidence: str = str(_default("evidence"))
    natlog: str = str(_default("natlog"))
    natlog_window: float = float(_default("natlog_window"))

    @property
    def point_back(self) -> float:
        """How far before a call point evidence (sign-ins, agents' origins, skewed EDR) reaches."""
        return max(self.window, self.agent_window, self.selfjoin_window, self.fingerprint_window) + self.skew

    @property
    def forward(self) -> float:
        """How far after a call evidence may be stamped (clock skew, self-join, proxy completion)."""
        return max(self.skew, self.selfjoin_window, self.network_tolerance, self.fingerprint_window)

    @property
    def slack(self) -> float:
        """Out-of-order rows within this many seconds of the frontier still count as ordered."""
        return self.skew



def parse_options(raw: Mapping[str, str]) -> Options:
    """Build :class:`Options` from option text; raises :class:`OptionError` on the first bad one."""
    values: Dict[str, Value] = {}
    for name, text in raw.items():
        spec = OPTIONS_BY_NAME.get(name)
        if spec is None:
            raise OptionError(name, text, "unknown option")
        values[name] = spec.parse(spec, text)
    return Options(**values)  # type: ignore[arg-type]


def syntax_line(command: str) -> str:
    """The ``syntax`` of the command's ``searchbnf.conf`` stanza, from the table."""
    return " ".join([command] + [f"({spec.name}={spec.syntax})?" for spec in OPTION_TABLE])
