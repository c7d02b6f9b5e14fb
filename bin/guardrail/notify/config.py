"""Settings of the ``guardrail_notify`` alert action, and the destination rules they enforce.

Splunk hands the action's parameters (``param.*`` in ``alert_actions.conf``, overridable per saved
search) as strings in the payload's ``configuration`` object. :func:`parse_config` turns them into a
frozen :class:`NotifyConfig` or raises :class:`ConfigError` naming the parameter. URLs are parsed by
:mod:`.url` only (the webhook's, the proxy's, splunkd's), addresses judged by :mod:`.addresses`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from ..errors import GuardrailError
from .addresses import parse_allowed_addresses
from .url import Url, parse_host, parse_url

FORMATS = ("slack", "teams", "json")
SEVERITY_LABELS = {1: "debug", 2: "info", 3: "low", 4: "medium", 5: "high", 6: "critical"}
SECRET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# A last label that getaddrinfo would read as a number: such a "name" is an address in disguise.
_IP_LIKE = re.compile(r"[0-9]+\Z|0x")

# Hard ceilings: a saved search can override any param, but not make the action hammer a webhook
# or hold a Splunk alert worker for minutes.
MAX_ATTEMPTS_CEILING = 6
MAX_BACKOFF_CEILING = 120.0
MAX_TIMEOUT_CEILING = 60.0
MAX_ROWS_CEILING = 20
# The whole run (secret, results, every attempt and wait) ends by total_timeout; the shipped 120 s
# sit well inside alert_actions.conf's maxtime (3m), after which splunkd kills the action unlogged.
MAX_TOTAL_CEILING = 600.0


class NotifyError(GuardrailError):
    """Base of the action's errors; ``where`` names the parameter, payload key or stage."""

    exit_code = 1

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class ConfigError(NotifyError):
    """A bad or missing action parameter or payload key."""

    exit_code = 2


class DestinationError(NotifyError):
    """The webhook URL breaks the destination rules (scheme, host allowlist)."""

    exit_code = 2


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a webhook that fails transiently."""

    max_attempts: int = 4
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    timeout: float = 10.0
    total_timeout: float = 120.0


@dataclass(frozen=True)
class NotifyConfig:
    """Validated action parameters."""

    fmt: str
    secret_name: str
    secret_realm: str
    allowed_hosts: Tuple[str, ...]
    severity: str
    max_rows: int
    retry: RetryPolicy
    ca_bundle: Optional[str]
    proxy: Optional[Url] = None
    allowed_addresses: Tuple[str, ...] = ()


def _text(conf: Mapping[str, object], key: str, default: str = "") -> str:
    value = conf.get(key, default)
    return str(value).strip() if value is not None else default


def _number(conf: Mapping[str, object], key: str, default: float, low: float, high: float) -> float:
    raw = _text(conf, key)
    if raw == "":
        return default
    try:
        if not raw.isascii():  # float() would read digits of other scripts ("١٠") as 10
            raise ValueError(raw)
        value = float(raw)
    except ValueError:
        raise ConfigError(f"param.{key}", f"not a number: {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"param.{key}", f"{value:g} is outside {low:g}..{high:g}")
    return value


def severity_label(raw: str) -> str:
    """Map Splunk's numeric ``alert.severity`` (1-6) to its label; keep a label as given."""
    text = raw.strip()
    if text.isascii() and text.isdigit():
        return SEVERITY_LABELS.get(int(text), "unknown")
    if text.lower() in SEVERITY_LABELS.values():
        return text.lower()
    return "unknown"  # an unsubstituted token such as "$alert.severity$"


def parse_allowed_hosts(raw: str) -> Tuple[str, ...]:
    """Parse ``allowed_hosts``: comma-separated host names, ``*.`` prefix for any subdomain, or IP
    addresses (matched exactly, never by a ``*.`` entry)."""
    hosts = []
    for entry in (h.strip().lower().rstrip(".") for h in raw.split(",")):
        if not entry:
            continue
        try:
            hosts.append(ipaddress.ip_address(entry).compressed)
            continue
        except ValueError:
            pass
        try:
            name = parse_host(entry[2:] if entry.startswith("*.") else entry, "entry")
        except ValueError:
            name = ""
        if not name or _IP_LIKE.match(name.rsplit(".", 1)[-1]):
            raise ConfigError("param.allowed_hosts", f"not a host name, *.domain pattern or IP address: {entry!r}")
        hosts.append(f"*.{name}" if entry.startswith("*.") else name)
    return tuple(hosts)


