"""An HTTP/1.1 client on the standard library's sockets, for one request to addresses already checked.

Why not requests/urllib3: they parse the URL text again (a second parser may find another host),
resolve the name again when they connect (a second DNS answer may differ from the one checked: DNS
rebinding), and their timeouts bound each socket operation, not the request, so a server that sends
one byte every few seconds keeps a request alive as long as it likes. Here:

* the engine hands over a parsed :class:`~.url.Url` and a :class:`~.transport.Route` of addresses it
  has checked; the client connects to those addresses and to nothing else;
* TLS is verified against the URL's host name (SNI and certificate check), through a CONNECT tunnel
  too, where it runs inside the tunnel (TLS inside TLS for an ``https://`` proxy);
* one wall-clock deadline bounds the whole call: name resolution, connecting, handshakes, writing the
  request, reading the reply. Every socket wait is set to the time left, never to a fresh timeout;
* the reply is read as a stream: the status line and headers within fixed limits, the body up to the
  kept size, after which the connection is closed, not drained. One request per connection.
"""

from __future__ import annotations

import functools
import re
import socket
import ssl
import threading
import time
from typing import Callable, Dict, List, Optional, Protocol, Tuple, TypeVar, Union

from .transport import SPLUNKD_BODY_KEPT, WEBHOOK_BODY_KEPT, HttpResponse, Route, TransportError
from .url import Url, parse_url

BLOCK = 64 * 1024
MAX_LINE = 8 * 1024
MAX_HEAD = 64 * 1024
MAX_HEADERS = 100
MAX_INTERIM = 5
USER_AGENT = "guardrail_notify/1"
# Set by the client itself; a caller passing one of these is a bug, not something to merge.
OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding"})

_STATUS = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?:[ \t][^\r\n]*)?\r?\n\Z")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n]*)?\r?\n\Z")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*\Z")
_LENGTH = re.compile(r"[0-9]{1,18}\Z")

T = TypeVar("T")


class _Deadline:
    """One wall-clock deadline for a whole call (monotonic clock)."""

    def __init__(self, timeout: float) -> None:
        self.at = time.monotonic() + timeout

    def left(self) -> float:
        """Seconds left; raises TransportError("timeout") once there are none."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise TransportError("timeout")
        return left


class _Stream(Protocol):
    def recv(self, size: int) -> bytes: ...

    def sendall(self, data: bytes) -> None: ...


class _SocketStream:
    """A connected TCP socket whose every wait ends at the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self.sock = sock
        self.deadline = deadline

    def recv(self, size: int) -> bytes:
        self.sock.settimeout(self.deadline.left())
        try:
            return self.sock.recv(size)
        except socket.timeout:
            raise TransportError("timeout") from None
        except OSError:
            raise TransportError("connection") from None

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):
            self.sock.settimeout(self.deadline.left())
            try:
                sent = self.sock.send(view)
            except socket.timeout:
                raise TransportError("timeout") from None
            except OSError:
                raise TransportError("connection") from None
            view = view[sent:]

    def close(self) -> None:
        self.sock.close()


class _TlsStream:
    """TLS over any stream, through memory buffers: every byte on the wire passes the inner stream's
    deadline-bound ``recv``/``sendall``, and the same code runs TLS inside a proxy's TLS tunnel."""

    def __init__(self, inner: _Stream, context: ssl.SSLContext, hostname: str) -> None:
        self.inner = inner
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        # server_hostname drives both SNI and the certificate check (IP literals match IP SANs).
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=hostname)
        try:
            self._run(self.tls.do_handshake)
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            raise TransportError("connection") from None
        except ssl.SSLError:
            raise TransportError("tls") from None

    def _run(self, operation: Callable[[], T]) -> T:
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                self._flush()
                data = self.inner.recv(BLOCK)
                if data:
                    self.incoming.write(data)
                else:
                    self.incoming.write_eof()
                continue
            self._flush()
            return result

    def _flush(self) -> None:
        pending = self.outgoing.read()
        if pending:
            self.inner.sendall(pending)

    def recv(self, size: int) -> bytes:
        try:
            return self._run(functools.partial(self.tls.read, size))
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            return b""  # many servers close without close_notify; the framing says if data is missing
        except ssl.SSLError:
            raise TransportError("connection") from None

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):
            try:
                written = self._run(functools.partial(self.tls.write, view))
            except ssl.SSLError:
                raise TransportError("connection") from None
            view = view[written:]


