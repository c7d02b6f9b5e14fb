"""Fakes for the guardrail_notify engine tests: an HTTP client, a clock, and a network guard."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from guardrail.notify.transport import HttpResponse, Route, TransportError
from guardrail.notify.url import Url

Step = Union[HttpResponse, TransportError]


@dataclass(frozen=True)
class Post:
    """One POST the fake client received: the parsed URL and the checked route, never a URL string."""

    url: Url
    route: Route
    body: bytes
    headers: Dict[str, str]
    timeout: float
    verify: Union[bool, str]


class FakeClient:
    """Answers POSTs from a script of responses or transport errors; GETs from ``secrets``; lookups
    from ``dns`` (a name maps to one answer, or to a list of answers given out in turn)."""

    def __init__(self, steps: Optional[List[Step]] = None, secrets: Optional[Dict[str, str]] = None,
                 session_key: str = "sk-test-0123456789",
                 dns: Optional[Mapping[str, Union[Tuple[str, ...], List[Tuple[str, ...]]]]] = None) -> None:
        self.steps = list(steps or [])
        self.secrets = secrets or {}
        self.session_key = session_key
        self.dns = {name: (list(answer) if isinstance(answer, list) else answer)
                    for name, answer in (dns or {}).items()}
        self.posts: List[Post] = []
        self.gets: List[Tuple[str, Dict[str, str], Union[bool, str]]] = []
        self.lookups: List[Tuple[str, int]] = []

    def resolve(self, host: str, port: int, timeout: float) -> Tuple[str, ...]:
        self.lookups.append((host, port))
        answer = self.dns.get(host)
        if isinstance(answer, list):
            answer = answer.pop(0) if answer else None
        if not answer:
            raise TransportError("dns")
        return answer

    def post(self, url: Url, route: Route, body: bytes, headers: Dict[str, str], timeout: float,
             verify: Union[bool, str]) -> HttpResponse:
        self.posts.append(Post(url, route, body, headers, timeout, verify))
        step = self.steps.pop(0) if self.steps else HttpResponse(200)
        if isinstance(step, TransportError):
            raise step
        return step

    def get(self, url: str, headers: Dict[str, str], timeout: float,
            verify: Union[bool, str]) -> HttpResponse:
        self.gets.append((url, headers, verify))
        if headers.get("Authorization") != f"Splunk {self.session_key}":
            return HttpResponse(401, {}, "{}")
        for entity, clear in self.secrets.items():
            if entity in url:
                return HttpResponse(200, {}, json.dumps({"entry": [{"content": {"clear_password": clear}}]}))
        return HttpResponse(404, {}, "{}")


class FakeClock:
    """A monotonic clock that only moves when the code sleeps (or a fake call advances it)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: List[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class NetworkGuard:
    """Records every socket connection and name lookup made by the thread that entered it, and lets
    through only connections to ``allow`` (``(host, port)`` pairs on loopback); anything else raises.
    Other threads (the loopback stub servers, a proxy stub connecting upstream) pass unwatched.

    Engine tests with fake clients run inside it to show that nothing touched the network at all.
    """

    def __init__(self, allow: Sequence[Tuple[str, int]] = ()) -> None:
        self.allow = set(allow)
        self.connects: List[Tuple[str, int]] = []
        self.lookups: List[str] = []
        self._saved: Dict[str, Any] = {}
        self._thread = threading.get_ident()

    def __enter__(self) -> NetworkGuard:
        guard = self
        original_connect: Callable[..., Any] = socket.socket.connect
        original_lookup: Callable[..., Any] = socket.getaddrinfo

        def connect(sock: socket.socket, address: Any) -> Any:
            if threading.get_ident() != guard._thread:
                return original_connect(sock, address)
            host, port = str(address[0]), int(address[1])
            guard.connects.append((host, port))
            if (host, port) not in guard.allow:
                raise PermissionError(f"network guard: connection to {host}:{port} blocked")
            return original_connect(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() != guard._thread:
                return original_lookup(host, *args, **kwargs)
            guard.lookups.append(str(host))
            raise PermissionError("network guard: lookups are blocked")

        self._saved = {"connect": original_connect, "getaddrinfo": original_lookup}
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo
        return self

    def __exit__(self, *exc: object) -> None:
        socket.socket.connect = self._saved["connect"]  # type: ignore[method-assign]
        socket.getaddrinfo = self._saved["getaddrinfo"]
