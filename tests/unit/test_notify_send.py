"""Delivery rules of guardrail_notify: addresses, deadlines, retries, backoff, redirects.

A fake client and a fake clock stand in for the network and time; every test runs inside a network
guard that fails on any real connection or lookup.
"""

from __future__ import annotations

from typing import Iterator, List, Optional

import pytest
from guardrail.notify.config import DestinationError, RetryPolicy
from guardrail.notify.send import DeliveryError, backoff_delay, deliver, retry_after_seconds
from guardrail.notify.transport import HttpResponse, TransportError
from guardrail.notify.url import Url, parse_url

from tests.unit.notify_fakes import FakeClient, FakeClock, NetworkGuard, Post

URL = parse_url("https://hooks.slack.com/services/T1/B2/secretpath")
ALLOWED = ("hooks.slack.com",)
POLICY = RetryPolicy(max_attempts=4, backoff_base=1.0, backoff_max=10.0, timeout=5.0)
PUBLIC = ("52.96.0.1",)


@pytest.fixture(autouse=True)
def no_network() -> Iterator[NetworkGuard]:
    with NetworkGuard() as guard:
        yield guard
    assert guard.connects == [] and guard.lookups == []


def client_for(steps: Optional[list] = None, dns: Optional[dict] = None) -> FakeClient:
    return FakeClient(steps, dns=dns if dns is not None else {"hooks.slack.com": PUBLIC})


def send(client: FakeClient, sleeps: List[float], policy: RetryPolicy = POLICY, url: Url = URL, **kw):  # type: ignore[no-untyped-def]
    return deliver(client, url, b"{}", {}, policy, kw.pop("allowed", ALLOWED), sleep=sleeps.append, **kw)


def test_success_first_time() -> None:
    client, sleeps = client_for([HttpResponse(200)]), []
    result = send(client, sleeps)
    assert (result.status, result.attempts, sleeps) == (200, 1, [])
    post = client.posts[0]
    assert post.url is URL  # the parsed URL itself: the client has no text to parse again
    assert post.route.addresses == PUBLIC and post.route.port == 443 and post.route.proxy is None
    assert 0 < post.timeout <= 5.0 and post.verify is True


def test_429_honours_retry_after_then_succeeds() -> None:
    client, sleeps = client_for([HttpResponse(429, {"retry-after": "3"}), HttpResponse(204)]), []
    result = send(client, sleeps)
    assert result.attempts == 2 and sleeps == [3.0]


def test_retry_after_is_capped() -> None:
    client, sleeps = client_for([HttpResponse(429, {"retry-after": "3600"}), HttpResponse(200)]), []
    send(client, sleeps)
    assert sleeps == [10.0]


def test_429_without_retry_after_backs_off_exponentially() -> None:
    client, sleeps = client_for([HttpResponse(429)] * 3 + [HttpResponse(200)]), []
    send(client, sleeps)
    assert sleeps == [1.0, 2.0, 4.0]


def test_5xx_retried_until_max_attempts() -> None:
    client, sleeps = client_for([HttpResponse(503)] * 10), []
    with pytest.raises(DeliveryError) as err:
        send(client, sleeps)
    assert len(client.posts) == 4 and sleeps == [1.0, 2.0, 4.0]
    assert err.value.attempts == 4 and err.value.status == 503 and err.value.exit_code == 3
    assert "secretpath" not in str(err.value)


@pytest.mark.parametrize("kind", ["timeout", "connection"])
def test_transport_errors_retried(kind: str) -> None:
    client, sleeps = client_for([TransportError(kind), TransportError(kind), HttpResponse(200)]), []
    assert send(client, sleeps).attempts == 3


def test_failed_lookup_is_retried() -> None:
    client = client_for(dns={"hooks.slack.com": [(), PUBLIC]})
    assert send(client, []).attempts == 2
    assert client.lookups == [("hooks.slack.com", 443)] * 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413])
def test_other_4xx_not_retried(status: int) -> None:
    client, sleeps = client_for([HttpResponse(status), HttpResponse(200)]), []
    with pytest.raises(DeliveryError) as err:
        send(client, sleeps)
    assert len(client.posts) == 1 and sleeps == [] and err.value.status == status


@pytest.mark.parametrize("kind", ["tls", "proxy", "protocol", "request"])
def test_permanent_transport_failures_not_retried(kind: str) -> None:
    client, sleeps = client_for([TransportError(kind), HttpResponse(200)]), []
    with pytest.raises(DeliveryError) as err:
        send(client, sleeps)
    assert len(client.posts) == 1 and f"{kind} failure" in err.value.message


