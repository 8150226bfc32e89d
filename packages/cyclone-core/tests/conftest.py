"""Shared helpers for cyclone-core's end-to-end tests: a raw HTTP client and a listener."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from twisted.internet import defer, protocol, reactor

from cyclone.httputil import HTTPHeaders

#: Seconds a test waits for bytes before failing instead of hanging.
WAIT_TIMEOUT = 10.0


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: HTTPHeaders
    body: bytes = b""
    chunked: bool = False
    raw_body: bytes = field(default=b"", repr=False)


def parse_responses(
    data: bytes, head_requests: int = 0, closed: bool = False
) -> tuple[list[RawResponse], bytes]:
    """Split ``data`` into complete responses and the leftover bytes.

    The first ``head_requests`` final responses carry no body (answers to HEAD).
    A response without length or chunking runs to the end of the connection and
    is complete only when ``closed``.
    """
    responses: list[RawResponse] = []
    rest = data
    while rest:
        end = rest.find(b"\r\n\r\n")
        if end == -1:
            break
        lines = rest[:end].decode("latin-1").split("\r\n")
        _, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        headers = HTTPHeaders()
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.add(name, value.strip())
        body_start = end + 4
        code = int(status)
        if code < 200 or code in (204, 304):
            responses.append(RawResponse(code, reason, headers))
            rest = rest[body_start:]
            continue
        final_index = sum(1 for r in responses if r.status >= 200)
        if final_index < head_requests:
            responses.append(RawResponse(code, reason, headers))
            rest = rest[body_start:]
            continue
        if headers.get("Transfer-Encoding", "").lower() == "chunked":
            position = body_start
            body = b""
            complete = False
            while True:
                line_end = rest.find(b"\r\n", position)
                if line_end == -1:
                    break
                size = int(rest[position:line_end].split(b";")[0], 16)
                if size == 0:
                    trailer_end = rest.find(b"\r\n", line_end + 2)
                    if trailer_end == -1:
                        break
                    position = trailer_end + 2
                    complete = True
                    break
                if len(rest) < line_end + 2 + size + 2:
                    break
                body += rest[line_end + 2 : line_end + 2 + size]
                position = line_end + 2 + size + 2
            if not complete:
                break
            responses.append(
                RawResponse(code, reason, headers, body, True, rest[body_start:position])
            )
            rest = rest[position:]
        elif "Content-Length" in headers:
            length = int(headers["Content-Length"])
            if len(rest) < body_start + length:
                break
            body = rest[body_start : body_start + length]
            responses.append(RawResponse(code, reason, headers, body, raw_body=body))
            rest = rest[body_start + length :]
        else:
            if not closed:
                break
            body = rest[body_start:]
            responses.append(RawResponse(code, reason, headers, body, raw_body=body))
            rest = b""
    return responses, rest


class RawClient(protocol.Protocol):
    """A client that sends raw bytes and lets a test wait for what comes back."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.is_closed = False
        self.closed: defer.Deferred[None] = defer.Deferred()
        self._waiters: list[tuple[Callable[[], bool], defer.Deferred[None]]] = []
        self.head_requests = 0

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        self._check()

    def connectionLost(self, reason: object = None) -> None:
        self.is_closed = True
        self._check()
        waiters, self._waiters = self._waiters, []
        for _, waiter in waiters:
            waiter.errback(AssertionError(f"connection closed; received {bytes(self.data)!r}"))
        self.closed.callback(None)

    def send(self, data: bytes) -> None:
        self.transport.write(data)

    def _check(self) -> None:
        remaining = []
        for predicate, waiter in self._waiters:
            if predicate():
                waiter.callback(None)
            else:
                remaining.append((predicate, waiter))
        self._waiters = remaining

    def wait_until(self, predicate: Callable[[], bool]) -> defer.Deferred[None]:
        if predicate():
            return defer.succeed(None)
        if self.is_closed:
            return defer.fail(AssertionError(f"connection closed; received {bytes(self.data)!r}"))
        waiter: defer.Deferred[None] = defer.Deferred()
        self._waiters.append((predicate, waiter))
        waiter.addTimeout(WAIT_TIMEOUT, reactor)
        return waiter

    def responses(self) -> list[RawResponse]:
        return parse_responses(bytes(self.data), self.head_requests, self.is_closed)[0]

    async def wait_responses(self, count: int) -> list[RawResponse]:
        await self.wait_until(lambda: len(self.responses()) >= count)
        return self.responses()

    async def wait_closed(self) -> None:
        if not self.is_closed:
            self.closed.addTimeout(WAIT_TIMEOUT, reactor)
            await self.closed


