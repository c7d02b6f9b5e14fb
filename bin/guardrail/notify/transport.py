"""The small HTTP surface the action needs, so delivery rules can be tested without sockets.

:class:`~.client.SocketClient` implements :class:`HttpClient` over the standard library's sockets;
tests use fakes. The engine parses and checks every destination itself and hands the client the
parsed :class:`~.url.Url` plus a :class:`Route` of addresses it has checked: the client never
parses the URL text, never resolves a name on its own while connecting, and never follows
redirects (the engine decides). Clients raise :class:`TransportError` with a ``kind`` instead of
library exceptions, whose messages quote URLs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Protocol, Tuple, Union

from ..errors import GuardrailError
from .url import Url

# Transport failure kinds. "timeout", "connection" and "dns" are worth a retry; "tls", "proxy" (the
# proxy refused the tunnel), "protocol" (a reply that is not HTTP) and "request" (a header the
# client cannot send) are not: the next attempt would fail the same way.
RETRYABLE_KINDS = ("timeout", "connection", "dns")

# How much of a reply's body is kept: a webhook's answer is only read for its status; splunkd's
# storage/passwords answer is a few KiB of JSON.
WEBHOOK_BODY_KEPT = 4 * 1024
SPLUNKD_BODY_KEPT = 1024 * 1024


class TransportError(GuardrailError):
    """The request did not produce an HTTP response."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Route:
    """Where the client may connect: addresses the engine checked, tried in order, on ``port``.

    Without ``proxy`` they are the webhook's own addresses. With it they are the proxy's, and the
    client asks the proxy for a CONNECT tunnel to the webhook's ``host:port``; TLS to the webhook
    runs inside the tunnel, verified against the webhook's host name.
    """

    addresses: Tuple[str, ...]
    port: int
    proxy: Optional[Url] = None


@dataclass(frozen=True)
class HttpResponse:
    """Status, headers (lower-case names) and at most the kept size of the body as text.

    ``complete`` is False when the reply was cut short after its status line: by the kept size, the
    deadline, or the server closing early. The status still stands: the server has answered.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    text: str = ""
    complete: bool = True

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())


class HttpClient(Protocol):
    """What the engine calls. ``timeout`` is the wall-clock budget of the whole call in seconds;
    ``verify`` is True (the default CAs), False (no verification: loopback splunkd only) or the path
    of a CA bundle."""

    def resolve(self, host: str, port: int, timeout: float) -> Tuple[str, ...]:
        """The addresses ``host`` resolves to, in the resolver's order (raises kind "dns"/"timeout")."""
        ...

    def post(
        self, url: Url, route: Route, body: bytes, headers: Dict[str, str], timeout: float,
        verify: Union[bool, str],
    ) -> HttpResponse:
        """POST to ``url`` through ``route`` only, keeping at most ``WEBHOOK_BODY_KEPT`` of the body."""
        ...

    def get(
        self, url: str, headers: Dict[str, str], timeout: float, verify: Union[bool, str]
    ) -> HttpResponse:
        """GET from splunkd (``server_uri`` comes from splunkd itself: no address rules apply)."""
        ...