# --- addresses ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "words"),
    [(("127.0.0.1",), "127.0.0.1 loopback"), (("169.254.169.254",), "link-local"), (("10.2.3.4", "fd00::2"), "private"),
     (("::ffff:127.0.0.1",), "loopback"), (("0.0.0.0",), "unspecified")],
)
def test_name_resolving_to_a_refused_address_is_never_posted_to(answer: tuple, words: str) -> None:
    client = client_for(dns={"hooks.slack.com": answer})
    with pytest.raises(DestinationError) as err:
        send(client, [])
    assert client.posts == [] and words in err.value.message and "param.allowed_addresses" in err.value.message
    assert err.value.exit_code == 2


def test_refused_answers_are_dropped_and_only_checked_ones_are_used() -> None:
    client = client_for(dns={"hooks.slack.com": ("127.0.0.1", "52.96.0.1", "10.0.0.1", "2606:4700::1")})
    send(client, [])
    assert client.posts[0].route.addresses == ("52.96.0.1", "2606:4700::1")


def test_listed_address_is_allowed_explicitly() -> None:
    client = client_for(dns={"soar.corp.example": ("10.20.0.7",)})
    url = parse_url("https://soar.corp.example/hooks/guardrail")
    send(client, [], url=url, allowed=("soar.corp.example",), allowed_addresses=("10.20.0.7",))
    assert client.posts[0].route.addresses == ("10.20.0.7",)


def test_ip_literal_host_is_judged_without_a_lookup() -> None:
    client = client_for()
    with pytest.raises(DestinationError):
        send(client, [], url=parse_url("https://127.0.0.1:8443/x"), allowed=("127.0.0.1",))
    assert client.lookups == [] and client.posts == []
    send(client, [], url=parse_url("https://127.0.0.1:8443/x"), allowed=("127.0.0.1",),
         allowed_addresses=("127.0.0.1",))
    assert client.lookups == [] and client.posts[0].route.addresses == ("127.0.0.1",)


def test_dns_rebinding_each_attempt_uses_the_answer_it_checked() -> None:
    # First answer public, second loopback: the second attempt is refused, never sent to 127.0.0.1.
    client = client_for([HttpResponse(503)], dns={"hooks.slack.com": [PUBLIC, ("127.0.0.1",)]})
    with pytest.raises(DestinationError):
        send(client, [])
    assert [p.route.addresses for p in client.posts] == [PUBLIC]
    assert len(client.lookups) == 2


def test_redirect_hops_reuse_the_route_of_their_attempt() -> None:
    client = client_for([HttpResponse(307, {"location": "/services/moved"}), HttpResponse(200)])
    send(client, [])
    assert len(client.lookups) == 1
    assert [p.route for p in client.posts] == [client.posts[0].route] * 2


# --- proxy ----------------------------------------------------------------------------------------


def test_proxy_route_uses_the_proxy_checked_address() -> None:
    proxy = parse_url("http://proxy.corp.example:3128", schemes=("http", "https"))
    client = client_for(dns={"proxy.corp.example": ("52.1.1.1",)})
    send(client, [], proxy=proxy)
    post = client.posts[0]
    assert post.route.addresses == ("52.1.1.1",) and post.route.port == 3128 and post.route.proxy is proxy
    assert client.lookups == [("proxy.corp.example", 3128)]  # the proxy resolves the webhook's name


@pytest.mark.parametrize(("proxy", "dns", "words"), [
    ("http://127.0.0.1:3128", {}, "127.0.0.1 loopback"),
    ("http://169.254.169.254:80", {}, "link-local"),
    ("http://proxy.corp.example:3128", {"proxy.corp.example": ("10.0.0.3",)}, "10.0.0.3 private"),
])
def test_proxy_gets_the_address_rules(proxy: str, dns: dict, words: str) -> None:
    client = client_for(dns=dns)
    with pytest.raises(DestinationError) as err:
        send(client, [], proxy=parse_url(proxy, schemes=("http", "https")))
    assert err.value.where == "param.proxy" and words in err.value.message and client.posts == []


def test_listed_proxy_address_is_allowed() -> None:
    client = client_for()
    proxy = parse_url("http://10.0.0.3:3128", schemes=("http",))
    send(client, [], proxy=proxy, allowed_addresses=("10.0.0.3",))
    assert client.posts[0].route.addresses == ("10.0.0.3",)


def test_ip_literal_webhook_behind_a_proxy_is_judged_too() -> None:
    client = client_for()
    proxy = parse_url("http://10.0.0.3:3128", schemes=("http",))
    with pytest.raises(DestinationError) as err:
        send(client, [], url=parse_url("https://169.254.169.254/x"), allowed=("169.254.169.254",),
             proxy=proxy, allowed_addresses=("10.0.0.3",))
    assert err.value.where == "webhook" and "link-local" in err.value.message and client.posts == []


# --- deadlines ------------------------------------------------------------------------------------


