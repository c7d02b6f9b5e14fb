"""The socket client of guardrail_notify against loopback servers in this process.

Every test runs inside a network guard that lets through only connections to the loopback servers
it names and blocks every name lookup, so a passing test also shows the client connected to the
route's addresses and resolved nothing on its own.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pytest
from guardrail.notify.client import SocketClient
from guardrail.notify.transport import WEBHOOK_BODY_KEPT, Route, TransportError
from guardrail.notify.url import Url

from tests.protocol.webhook_stub import ENDLESS, ConnectProxy, Reply, Silent, Webhook, make_certificate
from tests.unit.notify_fakes import NetworkGuard

Cert = Tuple[Path, Path]


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return make_certificate(tmp_path_factory.mktemp("tls"))


def client_for(cert: Cert) -> Tuple[SocketClient, str]:
    return SocketClient(cafile=str(cert[0])), str(cert[0])


def url_for(port: int, host: str = "127.0.0.1", target: str = "/hooks/x") -> Url:
    return Url("https", host, port, target)


def post(client: SocketClient, url: Url, route: Route, timeout: float = 5.0, verify: object = True):  # type: ignore[no-untyped-def]
    return client.post(url, route, b'{"a": 1}', {"Content-Type": "application/json"}, timeout, verify)  # type: ignore[arg-type]


class RawServer:
    """Loopback server that reads a request head and answers with fixed bytes (TLS with ``cert``)."""

    def __init__(self, cert: Optional[Cert], answer: bytes, hold: float = 0.0) -> None:
        self.answer = answer
        self.hold = hold
        self.requests: List[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.context: Optional[ssl.SSLContext] = None
        if cert is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(str(cert[0]), str(cert[1]))
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                if self.context is not None:
                    conn = self.context.wrap_socket(conn, server_side=True)
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        break
                    head += data
                self.requests.append(head)
                conn.sendall(self.answer)
                time.sleep(self.hold)
            except OSError:
                pass
            finally:
                conn.close()


@pytest.fixture
def guard() -> Iterator[NetworkGuard]:
    with NetworkGuard() as active:
        yield active
    assert active.lookups == []


def test_tls_is_verified_against_the_url_host_and_sent_to_the_route(cert: Cert, guard: NetworkGuard) -> None:
    client, _ = client_for(cert)
    with Webhook(cert) as hook:
        guard.allow.add(("127.0.0.1", hook.port))
        response = post(client, url_for(hook.port, host="localhost"), Route(("127.0.0.1",), hook.port))
    assert response.status == 200 and response.text == "ok" and response.complete
    request = hook.received[0]
    assert request.path == "/hooks/x" and request.headers["host"] == f"localhost:{hook.port}"
    assert request.headers["connection"] == "close" and request.json() == {"a": 1}
    assert guard.connects == [("127.0.0.1", hook.port)]


def test_certificate_for_another_name_fails_even_at_the_right_address(cert: Cert, guard: NetworkGuard) -> None:
    client, _ = client_for(cert)
    with Webhook(cert) as hook:
        guard.allow.add(("127.0.0.1", hook.port))
        with pytest.raises(TransportError) as err:
            post(client, url_for(hook.port, host="hooks.slack.com"), Route(("127.0.0.1",), hook.port))
    assert err.value.kind == "tls" and hook.received == []


def test_untrusted_certificate_fails(cert: Cert, guard: NetworkGuard, tmp_path: Path) -> None:
    client = SocketClient(cafile=str(make_certificate(tmp_path)[0]))
    with Webhook(cert) as hook:
        guard.allow.add(("127.0.0.1", hook.port))
        with pytest.raises(TransportError) as err:
            post(client, url_for(hook.port), Route(("127.0.0.1",), hook.port))
    assert err.value.kind == "tls"


def test_route_addresses_are_tried_in_order(cert: Cert, guard: NetworkGuard) -> None:
    client, _ = client_for(cert)
    with Webhook(cert) as hook:
        guard.allow.update({("127.0.0.2", hook.port), ("127.0.0.1", hook.port)})
        response = post(client, url_for(hook.port), Route(("127.0.0.2", "127.0.0.1"), hook.port))
    assert response.status == 200
    assert guard.connects == [("127.0.0.2", hook.port), ("127.0.0.1", hook.port)]  # nothing listens on .2


def test_dripped_reply_head_ends_at_the_deadline(cert: Cert, guard: NetworkGuard) -> None:
    client, _ = client_for(cert)
    with Webhook(cert, [Reply(200, drip_head=0.05)]) as hook:
        guard.allow.add(("127.0.0.1", hook.port))
        started = time.monotonic()
        with pytest.raises(TransportError) as err:
            post(client, url_for(hook.port), Route(("127.0.0.1",), hook.port), timeout=0.5)
        elapsed = time.monotonic() - started
        received = hook.received[0]
    assert err.value.kind == "timeout"
    assert not received.finished and received.sent < 60
    assert elapsed < 30  # a sanity bound far above the deadline, not a speed check


def test_dripped_body_after_a_status_keeps_the_status(cert: Cert, guard: NetworkGuard) -> None:
    client, _ = client_for(cert)
    with Webhook(cert, [Reply(202, drip_body=0.05, body_bytes=400)]) as hook:
        guard.allow.add(("127.0.0.1", hook.port))
        response = post(client, url_for(hook.port), Route(("127.0.0.1",), hook.port), timeout=0.5)
    assert response.status == 202 and not response.complete and 0 < len(response.text) < 400


@pytest.mark.parametrize("reply", [Reply(200, body_bytes=400 * 1024 * 1024), Reply(200, body_bytes=ENDLESS),
                                   Reply(200, body_bytes=ENDLESS, chunked=True)])
def test_body_is_cut_at_the_kept_size(cert: Cert, guard: NetworkGuard, reply: Reply) -> None:
    client, _ = client_for(cert)
    with Webhook(cert, [reply]) as hook:
        guard.allow.add(("127.0.0.1", hook.port))
        response = post(client, url_for(hook.port), Route(("127.0.0.1",), hook.port))
        received = hook.received[0]
    assert response.status == 200 and not response.complete
    assert len(response.text) == WEBHOOK_BODY_KEPT
    assert not received.finished


def test_chunked_body_is_decoded(cert: Cert, guard: NetworkGuard) -> None:
    client, _ = client_for(cert)
    with Webhook(cert, [Reply(200, body="hello, chunks", chunked=True)]) as hook:
        guard.allow.add(("127.0.0.1", hook.port))
        response = post(client, url_for(hook.port), Route(("127.0.0.1",), hook.port))
    assert (response.text, response.complete) == ("hello, chunks", True)


@pytest.mark.parametrize(
    ("answer", "status", "complete", "kind"),
    [
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
         204, True, None),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 100_000 + b"\r\n\r\n", 200, False, None),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 500 + b"\r\n", 200, False, None),
        (b"HTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nContent-Length: 2\r\n\r\nno", 429, True, None),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 200, False, None),
        (b"SMTP ready\r\n\r\n", None, None, "protocol"),
        (b"", None, None, "connection"),
    ],
    ids=["interim", "long-header", "many-headers", "retry-after", "short-body", "not-http", "closed"],
)
def test_reply_heads(cert: Cert, guard: NetworkGuard, answer: bytes, status: Optional[int], complete: Optional[bool],
                     kind: Optional[str]) -> None:
    client, _ = client_for(cert)
    with RawServer(cert, answer) as server:
        guard.allow.add(("127.0.0.1", server.port))
        if kind is not None:
            with pytest.raises(TransportError) as err:
                post(client, url_for(server.port), Route(("127.0.0.1",), server.port))
            assert err.value.kind == kind
            return
        response = post(client, url_for(server.port), Route(("127.0.0.1",), server.port))
    assert (response.status, response.complete) == (status, complete)
    if status == 429:
        assert response.header("Retry-After") == "7" and response.text == "no"


def test_silent_server_times_out_in_the_handshake(guard: NetworkGuard, cert: Cert) -> None:
    client, _ = client_for(cert)
    with Silent() as silent:
        guard.allow.add(("127.0.0.1", silent.port))
        with pytest.raises(TransportError) as err:
            post(client, url_for(silent.port), Route(("127.0.0.1",), silent.port), timeout=0.5)
    assert err.value.kind == "timeout"


@pytest.mark.parametrize("tls_proxy", [False, True], ids=["http-proxy", "https-proxy"])
def test_connect_tunnel_goes_only_to_the_proxy(cert: Cert, guard: NetworkGuard, tls_proxy: bool) -> None:
    client, _ = client_for(cert)
    with Webhook(cert) as hook, ConnectProxy(cert if tls_proxy else None) as proxy:
        guard.allow.add(("127.0.0.1", proxy.port))
        proxy_url = Url("https" if tls_proxy else "http", "localhost", proxy.port)
        response = post(client, url_for(hook.port, host="localhost"), Route(("127.0.0.1",), proxy.port, proxy_url))
    assert response.status == 200
    assert proxy.targets == [f"localhost:{hook.port}"]  # the proxy resolves the webhook's name
    assert guard.connects == [("127.0.0.1", proxy.port)]
    assert hook.received[0].headers["host"] == f"localhost:{hook.port}"


@pytest.mark.parametrize(("answer", "kind"), [(b"HTTP/1.1 403 Forbidden\r\n\r\n", "proxy"),
                                              (b"HTTP/1.1 502 Bad Gateway\r\n\r\n", "connection")])
def test_proxy_refusing_the_tunnel(guard: NetworkGuard, cert: Cert, answer: bytes, kind: str) -> None:
    client, _ = client_for(cert)
    with RawServer(None, answer) as proxy:
        guard.allow.add(("127.0.0.1", proxy.port))
        route = Route(("127.0.0.1",), proxy.port, Url("http", "127.0.0.1", proxy.port))
        with pytest.raises(TransportError) as err:
            post(client, url_for(443, host="hooks.slack.com"), route)
    assert err.value.kind == kind
    assert proxy.requests[0].startswith(b"CONNECT hooks.slack.com:443 HTTP/1.1\r\n")


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer a\r\nX-Injected: 1"}, {"Bad Name": "x"},
                                     {"Host": "evil.example"}, {"Content-Length": "0"}, {"X": "tök"}])
def test_headers_that_would_change_the_request_are_refused_before_connecting(
    guard: NetworkGuard, headers: dict
) -> None:
    client = SocketClient()
    with pytest.raises(TransportError) as err:
        client.post(url_for(9), Route(("127.0.0.1",), 9), b"{}", headers, 1.0, True)
    assert err.value.kind == "request" and guard.connects == []


def test_get_reads_splunkd_by_uri(cert: Cert, guard: NetworkGuard) -> None:
    client = SocketClient()
    with Webhook(cert, [Reply(200, body='{"entry": []}')]) as hook:
        guard.allow.add(("127.0.0.1", hook.port))
        response = client.get(f"https://127.0.0.1:{hook.port}/servicesNS/nobody/x?output_mode=json",
                              {"Authorization": "Splunk k"}, 5.0, False)
    assert response.status == 200 and response.text == '{"entry": []}'
    assert hook.received[0].method == "GET" and hook.received[0].headers["authorization"] == "Splunk k"


def test_lookups_are_bounded_and_fail_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    client = SocketClient()

    def slow(*args: object, **kwargs: object) -> list:
        time.sleep(3)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    with pytest.raises(TransportError) as err:
        client.resolve("hooks.slack.com", 443, 0.2)
    assert err.value.kind == "timeout"

    def failing(*args: object, **kwargs: object) -> list:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(TransportError) as err:
        client.resolve("no-such-host.invalid", 443, 1.0)
    assert err.value.kind == "dns"


def test_lookup_of_localhost() -> None:
    assert "127.0.0.1" in SocketClient().resolve("localhost", 443, 5.0)
