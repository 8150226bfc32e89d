"""WebSocketHandler end to end: our client against handlers served by cyclone.routing.Router
over real loopback sockets (and a fake clock for the keepalive)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, task
from twisted.internet.error import ConnectionDone

from cyclone.routing import Router
from cyclone.testing import Client
from cyclone.websocket import WebSocketHandler
from cyclone.websocket.client import WebSocketHandshakeError, connect
from cyclone.websocket.frames import FrameDecoder, FrameEncoder, Ping, Role

closed_handlers: list[WebSocketHandler] = []


class EchoHandler(WebSocketHandler):
    def on_message(self, message: str | bytes) -> Any:
        return self.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        closed_handlers.append(self)
        self.application.settings.get("closed", defer.Deferred()).callback(self)


class JSONHandler(WebSocketHandler):
    def on_message(self, message: str | bytes) -> None:
        self.write_message({"got": message})


class CloseWithCodeHandler(WebSocketHandler):
    def open(self) -> None:
        self.close(4001, "go away")


class SubprotocolHandler(WebSocketHandler):
    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "superchat" if "superchat" in subprotocols else None

    def open(self) -> None:
        self.write_message(str(self.selected_subprotocol))


class CompressedEchoHandler(EchoHandler):
    def get_compression_options(self) -> dict[str, Any]:
        return {"compression_level": 9}


class InitializeHandler(WebSocketHandler):
    def initialize(self, greeting: str) -> None:
        self.greeting = greeting

    def open(self, name: str) -> None:
        self.write_message(f"{self.greeting}, {name}")


class SlowOpenHandler(WebSocketHandler):
    async def open(self) -> None:
        await task.deferLater(reactor, 0.01, lambda: None)
        self.ready = True

    async def on_message(self, message: str | bytes) -> None:
        await task.deferLater(reactor, 0, lambda: None)
        await self.write_message(f"{self.ready}:{message}")


class PingHandler(WebSocketHandler):
    def on_message(self, message: str | bytes) -> None:
        self.ping(b"are you there")

    def on_pong(self, data: bytes) -> None:
        self.write_message(b"pong:" + data, binary=True)


class OldCycloneHandler(WebSocketHandler):
    """The cyclone 1.x spelling, as the old demos use it."""

    def headersReceived(self) -> None:
        if self.get_argument("token", None) == "bad":
            self.forbidConnection("bad token")

    def connectionMade(self, *args: Any, **kwargs: Any) -> None:
        self.sendMessage("connected")

    def messageReceived(self, message: str | bytes) -> None:
        self.sendMessage(message.encode() if isinstance(message, str) else message)

    def connectionLost(self, reason: Any) -> None:
        self.application.settings["lost"].callback([reason])


def make_app(**settings: Any) -> Router:
    return Router(
        [
            (r"/echo", EchoHandler),
            (r"/json", JSONHandler),
            (r"/close", CloseWithCodeHandler),
            (r"/subprotocol", SubprotocolHandler),
            (r"/compressed", CompressedEchoHandler),
            (r"/hello/(\w+)", InitializeHandler, {"greeting": "hello"}),
            (r"/slow", SlowOpenHandler),
            (r"/ping", PingHandler),
            (r"/old", OldCycloneHandler),
        ],
        **settings,
    )


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    ports = []

    def start(**settings: Any) -> str:
        port = reactor.listenTCP(0, make_app(**settings), interface="127.0.0.1")
        ports.append(port)
        return f"ws://127.0.0.1:{port.getHost().port}"

    yield start
    for port in ports:
        port.stopListening()


@pytest.fixture
def base(serve: Callable[..., str]) -> str:
    return serve()


@pytest_twisted.ensureDeferred
async def test_text_message_is_echoed(base: str) -> None:
    connection = await connect(f"{base}/echo")
    await connection.write_message("hello, κόσμε")
    assert await connection.read_message() == "hello, κόσμε"
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_binary_message_is_echoed_as_binary(base: str) -> None:
    connection = await connect(f"{base}/echo")
    payload = os.urandom(100_000)
    await connection.write_message(payload, binary=True)
    assert await connection.read_message() == payload
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_dicts_are_sent_as_json(base: str) -> None:
    connection = await connect(f"{base}/json")
    await connection.write_message("x")
    assert json.loads(await connection.read_message()) == {"got": "x"}
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_dicts_holding_bytes_are_sent_as_json_text_as_cyclone_1x_did(base: str) -> None:
    connection = await connect(f"{base}/json")
    await connection.write_message("caf\u00e9".encode(), binary=True)
    assert json.loads(await connection.read_message()) == {"got": "caf\u00e9"}
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_client_close_code_and_reason_reach_on_close(serve: Callable[..., str]) -> None:
    closed: defer.Deferred[WebSocketHandler] = defer.Deferred()
    base = serve(closed=closed)
    connection = await connect(f"{base}/echo")
    connection.close(4000, "client done")
    handler = await closed
    await connection.wait_closed()
    assert (handler.close_code, handler.close_reason) == (4000, "client done")
    assert connection.close_code == 4000


@pytest_twisted.ensureDeferred
async def test_server_close_code_and_reason_reach_the_client(base: str) -> None:
    connection = await connect(f"{base}/close")
    assert await connection.read_message() is None
    assert (connection.close_code, connection.close_reason) == (4001, "go away")


@pytest_twisted.ensureDeferred
async def test_cross_origin_upgrade_gets_403(base: str) -> None:
    with pytest.raises(WebSocketHandshakeError) as caught:
        await connect(f"{base}/echo", headers={"Origin": "http://evil.example"})
    assert caught.value.code == 403


@pytest_twisted.ensureDeferred
async def test_same_origin_upgrade_is_accepted(base: str) -> None:
    host = base.removeprefix("ws://")
    connection = await connect(f"{base}/echo", headers={"Origin": f"http://{host}"})
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_plain_get_on_a_websocket_url_gets_400() -> None:
    response = await Client(make_app()).get("/echo")
    assert response.code == 400
    assert b"Upgrade" in response.body


@pytest_twisted.ensureDeferred
async def test_wrong_websocket_version_gets_426_naming_version_13() -> None:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "8",
    }
    response = await Client(make_app()).get("/echo", headers=headers)
    assert response.code == 426
    assert response.headers["Sec-WebSocket-Version"] == "13"


@pytest_twisted.ensureDeferred
async def test_subprotocol_is_selected_from_the_client_list(base: str) -> None:
    connection = await connect(f"{base}/subprotocol", subprotocols=["chat", "superchat"])
    assert connection.selected_subprotocol == "superchat"
    assert await connection.read_message() == "superchat"
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_no_subprotocol_when_none_is_acceptable(base: str) -> None:
    connection = await connect(f"{base}/subprotocol", subprotocols=["mqtt"])
    assert connection.selected_subprotocol is None
    assert await connection.read_message() == "None"
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_compression_is_negotiated_when_the_handler_enables_it(base: str) -> None:
    connection = await connect(f"{base}/compressed", compression_options={})
    assert connection.extensions == "permessage-deflate"
    for text in ["compress me " * 100, "compress me " * 100, "short"]:
        await connection.write_message(text)
        assert await connection.read_message() == text
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_compression_is_off_unless_the_handler_enables_it(base: str) -> None:
    connection = await connect(f"{base}/echo", compression_options={})
    assert connection.extensions is None
    await connection.write_message("plain")
    assert await connection.read_message() == "plain"
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_message_over_max_message_size_closes_with_1009(
    serve: Callable[..., str],
) -> None:
    base = serve(websocket_max_message_size=1000)
    connection = await connect(f"{base}/echo")
    await connection.write_message("x" * 1000)
    assert await connection.read_message() == "x" * 1000
    await connection.write_message("x" * 1001)
    assert await connection.read_message() is None
    assert connection.close_code == 1009


@pytest_twisted.ensureDeferred
async def test_compressed_message_over_max_message_size_closes_with_1009(
    serve: Callable[..., str],
) -> None:
    base = serve(websocket_max_message_size=10_000)
    connection = await connect(f"{base}/compressed", compression_options={})
    await connection.write_message("\x00" * 1_000_000)
    assert await connection.read_message() is None
    assert connection.close_code == 1009


@pytest_twisted.ensureDeferred
async def test_initialize_kwargs_and_path_arguments_reach_open(base: str) -> None:
    connection = await connect(f"{base}/hello/world")
    assert await connection.read_message() == "hello, world"
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_async_open_finishes_before_messages_are_delivered_in_order(base: str) -> None:
    connection = await connect(f"{base}/slow")
    for number in range(5):
        connection.write_message(str(number))
    assert [await connection.read_message() for _ in range(5)] == [f"True:{n}" for n in range(5)]
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_server_ping_is_answered_and_reaches_on_pong(base: str) -> None:
    connection = await connect(f"{base}/ping")
    await connection.write_message("ping me")
    assert await connection.read_message() == b"pong:are you there"
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_old_cyclone_api_names_work(serve: Callable[..., str]) -> None:
    lost: defer.Deferred[Any] = defer.Deferred()
    base = serve(lost=lost)
    connection = await connect(f"{base}/old")
    assert await connection.read_message() == "connected"
    await connection.sendMessage("as bytes")
    assert await connection.read_message() == b"as bytes"
    connection.close()
    [reason] = await lost
    assert reason.check(ConnectionDone)


@pytest_twisted.ensureDeferred
async def test_forbid_connection_answers_403_with_the_message(base: str) -> None:
    response = await Client(make_app()).get(
        "/old?token=bad",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Version": "13",
        },
    )
    assert response.code == 403
    assert response.body == b"bad token"


@pytest_twisted.ensureDeferred
async def test_write_after_close_raises(serve: Callable[..., str]) -> None:
    closed: defer.Deferred[WebSocketHandler] = defer.Deferred()
    base = serve(closed=closed)
    connection = await connect(f"{base}/echo")
    connection.close()
    handler = await closed
    from cyclone.websocket import WebSocketClosedError

    with pytest.raises(WebSocketClosedError):
        handler.write_message("too late")


class _SilentPeer(protocol.Protocol):
    """A client that completes the handshake and then never answers anything."""

    def __init__(self) -> None:
        self.received = b""
        self.lost: defer.Deferred[None] = defer.Deferred()

    def connectionMade(self) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write(
            (
                "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Any = None) -> None:
        self.lost.callback(None)


@pytest_twisted.ensureDeferred
async def test_ping_timeout_drops_a_dead_peer(serve: Callable[..., str]) -> None:
    clock = task.Clock()
    closed: defer.Deferred[WebSocketHandler] = defer.Deferred()
    base = serve(
        websocket_ping_interval=10,
        websocket_ping_timeout=5,
        websocket_clock=clock,
        closed=closed,
    )
    port = int(base.rsplit(":", 1)[1])
    peer = _SilentPeer()
    await protocol.ClientCreator(reactor, lambda: peer).connectTCP("127.0.0.1", port)
    while b"\r\n\r\n" not in peer.received:
        await task.deferLater(reactor, 0.001, lambda: None)
    clock.advance(10)  # the server pings
    while len(peer.received.partition(b"\r\n\r\n")[2]) < 6:  # a Ping with 4 bytes
        await task.deferLater(reactor, 0.001, lambda: None)
    frames = FrameDecoder(Role.CLIENT).feed(peer.received.partition(b"\r\n\r\n")[2])
    assert isinstance(frames[0], Ping)
    clock.advance(5)  # and gives up waiting for the pong
    handler = await closed
    await peer.lost
    assert (handler.close_code, handler.close_reason) == (1001, "ping timeout")


@pytest_twisted.ensureDeferred
async def test_live_peer_survives_keepalive_pings(serve: Callable[..., str]) -> None:
    clock = task.Clock()
    base = serve(websocket_ping_interval=10, websocket_ping_timeout=5, websocket_clock=clock)
    connection = await connect(f"{base}/echo")
    for _ in range(3):
        clock.advance(10)
        # Two round trips: the first passes the Ping to the client, whose Pong then
        # reaches the server before the second message does.
        for text in ("one", "two"):
            await connection.write_message(text)
            assert await connection.read_message() == text
        clock.advance(5)
    await connection.write_message("alive")
    assert await connection.read_message() == "alive"
    connection.close()
    await connection.wait_closed()
    assert connection.close_code == 1005


@pytest_twisted.ensureDeferred
async def test_unmasked_client_frame_fails_the_connection_with_1002(base: str) -> None:
    connection = await connect(f"{base}/echo")
    assert connection.protocol is not None
    connection.protocol.transport.write(FrameEncoder(Role.SERVER).message("unmasked"))
    assert await connection.read_message() is None
    assert connection.close_code == 1002


@pytest_twisted.ensureDeferred
async def test_messages_before_a_protocol_error_still_reach_a_peer_that_keeps_sending(
    base: str,
) -> None:
    # The server half-closes and keeps reading: a full close while we still send would
    # answer with a RST that can wipe the echo and the Close frame on our side.
    connection = await connect(f"{base}/echo")
    transport = connection.protocol.transport
    encoder = FrameEncoder(Role.CLIENT)
    transport.write(encoder.message("before") + b"\xc1\x80" + b"\x00" * 4)
    for _ in range(20):
        transport.write(encoder.message("x" * 1000))
    assert await connection.read_message() == "before"
    assert await connection.read_message() is None
    assert connection.close_code == 1002


@pytest_twisted.ensureDeferred
async def test_graceful_shutdown_closes_open_websockets_with_1001():
    from cyclone import deploy

    closed = defer.Deferred()

    class Watched(WebSocketHandler):
        def on_close(self):
            closed.callback((self.close_code, self.close_reason))

    port = reactor.listenTCP(0, Router([(r"/ws", Watched)]), interface="127.0.0.1")
    try:
        connection = await connect(f"ws://127.0.0.1:{port.getHost().port}/ws")
        await deploy.run_shutdown_hooks(5.0)
        code, _ = await closed.addTimeout(5, reactor)
        assert code == 1001
        assert await connection.read_message() is None
        assert connection.close_code == 1001
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_select_subprotocol_picking_what_the_client_did_not_offer_is_a_500() -> None:
    class Confused(WebSocketHandler):
        def select_subprotocol(self, subprotocols: list[str]) -> str | None:
            return "not-offered"

    port = reactor.listenTCP(0, Router([(r"/ws", Confused)]), interface="127.0.0.1")
    try:
        with pytest.raises(WebSocketHandshakeError) as caught:
            await connect(f"ws://127.0.0.1:{port.getHost().port}/ws", subprotocols=["chat"])
        assert caught.value.code == 500
    finally:
        await port.stopListening()


# -- on Twisted's asyncio reactor (a server in a subprocess) -------------------------------


@pytest.fixture(scope="module")
def asyncio_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from websocket_asyncio_server import asyncio_server

    with asyncio_server(tmp_path_factory.mktemp("ws-asyncio")) as port:
        yield port


@pytest_twisted.ensureDeferred
async def test_open_and_on_message_await_asyncio_and_deferreds(asyncio_port: int) -> None:
    connection = await connect(f"ws://127.0.0.1:{asyncio_port}/ws")
    try:
        assert await connection.read_message() == "hello from a task: True"
        await connection.write_message("shout")
        assert await connection.read_message() == "SHOUT"
    finally:
        connection.close()
        await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_a_vanished_peer_cancels_a_running_on_message_after_on_close(
    asyncio_port: int,
) -> None:
    from twisted.internet import threads
    from websocket_asyncio_server import events, wait_for_event

    connection = await connect(f"ws://127.0.0.1:{asyncio_port}/ws")
    assert await connection.read_message() == "hello from a task: True"
    before = len(await threads.deferToThread(events, asyncio_port))
    await connection.write_message("hang")
    await threads.deferToThread(wait_for_event, asyncio_port, "on_message started")
    connection.protocol.transport.abortConnection()  # gone without a closing handshake
    seen = await threads.deferToThread(wait_for_event, asyncio_port, "on_message CancelledError")
    assert seen[before:] == ["on_message started", "on_close", "on_message CancelledError"]
