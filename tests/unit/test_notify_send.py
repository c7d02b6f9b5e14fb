"""Retry, backoff and redirect rules of guardrail_notify delivery (fake client, recorded sleeps)."""

from __future__ import annotations

from typing import List

import pytest
from guardrail.notify.config import DestinationError, RetryPolicy
from guardrail.notify.send import DeliveryError, backoff_delay, deliver, retry_after_seconds
from guardrail.notify.transport import HttpResponse, TransportError

from tests.unit.notify_fakes import FakeClient

URL = "https://hooks.slack.com/services/T1/B2/secretpath"
ALLOWED = ("hooks.slack.com",)
POLICY = RetryPolicy(max_attempts=4, backoff_base=1.0, backoff_max=10.0, timeout=5.0)


def send(client: FakeClient, sleeps: List[float], policy: RetryPolicy = POLICY, url: str = URL):  # type: ignore[no-untyped-def]
    return deliver(client, url, b"{}", {}, policy, ALLOWED, sleep=sleeps.append)


def test_success_first_time() -> None:
    client, sleeps = FakeClient([HttpResponse(200)]), []
    result = send(client, sleeps)
    assert (result.status, result.attempts, sleeps) == (200, 1, [])
    assert client.posts[0][3] == 5.0 and client.posts[0][4] is True  # timeout and TLS verification


def test_429_honours_retry_after_then_succeeds() -> None:
    client, sleeps = FakeClient([HttpResponse(429, {"retry-after": "3"}), HttpResponse(204)]), []
    result = send(client, sleeps)
    assert result.attempts == 2 and sleeps == [3.0]


def test_retry_after_is_capped() -> None:
    client, sleeps = FakeClient([HttpResponse(429, {"retry-after": "3600"}), HttpResponse(200)]), []
    send(client, sleeps)
    assert sleeps == [10.0]


def test_429_without_retry_after_backs_off_exponentially() -> None:
    client, sleeps = FakeClient([HttpResponse(429)] * 3 + [HttpResponse(200)]), []
    send(client, sleeps)
    assert sleeps == [1.0, 2.0, 4.0]


def test_5xx_retried_until_max_attempts() -> None:
    client, sleeps = FakeClient([HttpResponse(503)] * 10), []
    with pytest.raises(DeliveryError) as err:
        send(client, sleeps)
    assert len(client.posts) == 4 and sleeps == [1.0, 2.0, 4.0]
    assert err.value.attempts == 4 and err.value.status == 503 and err.value.exit_code == 3
    assert "secretpath" not in str(err.value)


@pytest.mark.parametrize("kind", ["timeout", "connection"])
def test_transport_errors_retried(kind: str) -> None:
    client, sleeps = FakeClient([TransportError(kind), TransportError(kind), HttpResponse(200)]), []
    assert send(client, sleeps).attempts == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413])
def test_other_4xx_not_retried(status: int) -> None:
    client, sleeps = FakeClient([HttpResponse(status), HttpResponse(200)]), []
    with pytest.raises(DeliveryError) as err:
        send(client, sleeps)
    assert len(client.posts) == 1 and sleeps == [] and err.value.status == status


def test_tls_failure_not_retried() -> None:
    client, sleeps = FakeClient([TransportError("tls"), HttpResponse(200)]), []
    with pytest.raises(DeliveryError):
        send(client, sleeps)
    assert len(client.posts) == 1


def test_same_origin_307_followed() -> None:
    client, sleeps = FakeClient([HttpResponse(307, {"location": "/services/moved"}), HttpResponse(200)]), []
    assert send(client, sleeps).status == 200
    assert client.posts[1][0] == "https://hooks.slack.com/services/moved"


@pytest.mark.parametrize(
    "location",
    ["https://evil.example/collect", "http://hooks.slack.com/services/x", "https://hooks.slack.com:8443/x",
     "//evil.example/x"],
)
def test_redirect_off_origin_refused(location: str) -> None:
    client, sleeps = FakeClient([HttpResponse(308, {"location": location}), HttpResponse(200)]), []
    with pytest.raises(DestinationError):
        send(client, sleeps)
    assert len(client.posts) == 1


@pytest.mark.parametrize("status", [301, 302, 303])
def test_method_changing_redirects_refused(status: int) -> None:
    client, sleeps = FakeClient([HttpResponse(status, {"location": "/services/moved"})]), []
    with pytest.raises(DestinationError):
        send(client, sleeps)


def test_redirect_loop_bounded() -> None:
    client, sleeps = FakeClient([HttpResponse(307, {"location": "/again"})] * 10), []
    with pytest.raises(DestinationError):
        send(client, sleeps)
    assert len(client.posts) == 4  # first request + 3 hops


def test_disallowed_destination_never_contacted() -> None:
    client, sleeps = FakeClient(), []
    with pytest.raises(DestinationError):
        send(client, sleeps, url="https://attacker.example/hook")
    assert client.posts == []


def test_retry_after_http_date() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:05 GMT", now=1445412480.0) == pytest.approx(5.0)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:05 GMT", now=1445412490.0) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_backoff_delay_capped() -> None:
    policy = RetryPolicy(backoff_base=2.0, backoff_max=5.0)
    assert [backoff_delay(n, policy) for n in (1, 2, 3, 4)] == [2.0, 4.0, 5.0, 5.0]
