"""Deliver one webhook message: destination and address rules, deadlines, bounded retries, redirects.

Every attempt (docs/alerts.md):

1. resolves the webhook's host once (the proxy's, when one is set), keeps only the addresses the
   address rules allow (:mod:`.addresses`) and hands exactly those to the client, which connects to
   nothing else: no second lookup can swap in another address;
2. ends by its own wall-clock deadline, ``timeout`` seconds after it started, redirects included,
   and never after the run's total deadline.

Retry rules:

* 429: wait for ``Retry-After`` (seconds or an HTTP date), capped at ``backoff_max``, else backoff;
* 5xx, timeouts, failed lookups, refused or reset connections: exponential backoff
  ``base * 2**(n-1)``, capped;
* any other 4xx, a TLS failure, a refused destination or redirect: fail at once;
* no retry starts unless, after its wait, some time is left before the total deadline;
* 307/308 to the same https host and port are followed (at most 3 hops), any other redirect fails.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple, Union

from .addresses import screen
from .config import DestinationError, NotifyError, RetryPolicy, host_allowed
from .transport import RETRYABLE_KINDS, HttpClient, HttpResponse, Route, TransportError
from .url import Url, resolve_reference

MAX_REDIRECTS = 3
FOLLOWED_REDIRECTS = (307, 308)
# A retry is only worth starting with at least this much of its deadline left.
MIN_ATTEMPT = 1.0


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
    if text.isascii() and text.isdigit():
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


class _Clock:
    """Deadlines of one attempt: its own and the run's total, whichever comes first."""

    def __init__(self, clock: Callable[[], float], attempt_end: float) -> None:
        self.clock = clock
        self.end = attempt_end

    def left(self) -> float:
        left = self.end - self.clock()
        if left <= 0:
            raise TransportError("timeout")
        return left


def plan_route(
    client: HttpClient, url: Url, allowed_addresses: Tuple[str, ...], proxy: Optional[Url], deadline: _Clock,
) -> Route:
    """The addresses this attempt may connect to: the webhook's, or the proxy's, each looked up once.

    Raises DestinationError when every address is refused (naming each and its class).
    """
    hop, where, what = (proxy, "param.proxy", "proxy") if proxy is not None else (url, "webhook", "host")
    candidates = (hop.ip,) if hop.ip else client.resolve(hop.host, hop.port, deadline.left())
    kept, refused = screen(candidates, allowed_addresses)
    if not kept:
        raise DestinationError(
            where,
            f"{what} {hop.host} resolves only to refused addresses ({', '.join(refused)}); "
            "list an address in param.allowed_addresses to allow it",
        )
    if proxy is not None and url.ip:
        # The proxy connects to an IP-literal webhook host as written: judge that address too.
        refused_webhook = screen((url.ip,), allowed_addresses)[1]
        if refused_webhook:
            raise DestinationError("webhook", f"host {url.host} is refused ({refused_webhook[0]}); "
                                   "list it in param.allowed_addresses to allow it")
    return Route(kept, hop.port, proxy)


def _post_following(
    client: HttpClient,
    url: Url,
    route: Route,
    body: bytes,
    headers: Dict[str, str],
    verify: Union[bool, str],
    allowed_hosts: Tuple[str, ...],
    deadline: _Clock,
) -> HttpResponse:
    """POST, following only method-preserving redirects that stay on the same https origin (and so
    on the route already checked)."""
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        response = client.post(current, route, body, headers, deadline.left(), verify)
        if not 300 <= response.status < 400:
            return response
        location = response.header("location")
        if response.status not in FOLLOWED_REDIRECTS or not location:
            raise DestinationError("webhook", f"HTTP {response.status} redirect refused (only 307/308 are followed)")
        try:
            target = resolve_reference(current, location)
        except ValueError as err:
            raise DestinationError("webhook", f"redirect refused: {err}") from None
        if target.origin != url.origin:
            raise DestinationError("webhook", f"redirect to another origin refused (host {target.host})")
        if not host_allowed(target.host, allowed_hosts):
            raise DestinationError("webhook", f"host {target.host} is not in param.allowed_hosts")
        current = target
    raise DestinationError("webhook", f"more than {MAX_REDIRECTS} redirects")


def _attempts(count: int) -> str:
    return "1 attempt" if count == 1 else f"{count} attempts"


def deliver(
    client: HttpClient,
    url: Url,
    body: bytes,
    headers: Dict[str, str],
    policy: RetryPolicy,
    allowed_hosts: Tuple[str, ...],
    verify: Union[bool, str] = True,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _line: None,
    proxy: Optional[Url] = None,
    allowed_addresses: Tuple[str, ...] = (),
    clock: Callable[[], float] = time.monotonic,
    deadline: Optional[float] = None,
) -> Delivered:
    """POST ``body`` to ``url`` (already passed :func:`~.config.check_destination`) under the rules.

    ``deadline`` is the run's total deadline on ``clock`` (default: ``policy.total_timeout`` from now).
    Raises DestinationError (exit 2) on a refused address or redirect, DeliveryError (exit 3) when
    the webhook did not take the message.
    """
    if not host_allowed(url.host, allowed_hosts):
        raise DestinationError("webhook", f"host {url.host} is not in param.allowed_hosts")
    total_end = clock() + policy.total_timeout if deadline is None else deadline
    host = url.host
    status: Optional[int] = None
    reason = ""
    attempt = 0
    for attempt in range(1, policy.max_attempts + 1):
        retry_after: Optional[float] = None
        attempt_clock = _Clock(clock, min(clock() + policy.timeout, total_end))
        try:
            route = plan_route(client, url, allowed_addresses, proxy, attempt_clock)
            response = _post_following(client, url, route, body, headers, verify, allowed_hosts, attempt_clock)
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
            if clock() + delay + min(MIN_ATTEMPT, policy.timeout) > total_end:
                raise DeliveryError(
                    "webhook",
                    f"gave up after {_attempts(attempt)} at host {host} (last: {reason}; "
                    f"total_timeout of {policy.total_timeout:g}s reached)",
                    attempt, status,
                )
            log(
                f"WARNING guardrail_notify attempt={attempt} host={host} "
                f"status={status if status is not None else '-'} reason=\"{reason}\" retry_in={delay:.2f}s"
            )
            sleep(delay)
    raise DeliveryError(
        "webhook", f"gave up after {_attempts(attempt)} at host {host} (last: {reason})", attempt, status
    )
