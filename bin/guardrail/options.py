"""Command options: defaults, parsing and validation with errors that name the option."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from .errors import OptionError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|hr|d)?\s*$", re.IGNORECASE)
_UNIT = {None: 1.0, "ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0}
_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})


@dataclass(frozen=True)
class Options:
    """Tunables of the correlation; every one is a command option (see docs/commands)."""

    #: IdP sign-ins from the caller IP count within this many seconds before the call.
    window: float = 300.0
    #: Endpoint (EDR, logon) clocks may be off by up to this many seconds.
    skew: float = 60.0
    #: Network gear and proxies: records count within this many seconds of the call.
    network_tolerance: float = 2.0
    #: How far back a DHCP lease, VPN session or interactive logon may have started.
    lookback: float = 43200.0
    #: Self-join in GCP: same caller IP + user agent within this many seconds.
    selfjoin_window: float = 120.0
    #: Service agents: the originating call comes at most this many seconds earlier.
    agent_window: float = 60.0
    #: A person is named only at or above this confidence ...
    min_confidence: float = 0.6
    #: ... and only when ahead of the runner-up by at least this much.
    margin: float = 0.25
    #: Pass evidence rows through instead of dropping them.
    keep_evidence: bool = False
    #: Most denied events held at once (bounds memory for input that is not time-ordered).
    max_buffer: int = 50000
    #: A CSV lookup file of this app with more evidence (same fields as the streamed evidence).
    evidence: str = ""

    @property
    def point_back(self) -> float:
        """How far before a call point evidence (sign-ins, agents' origins, skewed EDR) reaches."""
        return max(self.window, self.agent_window, self.selfjoin_window) + self.skew

    @property
    def forward(self) -> float:
        """How far after a call evidence may be stamped (clock skew, self-join)."""
        return max(self.skew, self.selfjoin_window, self.network_tolerance)

    @property
    def slack(self) -> float:
        """Out-of-order rows within this many seconds of the frontier still count as ordered."""
        return self.skew


def _duration(name: str, value: str, low: float, high: float) -> float:
    match = _DURATION.match(value)
    if match is None:
        raise OptionError(name, value, "expected a duration such as 300, 90s, 5m, 4h")
    seconds = float(match.group(1)) * _UNIT[match.group(2).lower() if match.group(2) else None]
    if not low <= seconds <= high:
        raise OptionError(name, value, f"must be between {low:g} and {high:g} seconds")
    return seconds


def _fraction(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise OptionError(name, value, "expected a number between 0 and 1") from None
    if not 0.0 <= number <= 1.0:
        raise OptionError(name, value, "must be between 0 and 1")
    return number


def _boolean(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise OptionError(name, value, "expected true or false")


def _count(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise OptionError(name, value, "expected a whole number") from None
    if not low <= number <= high:
        raise OptionError(name, value, f"must be between {low} and {high}")
    return number


def parse_options(raw: Mapping[str, str]) -> Options:
    """Build :class:`Options` from option text; raises :class:`OptionError` on the first bad one."""
    defaults = Options()
    known = set(defaults.__dataclass_fields__)
    for name in raw:
        if name not in known:
            raise OptionError(name, raw[name], "unknown option")
    day = 7 * 86400.0

    def get(name: str) -> str:
        return raw[name]

    return Options(
        window=_duration("window", get("window"), 1, day) if "window" in raw else defaults.window,
        skew=_duration("skew", get("skew"), 0, 3600) if "skew" in raw else defaults.skew,
        network_tolerance=(
            _duration("network_tolerance", get("network_tolerance"), 0, 300)
            if "network_tolerance" in raw
            else defaults.network_tolerance
        ),
        lookback=_duration("lookback", get("lookback"), 60, day) if "lookback" in raw else defaults.lookback,
        selfjoin_window=(
            _duration("selfjoin_window", get("selfjoin_window"), 0, 3600)
            if "selfjoin_window" in raw
            else defaults.selfjoin_window
        ),
        agent_window=(
            _duration("agent_window", get("agent_window"), 0, 3600) if "agent_window" in raw else defaults.agent_window
        ),
        min_confidence=(
            _fraction("min_confidence", get("min_confidence")) if "min_confidence" in raw else defaults.min_confidence
        ),
        margin=_fraction("margin", get("margin")) if "margin" in raw else defaults.margin,
        keep_evidence=(
            _boolean("keep_evidence", get("keep_evidence")) if "keep_evidence" in raw else defaults.keep_evidence
        ),
        max_buffer=(
            _count("max_buffer", get("max_buffer"), 1, 10_000_000) if "max_buffer" in raw else defaults.max_buffer
        ),
        evidence=get("evidence").strip() if "evidence" in raw else defaults.evidence,
    )