class SlowClient(FakeClient):
    """Each POST takes ``cost`` seconds of the fake clock, or times out if it has less."""

    def __init__(self, clock: FakeClock, cost: float, steps: Optional[list] = None) -> None:
        super().__init__(steps, dns={"hooks.slack.com": PUBLIC})
        self.clock = clock
        self.cost = cost

    def post(self, url, route, body, headers, timeout, verify):  # type: ignore[no-untyped-def]
        self.clock.now += min(self.cost, timeout)
        if self.cost > timeout:
            self.posts.append(Post(url, route, body, headers, timeout, verify))
            raise TransportError("timeout")
        return super().post(url, route, body, headers, timeout, verify)


def test_each_attempt_gets_its_own_deadline_within_the_total() -> None:
    clock = FakeClock()
    client = SlowClient(clock, cost=100.0)
    policy = RetryPolicy(max_attempts=6, backoff_base=1.0, backoff_max=4.0, timeout=10.0, total_timeout=40.0)
    with pytest.raises(DeliveryError) as err:
        deliver(client, URL, b"{}", {}, policy, ALLOWED, sleep=clock.sleep, clock=clock)
    # Attempts of 10 s with waits of 1, 2 and 4 s reach 37 s: the fourth attempt gets the 3 s left,
    # and after it there is no time for another wait and attempt.
    assert [round(p.timeout, 3) for p in client.posts] == [10.0, 10.0, 10.0, 3.0]
    assert "total_timeout of 40s reached" in err.value.message and err.value.attempts == 4
    assert clock.now - 1000.0 <= 40.0


def test_no_retry_starts_after_the_total_deadline() -> None:
    clock = FakeClock()
    client = SlowClient(clock, cost=0.5, steps=[HttpResponse(429, {"retry-after": "30"})] * 3)
    policy = RetryPolicy(max_attempts=4, backoff_base=1.0, backoff_max=60.0, timeout=5.0, total_timeout=20.0)
    with pytest.raises(DeliveryError) as err:
        deliver(client, URL, b"{}", {}, policy, ALLOWED, sleep=clock.sleep, clock=clock)
    assert clock.sleeps == [] and len(client.posts) == 1  # a 30 s wait would pass the 20 s total
    assert err.value.status == 429 and "total_timeout" in err.value.message


def test_run_deadline_passed_in_is_honoured() -> None:
    clock = FakeClock()
    client = SlowClient(clock, cost=0.1)
    deliver(client, URL, b"{}", {}, POLICY, ALLOWED, sleep=clock.sleep, clock=clock, deadline=clock.now + 2.0)
    assert client.posts[0].timeout == pytest.approx(2.0)


# --- redirects ------------------------------------------------------------------------------------


def test_same_origin_307_followed() -> None:
    client, sleeps = client_for([HttpResponse(307, {"location": "/services/moved"}), HttpResponse(200)]), []
    assert send(client, sleeps).status == 200
    assert client.posts[1].url.target == "/services/moved" and client.posts[1].url.host == "hooks.slack.com"


@pytest.mark.parametrize(
    "location",
    ["https://evil.example/collect", "http://hooks.slack.com/services/x", "https://hooks.slack.com:8443/x",
     "//evil.example/x", "https://localhost\\.x.hooks.slack.com/x", "https://hooks.slack.com@evil.example/x",
     "/services/x\\y"],
)
def test_redirect_off_origin_or_unparsable_refused(location: str) -> None:
    client, sleeps = client_for([HttpResponse(308, {"location": location}), HttpResponse(200)]), []
    with pytest.raises(DestinationError):
        send(client, sleeps)
    assert len(client.posts) == 1


@pytest.mark.parametrize("status", [301, 302, 303])
def test_method_changing_redirects_refused(status: int) -> None:
    client, sleeps = client_for([HttpResponse(status, {"location": "/services/moved"})]), []
    with pytest.raises(DestinationError):
        send(client, sleeps)


def test_redirect_loop_bounded() -> None:
    client, sleeps = client_for([HttpResponse(307, {"location": "/again"})] * 10), []
    with pytest.raises(DestinationError):
        send(client, sleeps)
    assert len(client.posts) == 4  # first request + 3 hops


def test_disallowed_destination_never_contacted() -> None:
    client, sleeps = client_for(), []
    with pytest.raises(DestinationError):
        send(client, sleeps, url=parse_url("https://attacker.example/hook"))
    assert client.posts == [] and client.lookups == []


def test_retry_after_http_date() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:05 GMT", now=1445412480.0) == pytest.approx(5.0)
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:05 GMT", now=1445412490.0) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("٣") is None  # digits of other scripts are not seconds


def test_backoff_delay_capped() -> None:
    policy = RetryPolicy(backoff_base=2.0, backoff_max=5.0)
    assert [backoff_delay(n, policy) for n in (1, 2, 3, 4)] == [2.0, 4.0, 5.0, 5.0]
