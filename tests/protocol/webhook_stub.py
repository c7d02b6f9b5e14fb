"""Loopback servers for the alert action tests: a scripted webhook, a splunkd stand-in, a CONNECT
proxy and a silent server.

The HTTPS ones use a self-signed certificate made at test time for 127.0.0.1 and localhost, so the
action's https-only rule holds in the tests too. The webhook answers each request with the next
scripted reply: a status and headers, a stall, a reply sent a byte at a time, a huge or endless body.
It records what it received and how much of its reply the client took before hanging up.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote, urlsplit


def make_certificate(directory: Path) -> Tuple[Path, Path]:
    """Write a self-signed certificate (SAN 127.0.0.1, localhost) and its key; return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "guardrail-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


ENDLESS = -1
FILLER = b"x" * 65536


@dataclass
class Reply:
    """One scripted answer.

    ``delay``: stall that long before answering. ``drip_head`` / ``drip_body``: seconds between
    single bytes of the status line and headers / of the body. ``body_bytes``: a filler body of that
    size instead of ``body`` (``ENDLESS``: never ends), ``chunked`` with Transfer-Encoding: chunked.
    """

    status: int = 200
    headers: Dict[str, str] = field(default_factory=dict)
    body: str = "ok"
    delay: float = 0.0
    drip_head: float = 0.0
    drip_body: float = 0.0
    body_bytes: Optional[int] = None
    chunked: bool = False


@dataclass
class Received:
    method: str
    path: str
    headers: Dict[str, str]
    body: bytes
    sent: int = 0  # bytes of the reply the client's socket took
    finished: bool = False  # the whole reply went out (the client did not hang up first)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


# A stream that never ends still stops here, so a client that never hangs up cannot hang the tests.
STREAM_CAP = 2 * 1024 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class HttpsStub:
    """A threaded HTTPS (or, with ``tls=False``, plain HTTP) server on 127.0.0.1."""

    def __init__(self, cert: Optional[Tuple[Path, Path]], handler: Any) -> None:
        self.server = _Server(("127.0.0.1", 0), handler)
        self.server.stub = self  # type: ignore[attr-defined]
        if cert is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(cert[0]), str(cert[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpsStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _WebhookHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def _handle(self) -> None:
        stub: Webhook = self.server.stub  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        received = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        stub.received.append(received)
        reply = stub.replies.pop(0) if stub.replies else Reply()
        if reply.delay:
            time.sleep(reply.delay)
        try:
            _write_reply(self.wfile, reply, received)
            received.finished = True
        except OSError:
            pass  # the client gave up (timeout, kept size reached)

    do_POST = _handle
    do_GET = _handle


def _write(out: Any, data: bytes, drip: float, received: Received) -> None:
    if not drip:
        out.write(data)
        received.sent += len(data)
        return
    for index in range(len(data)):
        out.write(data[index:index + 1])
        out.flush()
        received.sent += 1
        time.sleep(drip)


def _write_reply(out: Any, reply: Reply, received: Received) -> None:
    lines = [f"HTTP/1.1 {reply.status} Scripted"]
    lines += [f"{key}: {value}" for key, value in reply.headers.items()]
    data = reply.body.encode("utf-8")
    size = len(data) if reply.body_bytes is None else reply.body_bytes
    if reply.chunked:
        lines.append("Transfer-Encoding: chunked")
    elif size != ENDLESS:
        lines.append(f"Content-Length: {size}")
    lines.append("Connection: close")
    _write(out, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), reply.drip_head, received)
    if reply.body_bytes is None:
        pieces = [data] if data else []
    else:
        pieces = _filler(reply.body_bytes)
    for piece in pieces:
        if reply.chunked:
            piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        _write(out, piece, reply.drip_body, received)
        if received.sent > STREAM_CAP:
            raise OSError("stream cap reached")
    if reply.chunked:
        _write(out, b"0\r\n\r\n", reply.drip_body, received)


def _filler(size: int) -> Any:
    left = size
    while left == ENDLESS or left > 0:
        piece = FILLER if left == ENDLESS else FILLER[: min(left, len(FILLER))]
        if left != ENDLESS:
            left -= len(piece)
        yield piece


class Webhook(HttpsStub):
    """Scripted webhook: ``replies`` are consumed in order, then 200 OK."""

    def __init__(self, cert: Optional[Tuple[Path, Path]], replies: Optional[List[Reply]] = None) -> None:
        self.replies: List[Reply] = list(replies or [])
        self.received: List[Received] = []
        super().__init__(cert, _WebhookHandler)

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "https") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


