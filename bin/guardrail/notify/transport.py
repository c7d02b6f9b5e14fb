"""The small HTTP surface the action needs, so the engine stays free of third-party imports.

The adapter (``bin/guardrail_notify.py``) implements :class:`HttpClient` with ``requests``; tests use
fakes. Clients never follow redirects themselves (the engine decides) and raise
:class:`TransportError` with a ``kind`` instead of library exceptions, whose messages quote URLs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Protocol, Union

from ..errors import GuardrailError

# Transport failure kinds. "timeout" and "connection" are worth a retry; "tls" is not (a certificate
# that fails verification will fail again).
RETRYABLE_KINDS = ("timeout", "connection")


class TransportError(GuardrailError):
    """The request did not produce an HTTP response."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class HttpResponse:
    """Status, headers (lower-case names) and at most a few KiB of body text."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    text: str = ""

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())


class HttpClient(Protocol):
    """What the engine calls; ``verify`` is True, False or a CA bundle path; ``proxy`` an
    ``http(s)://host:port`` CONNECT proxy for the webhook (splunkd is always reached directly)."""

    def post(
        self, url: str, body: bytes, headers: Dict[str, str], timeout: float, verify: Union[bool, str],
        proxy: Optional[str] = None,
    ) -> HttpResponse: ...

    def get(
        self, url: str, headers: Dict[str, str], timeout: float, verify: Union[bool, str]
    ) -> HttpResponse: ...
