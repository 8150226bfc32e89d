"""cyclone.websocket.client.connect over loopback: handshake checks, TLS, callback mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, ssl, task
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from cyclone.routing import Router
from cyclone.websocket import WebSocketHandler
from cyclone.websocket._protocol import WebSocketProtocol
from cyclone.websocket.client import (
    QUEUED_MESSAGE_OVERHEAD,
    WebSocketClientConnection,
    WebSocketHandshakeError,
    connect,
)
from cyclone.websocket.frames import FrameEncoder, Role, accept_key


class Echo(WebSocketHandler):
    def on_message(self, message: str | bytes) -> Any:
        return self.write_message(message, binary=isinstance(message, bytes))


class _CannedServer(protocol.Protocol):
    """Answers any request with a fixed response head."""

    response = b""

    def dataReceived(self, data: bytes) -> None:
        if b"\r\n\r\n" in data:
            self.transport.write(self.response)


@pytest.fixture
def listen() -> Iterator[Callable[[Any], int]]:
    ports = []

    def start(factory: Any, tls: Any = None) -> int:
        if tls is None:
            port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        else:
            port = reactor.listenSSL(0, factory, tls, interface="127.0.0.1")
        ports.append(port)
        return port.getHost().port

    yield start
    for port in ports:
        port.stopListening()


def _self_signed() -> ssl.PrivateCertificate:
    """A throwaway certificate for 127.0.0.1 (the client skips verification)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + certificate.public_bytes(serialization.Encoding.PEM)
    return ssl.PrivateCertificate.loadPEM(pem)


def canned(response: bytes) -> protocol.ServerFactory:
    factory = protocol.ServerFactory()
    factory.protocol = type("Canned", (_CannedServer,), {"response": response})
    return factory


@pytest_twisted.ensureDeferred
async def test_unknown_path_fails_with_the_http_status(listen: Callable[..., int]) -> None:
    port = listen(Router([(r"/ws", Echo)]))
    with pytest.raises(WebSocketHandshakeError) as caught:
        await connect(f"ws://127.0.0.1:{port}/nowhere")
    assert caught.value.code == 404


@pytest_twisted.ensureDeferred
async def test_wrong_accept_key_fails_the_handshake(listen: Callable[..., int]) -> None:
    port = listen(
        canned(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: bogus\r\n\r\n"
        )
    )
    with pytest.raises(WebSocketHandshakeError, match="Sec-WebSocket-Accept"):
        await connect(f"ws://127.0.0.1:{port}/")


@pytest_twisted.ensureDeferred
async def test_refused_connection_fails_the_deferred() -> None:
    port = reactor.listenTCP(0, canned(b""), interface="127.0.0.1")
    number = port.getHost().port
    await port.stopListening()
    with pytest.raises(ConnectionRefusedError):
        await connect(f"ws://127.0.0.1:{number}/")


def test_non_websocket_url_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="ws://"):
        connect("http://127.0.0.1/")


@pytest_twisted.ensureDeferred
async def test_connecting_logs_no_starting_or_stopping_factory_lines(
    listen: Callable[..., int],
) -> None:
    from twisted.logger import formatEvent, globalLogPublisher

    lines: list[str] = []

    def observer(event: dict[str, Any]) -> None:
        lines.append(formatEvent(event))

    port = listen(Router([(r"/ws", Echo)]))
    globalLogPublisher.addObserver(observer)
    try:
        connection = await connect(f"ws://127.0.0.1:{port}/ws")
        await connection.write_message("quiet")
        assert await connection.read_message() == "quiet"
        connection.close()
        await connection.wait_closed()
    finally:
        globalLogPublisher.removeObserver(observer)
    assert not [line for line in lines if "factory" in line.lower()], lines


@pytest_twisted.ensureDeferred
async def test_wss_connects_over_tls(listen: Callable[..., int]) -> None:
    port = listen(Router([(r"/ws", Echo)]), _self_signed().options())
    connection = await connect(
        f"wss://127.0.0.1:{port}/ws", ssl_options=ssl.CertificateOptions(verify=False)
    )
    await connection.write_message("over tls")
    assert await connection.read_message() == "over tls"
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_on_message_callback_receives_messages_then_none(
    listen: Callable[..., int],
) -> None:
    port = listen(Router([(r"/ws", Echo)]))
    received: list[str | bytes | None] = []
    finished: defer.Deferred[None] = defer.Deferred()

    def on_message(message: str | bytes | None) -> None:
        received.append(message)
        if message is None:
            finished.callback(None)

    connection = await connect(f"ws://127.0.0.1:{port}/ws", on_message_callback=on_message)
    await connection.write_message("a")
    await connection.write_message(b"b", binary=True)
    while len(received) < 2:
        await task.deferLater(reactor, 0.001, lambda: None)
    connection.close()
    await finished
    assert received == ["a", b"b", None]


@pytest_twisted.ensureDeferred
async def test_read_message_after_close_returns_none(listen: Callable[..., int]) -> None:
    port = listen(Router([(r"/ws", Echo)]))
    connection = await connect(f"ws://127.0.0.1:{port}/ws")
    connection.close(1000, "done")
    await connection.wait_closed()
    assert await connection.read_message() is None
    assert connection.close_code == 1000


# -- the unread-message queue, over a StringTransport ------------------------------------