def parse_proxy(raw: str) -> Optional[Url]:
    """Validate ``proxy``: ``http(s)://host:port`` of an HTTPS-tunnelling (CONNECT) proxy, or empty.

    Credentials are refused: they would have to sit in a .conf file. TLS to the webhook stays end to
    end through the tunnel, so the proxy sees the webhook's host name but never its path or token.
    The proxy's addresses pass the same address rules as a webhook's (:mod:`.addresses`).
    """
    text = raw.strip()
    if not text:
        return None
    try:
        proxy = parse_url(text, "the proxy URL", schemes=("http", "https"))
    except ValueError as err:
        raise ConfigError("param.proxy", f"{err}; expected http(s)://host:port") from None
    if not re.search(r":[0-9]+/?\Z", text):
        raise ConfigError("param.proxy", "must be http(s)://host:port (the port is required)")
    if proxy.target != "/":
        raise ConfigError("param.proxy", "must be http(s)://host:port without a path")
    return proxy


def parse_config(conf: Mapping[str, object]) -> NotifyConfig:
    """Validate the payload's ``configuration`` object."""
    fmt = _text(conf, "format", "json").lower()
    if fmt not in FORMATS:
        raise ConfigError("param.format", f"{fmt!r} is not one of {', '.join(FORMATS)}")
    secret_name = _text(conf, "secret_name")
    if not SECRET_NAME.match(secret_name):
        raise ConfigError("param.secret_name", "missing, or not 1-64 of A-Z a-z 0-9 _ . -")
    secret_realm = _text(conf, "secret_realm", "gcp_guardrail") or "gcp_guardrail"
    if not SECRET_NAME.match(secret_realm):
        raise ConfigError("param.secret_realm", "not 1-64 of A-Z a-z 0-9 _ . -")
    allowed = parse_allowed_hosts(_text(conf, "allowed_hosts"))
    if not allowed:
        raise ConfigError("param.allowed_hosts", "empty: no webhook host is allowed")
    ca_bundle = _text(conf, "ca_bundle") or None
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        raise ConfigError("param.ca_bundle", "no such file")
    try:
        allowed_addresses = parse_allowed_addresses(_text(conf, "allowed_addresses"))
    except ValueError as err:
        raise ConfigError("param.allowed_addresses", str(err)) from None
    retry = RetryPolicy(
        max_attempts=int(_number(conf, "max_attempts", 4, 1, MAX_ATTEMPTS_CEILING)),
        backoff_base=_number(conf, "backoff_base", 1.0, 0.0, MAX_BACKOFF_CEILING),
        backoff_max=_number(conf, "backoff_max", 30.0, 0.0, MAX_BACKOFF_CEILING),
        timeout=_number(conf, "timeout", 10.0, 0.1, MAX_TIMEOUT_CEILING),
        total_timeout=_number(conf, "total_timeout", 120.0, 1.0, MAX_TOTAL_CEILING),
    )
    return NotifyConfig(
        fmt=fmt,
        secret_name=secret_name,
        secret_realm=secret_realm,
        allowed_hosts=allowed,
        severity=severity_label(_text(conf, "severity")),
        max_rows=int(_number(conf, "max_rows", 5, 1, MAX_ROWS_CEILING)),
        retry=retry,
        ca_bundle=ca_bundle,
        proxy=parse_proxy(_text(conf, "proxy")),
        allowed_addresses=allowed_addresses,
    )


def host_allowed(host: str, allowed: Tuple[str, ...]) -> bool:
    """True when ``host`` equals an allowed name or is a subdomain of a ``*.`` entry.

    ``*.example.com`` matches ``a.example.com`` and ``a.b.example.com`` but not ``example.com``
    itself nor ``badexample.com``; IP literals only match when listed exactly.
    """
    name = host.lower().rstrip(".")
    is_ip = _IP_LIKE.match(name.rsplit(".", 1)[-1]) is not None or ":" in name
    for entry in allowed:
        if entry.startswith("*."):
            if not is_ip and name.endswith(entry[1:]) and len(name) > len(entry) - 1:
                return True
        elif name == entry:
            return True
    return False


def check_destination(url: str, allowed: Tuple[str, ...]) -> Url:
    """Parse the webhook URL and return it if it may receive a notification, else raise DestinationError.

    Only ``https`` with a host on the allowlist, parsed by the strict parser of :mod:`.url` (no user
    info, backslashes, whitespace, percent-encoded or numeric-trick hosts). The :class:`~.url.Url`
    returned is what the client uses: nothing parses the text again. Messages never quote the URL:
    its path often is the webhook's secret.
    """
    try:
        parsed = parse_url(url.strip())
    except ValueError as err:
        raise DestinationError("webhook", str(err)) from None
    if not host_allowed(parsed.host, allowed):
        raise DestinationError("webhook", f"host {parsed.host} is not in param.allowed_hosts")
    return parsed


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    try:
        host = parse_url(url, "splunkd's URI", schemes=("https", "http")).host
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
