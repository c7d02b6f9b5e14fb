"""The alert action's one URL parser: what it accepts, and every URL two parsers could read differently."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from guardrail.notify.url import Url, parse_url, resolve_reference


@pytest.mark.parametrize(
    ("text", "host", "port", "target"),
    [
        ("https://hooks.slack.com/services/T1/B2/x", "hooks.slack.com", 443, "/services/T1/B2/x"),
        ("HTTPS://Hooks.Slack.COM:8443", "hooks.slack.com", 8443, "/"),
        ("https://prod-12.westeurope.logic.azure.com/workflows/a?api-version=1&sig=%2Fx",
         "prod-12.westeurope.logic.azure.com", 443, "/workflows/a?api-version=1&sig=%2Fx"),
        ("https://example.com?x=1", "example.com", 443, "/?x=1"),
        ("https://203.0.113.9:9443/h", "203.0.113.9", 9443, "/h"),
        ("https://[2001:DB8::0:1]/h", "2001:db8::1", 443, "/h"),
        ("https://xn--bcher-kva.example/h", "xn--bcher-kva.example", 443, "/h"),
        ("https://example.com/a@b/c", "example.com", 443, "/a@b/c"),
        ("https://sh_1.corp.example:8089/services", "sh_1.corp.example", 8089, "/services"),
    ],
)
def test_accepted(text: str, host: str, port: int, target: str) -> None:
    url = parse_url(text)
    assert (url.scheme, url.host, url.port, url.target) == ("https", host, port, target)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("https://localhost\\.x.webhook.office.com/hooks/t", "backslash"),
        ("https://hooks.slack.com\\@evil.example/x", "backslash"),
        ("https://hooks.slack.com/services\\x", "backslash"),
        ("https://hooks.sl\tack.com/x", "whitespace"),
        ("https://hooks.slack.com/x\ny", "whitespace"),
        (" https://hooks.slack.com/x", "whitespace"),
        ("https://hooks.slack.com\x00.evil.example/x", "whitespace, control"),
        ("https://hooks\u3002slack.com/x", "non-ASCII"),
        ("https://bücher.example/x", "non-ASCII"),
        ("https://user:pw@hooks.slack.com/x", "user info"),
        ("https://hooks.slack.com@evil.example/x", "user info"),
        ("https://hooks.slack.com%2eevil.example/x", "percent-encoded"),
        ("https://%68ooks.slack.com/x", "percent-encoded"),
        ("https://[fe80::1%25eth0]/x", "percent-encoded"),
        ("https://evil.example#@hooks.slack.com/x", "fragment"),
        ("https://hooks.slack.com/x#y", "fragment"),
        ("https://hooks.slack.com./x", "empty label"),
        ("https://hooks..slack.com/x", "empty label"),
        ("https://.hooks.slack.com/x", "empty label"),
        ("https://hooks!x.slack.com/x", "letters, digits"),
        ("https://hooks*.slack.com/x", "letters, digits"),
        ("https://-hooks.slack.com/x", "letters, digits"),
        ("https://2130706433/x", "dotted-quad"),
        ("https://0x7f000001/x", "dotted-quad"),
        ("https://0x7f.1/x", "dotted-quad"),
        ("https://127.1/x", "dotted-quad"),
        ("https://0177.0.0.1/x", "dotted-quad"),
        ("https://127.000.000.001/x", "dotted-quad"),
        ("https://1.2.3.4.5/x", "dotted-quad"),
        ("https://example.123/x", "dotted-quad"),
        ("https://::1/x", "needs brackets"),
        ("https://[::1/x", "malformed IPv6"),
        ("https://[127.0.0.1]/x", "malformed IPv6"),
        ("https://[::1]x/x", "after the IPv6"),
        ("https://hooks.slack.com:/x", "port"),
        ("https://hooks.slack.com:0/x", "port"),
        ("https://hooks.slack.com:65536/x", "port"),
        ("https://hooks.slack.com:+443/x", "port"),
        ("https://hooks.slack.com:00000443/x", "port"),
        ("https://hooks.slack.com:４４３/x", "non-ASCII"),
        ("https:///x", "no host"),
        ("http://hooks.slack.com/x", "only https"),
        ("hooks.slack.com/x", "only https"),
        ("https:/hooks.slack.com/x", "only https"),
        ("javascript://hooks.slack.com/x", "only https"),
    ],
)
def test_refused(text: str, words: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_url(text)
    assert words in str(err.value)
    assert "/x" not in str(err.value) and "hooks/t" not in str(err.value)  # the path is never quoted


def test_refused_urls_include_the_reported_bypass_that_urlsplit_accepts() -> None:
    # urlsplit reads this host as allowed (*.webhook.office.com); WHATWG/urllib3 would connect to localhost.
    text = "https://localhost\\.x.webhook.office.com/hooks/token"
    assert (urlsplit(text).hostname or "").endswith(".webhook.office.com")
    with pytest.raises(ValueError):
        parse_url(text)


def test_request_parts_and_repr_keep_the_path_out_of_logs() -> None:
    url = parse_url("https://hooks.slack.com/services/T1/B2/SeCrEt")
    assert url.host_header == "hooks.slack.com" and url.authority == "hooks.slack.com:443"
    assert "SeCrEt" not in repr(url) and "SeCrEt" not in str(url) and "SeCrEt" not in url.base()
    v6 = parse_url("https://[::1]:8443/x")
    assert v6.host == "::1" and v6.ip == "::1" and v6.host_header == "[::1]:8443" and v6.authority == "[::1]:8443"
    assert parse_url("https://example.com/").ip is None


def test_other_schemes_when_asked() -> None:
    proxy = parse_url("http://proxy.corp:3128", schemes=("http", "https"))
    assert (proxy.scheme, proxy.port, proxy.host_header) == ("http", 3128, "proxy.corp:3128")
    assert parse_url("http://proxy.corp", schemes=("http",)).port == 80


BASE = Url("https", "hooks.slack.com", 443, "/services/T1/B2/x?a=1")


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/services/moved", ("https", "hooks.slack.com", 443, "/services/moved")),
        ("moved", ("https", "hooks.slack.com", 443, "/services/T1/B2/moved")),
        ("?b=2", ("https", "hooks.slack.com", 443, "/services/T1/B2/x?b=2")),
        ("https://hooks.slack.com:8443/x", ("https", "hooks.slack.com", 8443, "/x")),
        ("//evil.example/x", ("https", "evil.example", 443, "/x")),
        ("http://hooks.slack.com/x", ("http", "hooks.slack.com", 80, "/x")),
    ],
)
def test_redirect_reference(location: str, expected: tuple) -> None:
    target = resolve_reference(BASE, location)
    assert (target.scheme, target.host, target.port, target.target) == expected


@pytest.mark.parametrize("location", ["https://localhost\\.x.hooks.slack.com/", "/a\\b", "/a b", "", "ftp://x/",
                                      "https://user@hooks.slack.com/"])
def test_redirect_reference_refused(location: str) -> None:
    with pytest.raises(ValueError):
        resolve_reference(BASE, location)