def _client_connection(max_unread: int) -> tuple[WebSocketClientConnection, StringTransport]:
    connection = WebSocketClientConnection(None, max_unread)
    connection.protocol = WebSocketProtocol(
        Role.CLIENT, connection, max_message_size=None, clock=task.Clock()
    )
    transport = StringTransport()
    connection.protocol.makeConnection(transport)
    return connection, transport


_server = FrameEncoder(Role.SERVER)


def test_reading_pauses_once_unread_messages_pass_max_unread_and_resumes_on_read() -> None:
    connection, transport = _client_connection(max_unread=100 + QUEUED_MESSAGE_OVERHEAD)
    assert connection.protocol is not None
    connection.protocol.dataReceived(b"".join(_server.message(b"%d" % i * 100) for i in range(3)))
    assert transport.producerState == "paused"
    assert len(connection._messages) == 2  # the second passed the bound; the third waits
    assert connection.read_message().result == b"0" * 100
    assert transport.producerState == "paused"  # the third arrived and passed it again
    assert connection.read_message().result == b"1" * 100
    assert transport.producerState == "producing"
    assert connection.read_message().result == b"2" * 100


def test_close_keeps_reading_and_discards_what_passes_max_unread() -> None:
    connection, transport = _client_connection(max_unread=100 + QUEUED_MESSAGE_OVERHEAD)
    protocol = connection.protocol
    assert protocol is not None
    protocol.dataReceived(_server.message(b"a" * 100) + _server.message(b"b" * 100))
    assert transport.producerState == "paused"
    connection.close()
    assert transport.producerState == "producing"
    protocol.dataReceived(_server.message(b"c" * 100) + _server.close(1000))
    assert protocol.close_code == 1000  # the closing handshake completed
    protocol.connectionLost(Failure(ConnectionDone()))
    assert [connection.read_message().result for _ in range(3)] == [b"a" * 100, b"b" * 100, None]


class _UpgradingServer(protocol.Protocol):
    """Answers the handshake with a proper 101 plus ``extra`` header lines; keeps the request."""

    extra = b""
    requests: list[bytes]

    def dataReceived(self, data: bytes) -> None:
        self.requests.append(data)
        key = next(
            line.partition(b":")[2].strip()
            for line in data.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept_key(key).encode() + b"\r\n" + self.extra + b"\r\n"
        )


def upgrading(extra: bytes = b"") -> tuple[protocol.ServerFactory, list[bytes]]:
    requests: list[bytes] = []
    factory = protocol.ServerFactory()
    factory.protocol = type(
        "Upgrading", (_UpgradingServer,), {"extra": extra, "requests": requests}
    )
    return factory, requests


@pytest_twisted.ensureDeferred
async def test_handshake_request_names_the_resource_host_offers_and_extra_headers(
    listen: Callable[..., int],
) -> None:
    factory, requests = upgrading(b"Sec-WebSocket-Protocol: chat.v2\r\n")
    port = listen(factory)
    connection = await connect(
        f"ws://127.0.0.1:{port}/rooms/1?since=5",
        headers=[("Cookie", "user=ana"), ("X-Trace", "7")],
        subprotocols=["chat.v1", "chat.v2"],
        compression_options={},
    )
    head = requests[0].decode("latin-1").split("\r\n")
    assert head[0] == "GET /rooms/1?since=5 HTTP/1.1"
    lines = set(head[1:])
    assert {
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: chat.v1, chat.v2",
        "Cookie: user=ana",
        "X-Trace: 7",
    } <= lines
    assert any(line.startswith("Sec-WebSocket-Extensions: permessage-deflate") for line in lines)
    assert connection.selected_subprotocol == "chat.v2"
    assert connection.response_headers["sec-websocket-protocol"] == "chat.v2"
    assert connection.extensions is None
    connection.protocol.transport.loseConnection()


@pytest.mark.parametrize(
    ("response", "why"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "not an HTTP response"),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
            "missing Upgrade: websocket",
        ),
        (
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
            "missing Connection: Upgrade",
        ),
    ],
)
@pytest_twisted.ensureDeferred
async def test_a_response_that_does_not_upgrade_fails_the_handshake(
    listen: Callable[..., int], response: bytes, why: str
) -> None:
    port = listen(canned(response))
    with pytest.raises(WebSocketHandshakeError, match=why):
        await connect(f"ws://127.0.0.1:{port}/")


@pytest.mark.parametrize(
    ("extra", "subprotocols", "compression", "why"),
    [
        (b"Sec-WebSocket-Protocol: other\r\n", ["chat"], None, "subprotocol we did not offer"),
        (b"Sec-WebSocket-Protocol: chat\r\n", None, None, "subprotocol we did not offer"),
        (
            b"Sec-WebSocket-Extensions: permessage-deflate\r\n",
            None,
            None,
            "extensions we did not offer",
        ),
        (
            b"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7\r\n",
            None,
            {},
            "server_max_window_bits",
        ),
    ],
)
@pytest_twisted.ensureDeferred
async def test_a_server_accepting_what_we_did_not_offer_fails_the_handshake(
    listen: Callable[..., int],
    extra: bytes,
    subprotocols: list[str] | None,
    compression: dict[str, Any] | None,
    why: str,
) -> None:
    factory, _ = upgrading(extra)
    port = listen(factory)
    with pytest.raises(WebSocketHandshakeError, match=why) as caught:
        await connect(
            f"ws://127.0.0.1:{port}/", subprotocols=subprotocols, compression_options=compression
        )
    assert caught.value.code == 101
