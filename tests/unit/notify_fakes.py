"""Fake HTTP clients for the guardrail_notify engine tests (no sockets)."""

from __future__ import annotations

import json
from typing import Dict, List, Optional, Tuple, Union

from guardrail.notify.transport import HttpResponse, TransportError

Step = Union[HttpResponse, TransportError]


class FakeClient:
    """Answers POSTs from a script of responses or transport errors; GETs from ``secrets``."""

    def __init__(self, steps: Optional[List[Step]] = None, secrets: Optional[Dict[str, str]] = None,
                 session_key: str = "sk-test-0123456789") -> None:
        self.steps = list(steps or [])
        self.secrets = secrets or {}
        self.session_key = session_key
        self.posts: List[Tuple[str, bytes, Dict[str, str], float, Union[bool, str]]] = []
        self.gets: List[Tuple[str, Dict[str, str], Union[bool, str]]] = []
        self.proxies: List[Optional[str]] = []

    def post(self, url: str, body: bytes, headers: Dict[str, str], timeout: float,
             verify: Union[bool, str], proxy: Optional[str] = None) -> HttpResponse:
        self.posts.append((url, body, headers, timeout, verify))
        self.proxies.append(proxy)
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