class _Reader:
    """Buffered reads for the line-based parts of HTTP; also a stream (a CONNECT reply's leftovers
    belong to the tunnel)."""

    def __init__(self, stream: _Stream) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.stream.recv(BLOCK)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def line(self, limit: int) -> bytes:
        """One line with its newline; what is left at EOF (maybe ``b""``); "protocol" past ``limit``."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                if end + 1 > limit:
                    raise TransportError("protocol")
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > limit:
                raise TransportError("protocol")
            if not self._fill():
                line = bytes(self.buffer)
                self.buffer.clear()
                return line

    def read(self, size: int) -> bytes:
        """At most ``size`` bytes; ``b""`` at EOF."""
        if not self.buffer and not self._fill():
            return b""
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def recv(self, size: int) -> bytes:
        return self.read(size)

    def sendall(self, data: bytes) -> None:
        self.stream.sendall(data)


def _read_headers(reader: _Reader) -> Tuple[Dict[str, str], bool]:
    """Header fields (first of each name wins) and whether the block ended properly."""
    headers: Dict[str, str] = {}
    size = 0
    try:
        for _ in range(MAX_HEADERS + 1):
            line = reader.line(MAX_LINE)
            size += len(line)
            if line in (b"\r\n", b"\n"):
                return headers, True
            if not line or size > MAX_HEAD:
                return headers, False
            name, colon, value = line.decode("latin-1").partition(":")
            key = name.strip().lower()
            if colon and _TOKEN.match(key) and key not in headers:
                headers[key] = value.strip()
    except TransportError:
        pass
    return headers, False


def _read_head(reader: _Reader) -> Tuple[int, Dict[str, str], bool]:
    """Status, headers, and whether the header block was read whole.

    Until the status line is in, a timeout or a close is the attempt's failure. After it the server
    has answered: running out of time or limits only leaves the headers incomplete.
    """
    for _ in range(MAX_INTERIM + 1):
        line = reader.line(MAX_LINE)
        if not line:
            raise TransportError("connection")  # closed before answering
        match = _STATUS.match(line)
        if match is None:
            raise TransportError("protocol")
        status = int(match.group(1))
        headers, complete = _read_headers(reader)
        if 100 <= status < 200 and status != 101 and complete:
            continue  # an interim reply (100 Continue, 103 Early Hints): the real one follows
        return status, headers, complete
    raise TransportError("protocol")


def _read_body(reader: _Reader, headers: Dict[str, str], keep: int) -> Tuple[bytes, bool]:
    """The body up to ``keep`` bytes, and whether that is all of it. Stops at the limit, never drains."""
    body = bytearray()
    try:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                match = _CHUNK_SIZE.match(reader.line(MAX_LINE))
                if match is None:
                    return bytes(body), False
                size = int(match.group(1), 16)
                if size == 0:
                    return bytes(body), True  # trailers, if any, are not needed
                while size:
                    if len(body) >= keep:
                        return bytes(body), False
                    data = reader.read(min(size, keep - len(body)))
                    if not data:
                        return bytes(body), False
                    body += data
                    size -= len(data)
                if reader.line(MAX_LINE) not in (b"\r\n", b"\n"):
                    return bytes(body), False
        length = headers.get("content-length")
        if length is not None:
            if not _LENGTH.match(length):
                return bytes(body), False
            wanted = min(int(length), keep)
            while len(body) < wanted:
                data = reader.read(wanted - len(body))
                if not data:
                    return bytes(body), False
                body += data
            return bytes(body), int(length) <= keep
        while len(body) < keep:
            data = reader.read(keep - len(body))
            if not data:
                return bytes(body), True  # no framing: the body ends when the server closes
            body += data
        return bytes(body), False  # the kept size is reached; whatever follows is not waited for
    except TransportError:
        return bytes(body), False


def _encode_request(method: str, url: Url, headers: Dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {url.target} HTTP/1.1", f"Host: {url.host_header}"]
    for name, value in headers.items():
        # A header value with CR or LF would let stored text (a bearer token) add headers or requests.
        if not _TOKEN.match(name) or name.lower() in OWN_HEADERS or not _FIELD_VALUE.match(value):
            raise TransportError("request")
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    lines += ["Accept-Encoding: identity", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("ascii") + body


def _connect(route: Route, deadline: _Deadline) -> _SocketStream:
    """A TCP connection to the first of the route's addresses that answers; no name is resolved."""
    failure = "connection"
    for address in route.addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.left())
            sock.connect((address, route.port))
        except socket.timeout:
            sock.close()
            failure = "timeout"
            continue
        except OSError:
            sock.close()
            continue
        except TransportError:
            sock.close()
            raise
        return _SocketStream(sock, deadline)
    raise TransportError(failure)


