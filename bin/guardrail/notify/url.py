"""The action's one URL parser: the host the destination rules check is the host the client connects to.

URL parsers disagree on odd input. Given ``https://localhost\\.x.webhook.office.com/``, RFC 3986
(``urllib.parse``) reads the host ``localhost\\.x.webhook.office.com``, while urllib3 (under requests)
and WHATWG parsers end the host at the backslash and connect to ``localhost``. Others strip tabs and
newlines, decode ``%2e`` in a host, or read ``0x7f.1`` and ``2130706433`` as 127.0.0.1.
:func:`parse_url` does not guess which reading a client would take: it refuses every URL on which two
reasonable parsers could differ, and returns a frozen :class:`Url`. The HTTP client receives that
object, never the text, so nothing parses the URL a second time.

Refused anywhere in the URL: whitespace, control and non-ASCII characters, backslashes, fragments.
Refused in the host part: user info (``@``), percent-encoded bytes, empty labels (a trailing dot
included), characters other than letters, digits, ``-`` and ``_``, and any numeric host that is not a
canonical dotted-quad IPv4 address. Errors are ``ValueError`` with a message that never quotes the
URL (its path is often the secret); callers wrap them in the error that names their parameter.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from typing import Optional, Tuple

DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_HOST = 253
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_DIGITS = re.compile(r"[0-9]+")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


@dataclass(frozen=True)
class Url:
    """A parsed, checked URL: the parts the client uses exactly as they are.

    ``host`` is a lower-case DNS name, a dotted-quad IPv4 address or a compressed IPv6 address
    (without brackets); ``target`` is the request target (path and query, at least ``/``).
    ``repr`` leaves the target out: it may be the webhook's secret.
    """

    scheme: str
    host: str
    port: int
    target: str = "/"

    def __repr__(self) -> str:
        return f"Url({self.scheme}://{self.authority}/…)"

    __str__ = __repr__

    @property
    def ip(self) -> Optional[str]:
        """The host when it is an IP literal, else None."""
        return self.host if _is_ip(self.host) else None

    @property
    def authority(self) -> str:
        """``host:port`` with an IPv6 host in brackets (a CONNECT target)."""
        return f"{_bracket(self.host)}:{self.port}"

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the port only when it is not the scheme's default."""
        host = _bracket(self.host)
        return host if DEFAULT_PORTS.get(self.scheme) == self.port else f"{host}:{self.port}"

    @property
    def origin(self) -> Tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    def base(self) -> str:
        """``scheme://host:port``, safe to log (no path)."""
        return f"{self.scheme}://{self.authority}"


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_characters(text: str, what: str) -> None:
    for ch in text:
        if not "\x21" <= ch <= "\x7e":
            raise ValueError(f"{what} contains whitespace, control or non-ASCII characters")
    if "\\" in text:
        raise ValueError(f"{what} contains a backslash (parsers disagree on where its host ends)")
    if "#" in text:
        raise ValueError(f"{what} has a fragment (#)")


def parse_host(text: str, what: str) -> str:
    """Validate a host (no brackets, no port) and return its canonical form."""
    host = text.lower()
    if not host:
        raise ValueError(f"{what} has no host")
    if "%" in host:
        raise ValueError(f"{what} has percent-encoded bytes in its host")
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host).compressed
        except ValueError:
            raise ValueError(f"{what} has a malformed IPv6 host") from None
    labels = host.split(".")
    if len(host) > MAX_HOST or any(not label for label in labels):
        raise ValueError(f"{what} has a malformed host (empty label or over {MAX_HOST} characters)")
    last = labels[-1]
    if _DIGITS.fullmatch(last) or last.startswith("0x"):
        # getaddrinfo reads 127.1, 0177.0.0.1, 0x7f.1 and 2130706433 as addresses: accept one spelling.
        try:
            canonical = str(ipaddress.IPv4Address(host))
        except ValueError:
            canonical = ""
        if canonical != host:
            raise ValueError(f"{what} has a numeric host that is not a dotted-quad IPv4 address")
        return host
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{what} has a host with characters other than letters, digits, '-', '_' and '.'")
    return host


def parse_url(text: str, what: str = "the stored URL", schemes: Tuple[str, ...] = ("https",)) -> Url:
    """Parse ``text`` strictly; raise ``ValueError`` on anything two parsers could read differently."""
    _check_characters(text, what)
    match = _SCHEME.match(text)
    if match is None or match.group(1).lower() not in schemes:
        scheme = match.group(1).lower() if match else "none"
        raise ValueError(f"scheme {scheme!r} refused: only {' or '.join(schemes)} is allowed")
    scheme = match.group(1).lower()
    rest = text[match.end():]
    cut = len(rest)
    for stop in "/?":
        found = rest.find(stop)
        if 0 <= found < cut:
            cut = found
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        raise ValueError(f"{what} has user info: refused")
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            raise ValueError(f"{what} has a malformed IPv6 host")
        host_text, after = authority[1:end], authority[end + 1:]
        if not host_text or ":" not in host_text:
            raise ValueError(f"{what} has a malformed IPv6 host")
        if after and not after.startswith(":"):
            raise ValueError(f"{what} does not parse (text after the IPv6 host)")
        port_text: Optional[str] = after[1:] if after else None
    else:
        if authority.count(":") > 1:
            raise ValueError(f"{what} does not parse (an IPv6 host needs brackets)")
        host_text, colon, port_text_raw = authority.partition(":")
        port_text = port_text_raw if colon else None
    host = parse_host(host_text, what)
    if port_text is None:
        port = DEFAULT_PORTS[scheme]
    else:
        if not _DIGITS.fullmatch(port_text) or len(port_text) > 5 or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{what} does not parse (port missing or out of range)")
        port = int(port_text)
    if not tail:
        target = "/"
    elif tail.startswith("?"):
        target = "/" + tail
    else:
        target = tail
    return Url(scheme=scheme, host=host, port=port, target=target)


def resolve_reference(base: Url, location: str) -> Url:
    """The URL a redirect's ``Location`` names, relative to ``base``; parsed by the same rules."""
    what = "the redirect target"
    text = location.strip()
    if _SCHEME.match(text):
        return parse_url(text, what, schemes=tuple(DEFAULT_PORTS))
    if text.startswith("//"):
        return parse_url(f"{base.scheme}:{text}", what, schemes=tuple(DEFAULT_PORTS))
    _check_characters(text, what)
    if not text:
        raise ValueError(f"{what} is empty")
    if text.startswith("/"):
        return replace(base, target=text)
    path, _, _query = base.target.partition("?")
    if text.startswith("?"):
        return replace(base, target=path + text)
    return replace(base, target=path[: path.rfind("/") + 1] + text)
