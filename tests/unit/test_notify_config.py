"""guardrail_notify parameters and destination rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from guardrail.notify.config import (
    ConfigError,
    DestinationError,
    check_destination,
    host_allowed,
    is_loopback,
    parse_allowed_hosts,
    parse_config,
    severity_label,
)
from guardrail.notify.secret import SPLUNKD_TIMEOUT
from guardrail.notify.send import backoff_delay

from devtools.conf import parse_conf

ROOT = Path(__file__).resolve().parents[2]

BASE = {"secret_name": "ops_hook", "allowed_hosts": "hooks.slack.com, *.webhook.office.com"}


def test_defaults() -> None:
    config = parse_config(BASE)
    assert config.fmt == "json"
    assert config.secret_realm == "gcp_guardrail"
    assert config.allowed_hosts == ("hooks.slack.com", "*.webhook.office.com")
    assert config.max_rows == 5
    assert (config.retry.max_attempts, config.retry.backoff_base, config.retry.backoff_max) == (4, 1.0, 30.0)
    assert (config.retry.timeout, config.retry.total_timeout) == (10.0, 120.0)
    assert config.ca_bundle is None and config.proxy is None and config.allowed_addresses == ()


def test_shipped_deadlines_sit_well_inside_maxtime() -> None:
    """The whole run (splunkd lookup, every attempt and wait) ends by total_timeout, and that ends at
    least 30 s before splunkd would kill the action at maxtime without a log line."""
    stanza = parse_conf(ROOT / "default" / "alert_actions.conf").stanza("guardrail_notify")
    assert stanza is not None
    match = re.fullmatch(r"([0-9]+)([smh]?)", stanza.get("maxtime") or "")
    assert match, "maxtime must be a plain duration"
    maxtime = int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
    params = {s.key[len("param."):]: s.value for s in stanza.settings if s.key.startswith("param.")}
    retry = parse_config({**params, "severity": "5"}).retry
    assert retry.total_timeout + 30 <= maxtime
    # The shipped retry schedule itself fits in total_timeout, with splunkd's lookup before it.
    schedule = retry.max_attempts * retry.timeout + sum(backoff_delay(n, retry) for n in range(1, retry.max_attempts))
    assert SPLUNKD_TIMEOUT + schedule <= retry.total_timeout


@pytest.mark.parametrize(
    ("override", "where"),
    [
        ({"format": "email"}, "param.format"),
        ({"secret_name": ""}, "param.secret_name"),
        ({"secret_name": "a/b"}, "param.secret_name"),
        ({"allowed_hosts": ""}, "param.allowed_hosts"),
        ({"allowed_hosts": "https://hooks.slack.com"}, "param.allowed_hosts"),
        ({"allowed_hosts": "*"}, "param.allowed_hosts"),
        ({"max_attempts": "50"}, "param.max_attempts"),
        ({"max_attempts": "many"}, "param.max_attempts"),
        ({"timeout": "0"}, "param.timeout"),
        ({"backoff_max": "9999"}, "param.backoff_max"),
        ({"max_rows": "0"}, "param.max_rows"),
        ({"ca_bundle": "/no/such/bundle.pem"}, "param.ca_bundle"),
        ({"allowed_hosts": "*.1"}, "param.allowed_hosts"),
        ({"allowed_hosts": "2130706433"}, "param.allowed_hosts"),
        ({"allowed_hosts": "127.1"}, "param.allowed_hosts"),
        ({"allowed_hosts": "*.0.0.1"}, "param.allowed_hosts"),
        ({"allowed_hosts": "hooks\\.slack.com"}, "param.allowed_hosts"),
        ({"allowed_addresses": "10.0.0.0/8"}, "param.allowed_addresses"),
        ({"allowed_addresses": "soar.internal"}, "param.allowed_addresses"),
        ({"total_timeout": "0"}, "param.total_timeout"),
        ({"total_timeout": "9999"}, "param.total_timeout"),
        ({"timeout": "١٠"}, "param.timeout"),
        ({"max_rows": "５"}, "param.max_rows"),
        ({"timeout": "nan"}, "param.timeout"),
    ],
)
def test_bad_parameters_name_the_parameter(override: dict, where: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, **override})
    assert err.value.where == where


@pytest.mark.parametrize(("raw", "label"), [("5", "high"), ("6", "critical"), ("3", "low"),
                                             ("High", "high"), ("$alert.severity$", "unknown"), ("9", "unknown"),
                                             ("٥", "unknown")])
def test_severity_label(raw: str, label: str) -> None:
    assert severity_label(raw) == label


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("hooks.slack.com", True),
        ("HOOKS.SLACK.COM.", True),
        ("example.webhook.office.com", True),
        ("a.b.webhook.office.com", True),
        ("webhook.office.com", False),          # the wildcard needs a subdomain
        ("evilwebhook.office.com", False),
        ("hooks.slack.com.evil.example", False),
        ("slack.com", False),
    ],
)
def test_host_allowlist(host: str, allowed: bool) -> None:
    assert host_allowed(host, ("hooks.slack.com", "*.webhook.office.com")) is allowed


def test_allowed_hosts_take_canonical_ip_addresses_matched_exactly() -> None:
    entries = parse_allowed_hosts("127.0.0.1, ::1, 2001:DB8:0::1, *.example.com, Hooks.Slack.Com.")
    assert entries == ("127.0.0.1", "::1", "2001:db8::1", "*.example.com", "hooks.slack.com")
    assert host_allowed("2001:db8::1", entries) and host_allowed("::1", entries)
    assert not host_allowed("127.0.0.2", entries)
    # A *. entry never matches an address, even one whose last labels look alike.
    assert not host_allowed("10.0.0.1", ("*.0.0.1",))


def test_check_destination_accepts_https_on_allowlist() -> None:
    url = check_destination("https://hooks.slack.com:443/services/T/B/x", ("hooks.slack.com",))
    assert (url.host, url.port, url.target) == ("hooks.slack.com", 443, "/services/T/B/x")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.slack.com/services/T/B/x", "only https"),
        ("ftp://hooks.slack.com/x", "only https"),
        ("hooks.slack.com/services", "only https"),
        ("https://other.example/services/T/B/x", "not in param.allowed_hosts"),
        ("https://user:pw@hooks.slack.com/x", "user info"),
        ("https://hooks.slack.com:99999/x", "does not parse"),
        ("https:///x", "no host"),
        ("https://localhost\\.x.hooks.slack.com/services/T/B/x", "backslash"),
        ("https://hooks.slack.com%2F@evil/services/T/B/x", "user info"),
    ],
)
def test_check_destination_refuses(url: str, words: str) -> None:
    with pytest.raises(DestinationError) as err:
        check_destination(url, ("hooks.slack.com",))
    assert words in err.value.message
    assert "/services/T/B/x" not in str(err.value)  # the secret path is never quoted


@pytest.mark.parametrize(("uri", "loop"), [("https://127.0.0.1:8089", True), ("https://localhost:8089", True),
                                          ("https://[::1]:8089", True), ("https://sh1.example:8089", False),
                                          ("https://10.0.0.5:8089", False)])
def test_is_loopback(uri: str, loop: bool) -> None:
    assert is_loopback(uri) is loop


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("", None), ("http://proxy.corp:3128", "http://proxy.corp:3128"), ("https://10.0.0.8:8443/", "https://10.0.0.8:8443"),
     ("http://[fd00::8]:3128", "http://[fd00::8]:3128")],
)
def test_proxy(raw: str, parsed: object) -> None:
    proxy = parse_config({**BASE, "proxy": raw}).proxy
    assert (proxy.base() if proxy else None) == parsed


@pytest.mark.parametrize("raw", ["proxy.corp:3128", "socks5://proxy.corp:1080", "http://proxy.corp",
                                 "http://user:pw@proxy.corp:3128", "http://proxy.corp:3128/path",
                                 "http://proxy.corp\\@10.0.0.1:3128", "http://0x7f.1:3128", "http://proxy.corp:3128#x"])
def test_bad_proxy(raw: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, "proxy": raw})
    assert err.value.where == "param.proxy"
