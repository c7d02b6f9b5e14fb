"""Fetch the webhook secret from splunkd's ``storage/passwords`` with the alert's session key.

The stored ``clear_password`` is either the webhook URL itself (Slack and Teams put their token in
the URL path) or a JSON object ``{"url": "...", "token": "..."}`` for endpoints that want a bearer
token. Nothing here ever formats the secret or the session key into a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import quote

from .config import NotifyError, is_loopback
from .transport import HttpClient, TransportError

# The REST namespace the secret is stored in (docs/alerts.md shows the matching POST).
APP_NAMESPACE = "gcp_guardrail"
SPLUNKD_TIMEOUT = 15.0


class SecretError(NotifyError):
    """The secret could not be fetched or does not hold a usable webhook."""

    exit_code = 2


@dataclass(frozen=True)
class WebhookSecret:
    """The webhook destination; ``repr`` hides it so a stray log line cannot leak it."""

    url: str
    token: Optional[str] = None

    def __repr__(self) -> str:
        return "WebhookSecret(<redacted>)"

    __str__ = __repr__


def password_url(server_uri: str, realm: str, name: str) -> str:
    """The REST address of the ``realm:name:`` credential in the app's namespace."""
    entity = quote(f"{realm}:{name}:", safe="")
    return f"{server_uri.rstrip('/')}/servicesNS/nobody/{APP_NAMESPACE}/storage/passwords/{entity}?output_mode=json"


def parse_secret(clear_password: str) -> WebhookSecret:
    """Accept a bare URL or ``{"url": ..., "token": ...}``."""
    text = clear_password.strip()
    if text.startswith("{"):
        try:
            data: Any = json.loads(text)
        except ValueError:
            raise SecretError("secret", "stored value looks like JSON but does not parse") from None
        url = data.get("url") if isinstance(data, dict) else None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            raise SecretError("secret", 'stored JSON has no "url"')
        if token is not None and not isinstance(token, str):
            raise SecretError("secret", '"token" must be a string')
        return WebhookSecret(url=url.strip(), token=token or None)
    if not text:
        raise SecretError("secret", "stored value is empty")
    return WebhookSecret(url=text)


def fetch_secret(
    client: HttpClient, server_uri: str, session_key: str, realm: str, name: str,
    ca_bundle: Optional[str] = None,
) -> WebhookSecret:
    """GET the credential from splunkd and parse it.

    splunkd on the same machine usually presents its own self-signed certificate, so TLS is only
    left unverified for a loopback ``server_uri``; any other splunkd must present a certificate
    that verifies (against ``ca_bundle`` when set).
    """
    if not server_uri or not session_key:
        raise SecretError("payload", "server_uri or session_key missing: cannot read storage/passwords")
    verify: Any = False if is_loopback(server_uri) else (ca_bundle or True)
    try:
        response = client.get(
            password_url(server_uri, realm, name),
            {"Authorization": f"Splunk {session_key}"},
            SPLUNKD_TIMEOUT,
            verify,
        )
    except TransportError as err:
        raise SecretError("storage/passwords", f"splunkd unreachable ({err.kind})") from None
    where = f"storage/passwords realm={realm} name={name}"
    if response.status == 404:
        raise SecretError(where, "no such credential: store it first (docs/alerts.md)")
    if response.status in (401, 403):
        raise SecretError(where, f"HTTP {response.status}: the alert's owner may not read stored passwords")
    if response.status != 200:
        raise SecretError(where, f"HTTP {response.status} from splunkd")
    try:
        entries = json.loads(response.text).get("entry") or []
        clear = entries[0]["content"]["clear_password"]
    except (ValueError, AttributeError, LookupError, TypeError):
        raise SecretError(where, "unexpected response shape") from None
    if not isinstance(clear, str):
        raise SecretError(where, "clear_password is not a string")
    return parse_secret(clear)