class SocketClient:
    """:class:`~.transport.HttpClient` on sockets. ``cafile`` is the CA bundle that ``verify=True``
    means (the adapter passes the vendored certifi bundle); None means the system's CAs."""

    def __init__(self, cafile: Optional[str] = None) -> None:
        self.cafile = cafile

    def _context(self, verify: Union[bool, str]) -> ssl.SSLContext:
        if verify is False:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else self.cafile)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def resolve(self, host: str, port: int, timeout: float) -> Tuple[str, ...]:
        """One lookup, bounded by ``timeout`` (getaddrinfo has no timeout of its own: it runs in a
        daemon thread that is abandoned if it overruns)."""
        answers: List[Tuple[int, str]] = []
        failed: List[bool] = []

        def lookup() -> None:
            try:
                for family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
                    host, port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP
                ):
                    answers.append((int(family), str(sockaddr[0])))
            except (OSError, UnicodeError):
                failed.append(True)

        worker = threading.Thread(target=lookup, name="guardrail-notify-dns", daemon=True)
        worker.start()
        worker.join(max(0.0, timeout))
        if worker.is_alive():
            raise TransportError("timeout")
        found = [addr for family, addr in answers if family in (socket.AF_INET, socket.AF_INET6)]
        if failed or not found:
            raise TransportError("dns")
        return tuple(dict.fromkeys(found))

    def post(
        self, url: Url, route: Route, body: bytes, headers: Dict[str, str], timeout: float,
        verify: Union[bool, str],
    ) -> HttpResponse:
        return self._exchange("POST", url, route, headers, body, _Deadline(timeout), verify, WEBHOOK_BODY_KEPT)

    def get(
        self, url: str, headers: Dict[str, str], timeout: float, verify: Union[bool, str]
    ) -> HttpResponse:
        deadline = _Deadline(timeout)
        try:
            parsed = parse_url(url, "splunkd's URI", schemes=("https", "http"))
        except ValueError:
            raise TransportError("request") from None
        addresses = (parsed.ip,) if parsed.ip else self.resolve(parsed.host, parsed.port, deadline.left())
        route = Route(addresses, parsed.port)
        return self._exchange("GET", parsed, route, headers, b"", deadline, verify, SPLUNKD_BODY_KEPT)

    def _tunnel(self, raw: _Stream, proxy: Url, url: Url, verify: Union[bool, str]) -> _Stream:
        stream: _Stream = raw
        if proxy.scheme == "https":
            stream = _TlsStream(raw, self._context(verify), proxy.host)
        stream.sendall(
            f"CONNECT {url.authority} HTTP/1.1\r\nHost: {url.authority}\r\nUser-Agent: {USER_AGENT}\r\n\r\n"
            .encode("ascii")
        )
        reader = _Reader(stream)
        status, _headers, complete = _read_head(reader)
        if not 200 <= status < 300 or not complete:
            raise TransportError("connection" if status >= 500 else "proxy")
        return reader

    def _exchange(
        self, method: str, url: Url, route: Route, headers: Dict[str, str], body: bytes,
        deadline: _Deadline, verify: Union[bool, str], keep: int,
    ) -> HttpResponse:
        request = _encode_request(method, url, headers, body)
        raw = _connect(route, deadline)
        try:
            stream: _Stream = raw
            if route.proxy is not None:
                stream = self._tunnel(raw, route.proxy, url, verify)
            if url.scheme == "https":
                stream = _TlsStream(stream, self._context(verify), url.host)
            stream.sendall(request)
            reader = _Reader(stream)
            status, reply_headers, complete = _read_head(reader)
            data = b""
            if complete and status not in (204, 304) and not 100 <= status < 200:
                data, complete = _read_body(reader, reply_headers, keep)
            return HttpResponse(status, reply_headers, data.decode("utf-8", "replace"), complete)
        finally:
            raw.close()
