"""Deliver one webhook message: bounded retries, backoff, redirect and destination rules.

Retry rules (docs/alerts.md):

* 429: wait for ``Retry-After`` (seconds or an HTTP date), capped at ``backoff_max``, else backoff;
* 5xx, timeouts, refused or reset connections: exponential backoff ``base * 2**(n-1)``, capped;
* any other 4xx, a TLS failure, or a refused redirect: fail at once (retrying cannot help);
* 307/308 to the same https host and port are followed (at most 3 hops), any other redirect fails.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple, Union
from urllib.parse import urljoin, urlsplit

from .config import DestinationError, NotifyError, RetryPolicy, check_destination
from .transport import RETRYABLE_KINDS, HttpClient, HttpResponse, TransportError

MAX_REDIRECTS = 3
FOLLOWED_REDIRECTS = (307, 308)


class DeliveryError(NotifyError):
    """The webhook did not accept the message after the allowed attempts."""

    exit_code = 3

    def __init__(self, where: str, message: str, attempts: int, status: Optional[int]) -> None:
        super().__init__(where, message)
        self.attempts = attempts
        self.status = status


@dataclass(frozen=True)
class Delivered:
    """A successful delivery."""

    status: int
    attempts: int


def retry_after_seconds(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Parse a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(attempt: int, policy: RetryPolicy, retry_after: Optional[float] = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    if retry_after is not None:
        return min(retry_after, policy.backoff_max)
    return float(min(policy.backoff_base * (2 ** (attempt - 1)), policy.backoff_max))


def _origin(url: str) -> Tuple[str, str, int]:
    parts = urlsplit(url)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or 443)


def _post_following(
    client: HttpClient,
    url: str,
    body: bytes,
    headers: Dict[str, str],
    policy: RetryPolicy,
    verify: Union[bool, str],
    allowed: Tuple[str, ...],
    proxy: Optional[str],
) -> HttpResponse:
    """POST, following only method-preserving redirects that stay on the same https origin."""
    origin = _origin(url)
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        response = client.post(current, body, headers, policy.timeout, verify, proxy=proxy)
        if not 300 <= response.status < 400:
            return response
        location = response.header("location")
        if response.status not in FOLLOWED_REDIRECTS or not location:
            raise DestinationError("webhook", f"HTTP {response.status} redirect refused (only 307/308 are followed)")
        target = urljoin(current, location)
        if _origin(target) != origin:
            host = (urlsplit(target).hostname or "?").lower()
            raise DestinationError("webhook", f"redirect to another origin refused (host {host})")
        check_destination(target, allowed)
        current = target
    raise DestinationError("webhook", f"more than {MAX_REDIRECTS} redirects")


def deliver(
    client: HttpClient,
    url: str,
    body: bytes,
    headers: Dict[str, str],
    policy: RetryPolicy,
    allowed: Tuple[str, ...],
    verify: Union[bool, str] = True,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _line: None,
    proxy: Optional[str] = None,
) -> Delivered:
    """POST ``body`` to ``url`` under the retry rules; raise DeliveryError on final failure."""
    host = check_destination(url, allowed)
    status: Optional[int] = None
    reason = ""
    attempt = 0
    for attempt in range(1, policy.max_attempts + 1):
        retry_after: Optional[float] = None
        try:
            response = _post_following(client, url, body, headers, policy, verify, allowed, proxy)
        except TransportError as err:
            status, reason = None, err.kind
            if err.kind not in RETRYABLE_KINDS:
                raise DeliveryError("webhook", f"{err.kind} failure at host {host}", attempt, None) from None
        else:
            status = response.status
            if 200 <= status < 300:
                return Delivered(status=status, attempts=attempt)
            if status == 429:
                reason = "rate limited"
                retry_after = retry_after_seconds(response.header("retry-after"))
            elif status >= 500:
                reason = "server error"
            else:
                raise DeliveryError(
                    "webhook", f"HTTP {status} from host {host} (not retried)", attempt, status
                )
        if attempt < policy.max_attempts:
            delay = backoff_delay(attempt, policy, retry_after)
            log(
                f"WARNING guardrail_notify attempt={attempt} host={host} "
                f"status={status if status is not None else '-'} reason=\"{reason}\" retry_in={delay:.2f}s"
            )
            sleep(delay)
    raise DeliveryError(
        "webhook", f"gave up after {attempt} attempts at host {host} (last: {reason})", attempt, status
    )