class Listener:
    """Starts servers on loopback and connects raw clients to them; cleans up after."""

    def __init__(self) -> None:
        self.ports: list = []
        self.clients: list[RawClient] = []

    def listen(self, factory: protocol.ServerFactory) -> int:
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.ports.append(port)
        return port.getHost().port

    async def connect(self, port: int) -> RawClient:
        creator = protocol.ClientCreator(reactor, RawClient)
        client = await creator.connectTCP("127.0.0.1", port)
        self.clients.append(client)
        return client

    async def connect_endpoint(self, endpoint) -> RawClient:
        """Connect a raw client through any Twisted client endpoint (TLS, unix...)."""
        client = await endpoint.connect(protocol.Factory.forProtocol(RawClient))
        self.clients.append(client)
        return client

    def track(self, port) -> None:
        """Stop listening on ``port`` (from listenSSL, an endpoint...) after the test."""
        self.ports.append(port)

    def close(self) -> None:
        for client in self.clients:
            if not client.is_closed:
                client.transport.abortConnection()
        for port in self.ports:
            port.stopListening()


@pytest.fixture
def listener() -> Iterator[Listener]:
    helper = Listener()
    try:
        yield helper
    finally:
        helper.close()


# -- a server in a subprocess, for what only the kernel can tell (fds, socket states) ------------

#: /proc/net/tcp's code for a socket whose peer closed while it stays open.
TCP_CLOSE_WAIT = "08"


class HostileServerProcess:
    """Runs hostile_server.py with the given application settings; see that file for its URLs."""

    def __init__(self, settings: dict) -> None:
        import json
        import pathlib
        import subprocess
        import sys

        script = pathlib.Path(__file__).with_name("hostile_server.py")
        self.process = subprocess.Popen(
            [sys.executable, str(script), json.dumps(settings)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        ports = json.loads(self.process.stdout.readline() or "{}")
        if "port" not in ports:
            self.process.kill()
            raise RuntimeError(f"the server process did not start: {self.process.wait()}")
        self.port: int = ports["port"]
        self.control_port: int = ports["control"]
        self.pid = self.process.pid

    def control(self, command: str) -> dict:
        """Send ``GET /command`` to the control port and return its JSON answer, if any."""
        import json
        import socket

        with socket.create_connection(("127.0.0.1", self.control_port), WAIT_TIMEOUT) as sock:
            sock.sendall(
                f"GET /{command} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
            )
            data = read_until_closed(sock)
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head
        return json.loads(body) if body else {}

    def open_fds(self) -> int:
        import os

        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def sockets_in_close_wait(self) -> int:
        """Server-side sockets of the main port whose client has closed (IPv4 loopback)."""
        with open("/proc/net/tcp") as table:
            rows = [line.split() for line in table.readlines()[1:]]
        local_port = f"{self.port:04X}"
        return sum(
            1 for row in rows if row[1].endswith(":" + local_port) and row[3] == TCP_CLOSE_WAIT
        )

    def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> bool:
        """Poll ``predicate`` until it holds or ``timeout`` passes; return its last value."""
        import time

        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return predicate()
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()


def read_until_closed(sock) -> bytes:
    """Everything a blocking socket receives until the peer closes it."""
    chunks = []
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@pytest.fixture
def server_process() -> Iterator[Callable[..., HostileServerProcess]]:
    """Start hostile_server.py processes (``server_process(**settings)``); killed after the test."""
    started: list[HostileServerProcess] = []

    def start(**settings) -> HostileServerProcess:
        server = HostileServerProcess(settings)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


@pytest.fixture
def logged_events() -> Iterator[list[dict]]:
    """Every event logged through twisted.logger while the test runs."""
    from twisted.logger import globalLogPublisher

    events: list[dict] = []
    globalLogPublisher.addObserver(events.append)
    try:
        yield events
    finally:
        globalLogPublisher.removeObserver(events.append)


@pytest.fixture
def tls_certificate():
    """A self-signed certificate and key for ``localhost`` (a twisted.internet.ssl.PrivateCertificate)."""
    return self_signed_certificate("localhost")


@pytest.fixture
def client_certificate():
    """A self-signed certificate and key a TLS client presents (CN ``client one``)."""
    return self_signed_certificate("client one")


def self_signed_certificate(common_name):
    """A twisted.internet.ssl.PrivateCertificate for ``common_name``, valid from yesterday to tomorrow."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from twisted.internet import ssl

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + certificate.public_bytes(serialization.Encoding.PEM)
    return ssl.PrivateCertificate.loadPEM(pem)
