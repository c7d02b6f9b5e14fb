"""Settings of the ``guardrail_notify`` alert action, and the destination rules they enforce.

Splunk hands the action's parameters (``param.*`` in ``alert_actions.conf``, overridable per saved
search) as strings in the payload's ``configuration`` object. :func:`parse_config` turns them into a
frozen :class:`NotifyConfig` or raises :class:`ConfigError` naming the parameter.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ..errors import GuardrailError

FORMATS = ("slack", "teams", "json")
SEVERITY_LABELS = {1: "debug", 2: "info", 3: "low", 4: "medium", 5: "high", 6: "critical"}
SECRET_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")

# Hard ceilings: a saved search can override any param, but not make the action hammer a webhook
# or hold a Splunk alert worker for minutes.
MAX_ATTEMPTS_CEILING = 6
MAX_BACKOFF_CEILING = 120.0
MAX_TIMEOUT_CEILING = 60.0
MAX_ROWS_CEILING = 20


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
    proxy: Optional[str] = None


def _text(conf: Mapping[str, object], key: str, default: str = "") -> str:
    value = conf.get(key, default)
    return str(value).strip() if value is not None else default


def _number(conf: Mapping[str, object], key: str, default: float, low: float, high: float) -> float:
    raw = _text(conf, key)
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"param.{key}", f"not a number: {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"param.{key}", f"{value:g} is outside {low:g}..{high:g}")
    return value


def severity_label(raw: str) -> str:
    """Map Splunk's numeric ``alert.severity`` (1-6) to its label; keep a label as given."""
    text = raw.strip()
    if text.isdigit():
        return SEVERITY_LABELS.get(int(text), "unknown")
    if text.lower() in SEVERITY_LABELS.values():
        return text.lower()
    return "unknown"  # an unsubstituted token such as "$alert.severity$"


def parse_allowed_hosts(raw: str) -> Tuple[str, ...]:
    """Parse ``allowed_hosts``: comma-separated host names, ``*.`` prefix for any subdomain."""
    hosts = tuple(h.strip().lower().rstrip(".") for h in raw.split(",") if h.strip())
    for host in hosts:
        if not HOST_PATTERN.match(host):
            raise ConfigError("param.allowed_hosts", f"not a host name or *.domain pattern: {host!r}")
    return hosts


def parse_proxy(raw: str) -> Optional[str]:
    """Validate ``proxy``: ``http(s)://host:port`` of an HTTPS-tunnelling (CONNECT) proxy, or empty.

    Credentials are refused: they would have to sit in a .conf file. TLS to the webhook stays end to
    end through the tunnel, so the proxy sees the webhook's host name but never its path or token.
    """
    text = raw.strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ConfigError("param.proxy", "does not parse as http(s)://host:port") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port is None:
        raise ConfigError("param.proxy", "must be http(s)://host:port")
    if parts.username is not None or parts.password is not None:
        raise ConfigError("param.proxy", "credentials in the proxy URL are not supported")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError("param.proxy", "must be http(s)://host:port without a path")
    host = parts.hostname
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme.lower()}://{host}:{port}"


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
    retry = RetryPolicy(
        max_attempts=int(_number(conf, "max_attempts", 4, 1, MAX_ATTEMPTS_CEILING)),
        backoff_base=_number(conf, "backoff_base", 1.0, 0.0, MAX_BACKOFF_CEILING),
        backoff_max=_number(conf, "backoff_max", 30.0, 0.0, MAX_BACKOFF_CEILING),
        timeout=_number(conf, "timeout", 10.0, 0.1, MAX_TIMEOUT_CEILING),
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
    )


def host_allowed(host: str, allowed: Tuple[str, ...]) -> bool:
    """True when ``host`` equals an allowed name or is a subdomain of a ``*.`` entry.

    ``*.example.com`` matches ``a.example.com`` and ``a.b.example.com`` but not ``example.com``
    itself nor ``badexample.com``; IP literals only match when listed exactly.
    """
    name = host.lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("*."):
            if name.endswith(entry[1:]) and len(name) > len(entry) - 1:
                return True
        elif name == entry:
            return True
    return False


def check_destination(url: str, allowed: Tuple[str, ...]) -> str:
    """Return the host of ``url`` if it may receive a notification, else raise DestinationError.

    Only ``https`` with a host on the allowlist; no user info in the URL (it would leak into
    proxies' logs and is never needed by a webhook). Messages never quote the URL: its path
    often is the webhook's secret.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise DestinationError("webhook", "the stored URL does not parse") from None
    if parts.scheme.lower() != "https":
        raise DestinationError("webhook", f"scheme {parts.scheme or 'none'!r} refused: only https is allowed")
    host = (parts.hostname or "").lower()
    if not host:
        raise DestinationError("webhook", "the stored URL has no host")
    if parts.username is not None or parts.password is not None:
        raise DestinationError("webhook", "user info in the URL is refused")
    if not host_allowed(host, allowed):
        raise DestinationError("webhook", f"host {host} is not in param.allowed_hosts")
    del port
    return host


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