class _SplunkdHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        stub: Splunkd = self.server.stub  # type: ignore[attr-defined]
        stub.requests.append(self.path)
        status, payload = stub.answer(self.path, self.headers.get("Authorization", ""))
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Splunkd(HttpsStub):
    """splunkd's ``storage/passwords`` endpoint, answering for one session key."""

    def __init__(self, cert: Tuple[Path, Path], session_key: str, passwords: Dict[str, str]) -> None:
        self.session_key = session_key
        self.passwords = passwords  # "realm:name:" -> clear password
        self.requests: List[str] = []
        super().__init__(cert, _SplunkdHandler)

    @property
    def uri(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def answer(self, raw_path: str, authorization: str) -> Tuple[int, Dict[str, Any]]:
        if authorization != f"Splunk {self.session_key}":
            return 401, {"messages": [{"type": "WARN", "text": "call not properly authenticated"}]}
        parts = urlsplit(raw_path)
        prefix = "/servicesNS/nobody/gcp_guardrail/storage/passwords/"
        if not parts.path.startswith(prefix) or "output_mode=json" not in parts.query:
            return 404, {"messages": [{"type": "ERROR", "text": "not found"}]}
        entity = unquote(parts.path[len(prefix):])
        if entity not in self.passwords:
            return 404, {"messages": [{"type": "ERROR", "text": f"Could not find object id={entity}"}]}
        realm, name, _ = entity.split(":")
        return 200, {
            "origin": f"{self.uri}/servicesNS/nobody/gcp_guardrail/storage/passwords",
            "entry": [{
                "name": entity,
                "id": f"{self.uri}{parts.path}",
                "acl": {"app": "gcp_guardrail", "owner": "nobody", "sharing": "app"},
                "content": {
                    "clear_password": self.passwords[entity],
                    "encr_password": "$7$notreal",
                    "password": "********",
                    "realm": realm,
                    "username": name,
                },
            }],
            "paging": {"total": 1, "perPage": 30, "offset": 0},
        }


class ConnectProxy:
    """A forward proxy on 127.0.0.1 that only tunnels (CONNECT), recording the targets. Plain HTTP,
    or HTTPS with ``cert`` (the client then runs TLS to the webhook inside TLS to the proxy).

    TLS to the webhook runs end to end through the tunnel, so all it can log is ``host:port``.
    """

    def __init__(self, cert: Optional[Tuple[Path, Path]] = None) -> None:
        self.targets: List[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.closed = False
        self.context: Optional[ssl.SSLContext] = None
        if cert is not None:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(str(cert[0]), str(cert[1]))

    @property
    def url(self) -> str:
        return f"{'https' if self.context else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> ConnectProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True
        self.sock.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        if self.context is not None:
            try:
                client = self.context.wrap_socket(client, server_side=True)
            except (OSError, ssl.SSLError):
                client.close()
                return
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target = head.split(b" ", 2)[:2]
            if method != b"CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            self.targets.append(target.decode())
            host, _, port = target.decode().rpartition(":")
            try:
                upstream = socket.create_connection((host, int(port)), timeout=10)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with upstream:
                pump = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                pump.start()
                _pipe(client, upstream)
                pump.join(timeout=10)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


class Silent:
    """Accepts TCP connections on 127.0.0.1 and never says a word (no TLS handshake, no reply)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted: List[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> Silent:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
