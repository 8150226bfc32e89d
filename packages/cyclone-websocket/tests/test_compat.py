"""cyclone 1.3's WebSocket API on cyclone 2.

Handlers written as 1.3's demos wrote them (connectionMade, messageReceived, sendMessage,
connectionLost, forbidConnection, self.ws_protocol, self.transport) are served over loopback
to the `websockets` library's client, an implementation independent of ours, run in a
thread; `cyclone.websocket.compat`'s classes are also checked over a StringTransport.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, threads
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.testing import StringTransport
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as websockets_connect

from cyclone.routing import Router
from cyclone.testing import Client
from cyclone.websocket import (
    FrameDecodeError,
    Hixie76FrameDecoder,
    WebSocketHandler,
    WebSocketProtocol,
    WebSocketProtocol17,
    WebSocketProtocol76,
)
from cyclone.websocket.frames import (
    BinaryMessage,
    FrameDecoder,
    FrameEncoder,
    Role,
    TextMessage,
)

#: Seconds the client thread waits for any one frame before failing the test.
RECEIVE_TIMEOUT = 10


class ChatRoomHandler(WebSocketHandler):
    """1.3 code: the room comes from the URL, replies go out with sendMessage."""

    def connectionMade(self, room: str) -> None:
        self.room = room
        self.kinds = (
            isinstance(self.ws_protocol, WebSocketProtocol),
            isinstance(self.ws_protocol, WebSocketProtocol17),
            isinstance(self.ws_protocol, WebSocketProtocol76),
        )
        self.sendMessage({"joined": room, "peer": self.transport.getPeer().host})

    def messageReceived(self, message: str | bytes) -> None:
        if message == "kinds":
            self.sendMessage(json.dumps(self.kinds))
        elif message == "raw":
            self.ws_protocol.sendMessage(b"straight to the protocol")
        elif message == "who":
            self.ws_protocol.sendMessage(self.ws_protocol.request.path)
        elif message == "quit":
            self.forbidConnection("you asked to leave")
        elif message == "drop":
            self.transport.loseConnection()
        else:
            self.sendMessage(f"{self.room}: {message}")

    def connectionLost(self, reason: Any) -> None:
        self.settings["lost"].callback((reason, self.close_code))


class PushOnlyHandler(WebSocketHandler):
    """1.3 code that only pushes: it never defined messageReceived."""

    def connectionMade(self) -> None:
        self.sendMessage("news")

    def connectionLost(self, reason: Any) -> None:
        self.settings["lost"].callback((reason, self.close_code))


@pytest.fixture
def serve() -> Iterator[Callable[[], tuple[str, defer.Deferred[Any]]]]:
    ports = []

    def start() -> tuple[str, defer.Deferred[Any]]:
        lost: defer.Deferred[Any] = defer.Deferred()
        app = Router([(r"/room/(\w+)", ChatRoomHandler), (r"/push", PushOnlyHandler)], lost=lost)
        port = reactor.listenTCP(0, app, interface="127.0.0.1")
        ports.append(port)
        return f"ws://127.0.0.1:{port.getHost().port}", lost

    yield start
    for port in ports:
        port.stopListening()


def in_client_thread(url: str, talk: Callable[[ClientConnection], Any]) -> defer.Deferred[Any]:
    """Run ``talk`` with a `websockets` connection to ``url`` in a thread, off the reactor."""

    def run() -> Any:
        with websockets_connect(url, proxy=None, compression=None) as websocket:
            return talk(websocket)

    return threads.deferToThread(run)


def receive(websocket: ClientConnection) -> str | bytes:
    return websocket.recv(timeout=RECEIVE_TIMEOUT)


def closed_with(websocket: ClientConnection) -> tuple[int, str] | None:
    try:
        websocket.recv(timeout=RECEIVE_TIMEOUT)
    except ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else None
    raise AssertionError("the server did not close the connection")


@pytest_twisted.ensureDeferred
async def test_a_13_chat_handler_talks_to_an_independent_client(serve: Any) -> None:
    base, lost = serve()

    def talk(websocket: ClientConnection) -> list[Any]:
        said = [receive(websocket)]
        for message in ("hello", "kinds", "raw", "who"):
            websocket.send(message)
            said.append(receive(websocket))
        websocket.send("quit")
        said.append(closed_with(websocket))
        return said

    joined, hello, kinds, raw, who, close = await in_client_thread(f"{base}/room/lobby", talk)
    assert json.loads(joined) == {"joined": "lobby", "peer": "127.0.0.1"}
    assert hello == "lobby: hello"
    assert json.loads(kinds) == [True, True, False]
    assert raw == "straight to the protocol"  # a text frame, as 1.x's protocol sent bytes
    assert who == "/room/lobby"
    assert close == (1008, "you asked to leave")
    reason, code = await lost
    assert reason.check(ConnectionDone, ConnectionLost)
    assert code == 1008


@pytest_twisted.ensureDeferred
async def test_13_transport_lose_connection_drops_the_socket_without_a_close_frame(
    serve: Any,
) -> None:
    base, lost = serve()

    def talk(websocket: ClientConnection) -> Any:
        receive(websocket)
        websocket.send("drop")
        return closed_with(websocket)

    assert await in_client_thread(f"{base}/room/lobby", talk) is None
    reason, code = await lost
    assert reason.check(ConnectionDone, ConnectionLost)
    assert code == 1006


@pytest_twisted.ensureDeferred
async def test_a_13_handler_without_message_received_ignores_messages_and_stays_open(
    serve: Any,
) -> None:
    base, lost = serve()

    def talk(websocket: ClientConnection) -> str | bytes:
        news = receive(websocket)
        websocket.send("nobody reads this")
        # The Pong comes after the server has handled the message before it.
        assert websocket.ping(b"still there?").wait(RECEIVE_TIMEOUT)
        return news

    assert await in_client_thread(f"{base}/push", talk) == "news"
    _, code = await lost
    assert code == 1000  # the client's close, not 1011 for an unhandled message


@pytest_twisted.ensureDeferred
async def test_a_hixie_76_handshake_is_answered_426_with_the_version_we_speak() -> None:
    response = await Client(Router([(r"/push", PushOnlyHandler)])).get(
        "/push",
        headers={
            "Upgrade": "WebSocket",
            "Connection": "Upgrade",
            "Origin": "http://127.0.0.1",
            "Sec-WebSocket-Key1": "4 @1  46546xW%0l 1 5",
            "Sec-WebSocket-Key2": "12998 5 Y3 1  .P00",
        },
    )
    assert response.code == 426
    assert response.headers["Sec-WebSocket-Version"] == "13"


class WatchedHandler(WebSocketHandler):
    """1.3 code that cleans up when notifyFinish fires (1.3 registered it in __init__)."""

    def initialize(self, events: list[str], closed: defer.Deferred[list[str]]) -> None:
        self.events = events
        self.notifyFinish().addCallback(lambda _: events.append("finished (registered early)"))

    def connectionMade(self) -> None:
        self.events.append("open")
        self.notifyFinish().addCallback(self._cleanup)

    def _cleanup(self, value: Any) -> None:
        self.events.append(f"finished with {value!r}")
        self.events.append(f"a later call fired at once: {self.notifyFinish().called}")
        self.settings["closed"].callback(list(self.events))

    def messageReceived(self, message: str | bytes) -> None:
        self.sendMessage(json.dumps(self.events))


@pytest_twisted.ensureDeferred
async def test_notify_finish_fires_when_the_websocket_closes_not_at_the_upgrade() -> None:
    events: list[str] = []
    closed: defer.Deferred[list[str]] = defer.Deferred()
    app = Router(
        [(r"/watch", WatchedHandler, {"events": events, "closed": closed})], closed=closed
    )
    port = reactor.listenTCP(0, app, interface="127.0.0.1")
    try:

        def talk(websocket: ClientConnection) -> Any:
            websocket.send("what happened so far?")
            return json.loads(receive(websocket))

        url = f"ws://127.0.0.1:{port.getHost().port}/watch"
        assert await in_client_thread(url, talk) == ["open"]
        assert await closed == [
            "open",
            "finished (registered early)",
            "finished with None",
            "a later call fired at once: True",
        ]
    finally:
        await port.stopListening()


@pytest_twisted.ensureDeferred
async def test_notify_finish_fires_when_a_refused_handshake_is_answered() -> None:
    events: list[str] = []
    closed: defer.Deferred[list[str]] = defer.Deferred()
    app = Router([(r"/watch", WatchedHandler, {"events": events, "closed": closed})])
    response = await Client(app).get("/watch")  # no Upgrade header
    assert response.code == 400
    assert events == ["finished (registered early)"]


# -- cyclone.websocket.compat's classes ----------------------------------------------


class _Request:
    path = "/ws"


class _Handler:
    """Stands in for the handler: records what the protocol delivers."""

    request = _Request()

    def __init__(self) -> None:
        self.messages: list[str | bytes] = []

    def _ws_message(self, message: str | bytes) -> None:
        self.messages.append(message)

    def _ws_ping(self, payload: bytes) -> None:
        pass

    def _ws_pong(self, payload: bytes) -> None:
        pass

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        pass


def protocol_17() -> tuple[WebSocketProtocol17, _Handler, StringTransport]:
    handler = _Handler()
    protocol = WebSocketProtocol17(Role.SERVER, handler, max_message_size=1 << 20)
    transport = StringTransport()
    protocol.makeConnection(transport)
    return protocol, handler, transport


def test_protocol_17_names_its_handler_and_request() -> None:
    protocol, handler, _ = protocol_17()
    assert protocol.handler is handler
    assert protocol.request is handler.request


def test_protocol_17_raw_data_received_decodes_frames_like_data_received() -> None:
    protocol, handler, _ = protocol_17()
    protocol.rawDataReceived(FrameEncoder(Role.CLIENT).message("κόσμε"))
    assert handler.messages == ["κόσμε"]


@pytest.mark.parametrize(
    ("message", "code", "expected"),
    [
        ("text", 0x81, TextMessage("text")),
        (b"utf-8 \xe2\x9c\x93", 0x81, TextMessage("utf-8 ✓")),
        (b"\x00\xff", 0x82, BinaryMessage(b"\x00\xff")),
        ("as binary", 0x82, BinaryMessage(b"as binary")),
    ],
)
def test_protocol_17_send_message_writes_one_frame_of_the_kind_code_names(
    message: str | bytes, code: int, expected: object
) -> None:
    protocol, _, transport = protocol_17()
    protocol.sendMessage(message, code)
    assert FrameDecoder(Role.CLIENT).feed(transport.value()) == [expected]


def test_protocol_17_send_message_sends_text_by_default() -> None:
    protocol, _, transport = protocol_17()
    protocol.sendMessage(b"bytes as 1.x sent them")
    assert FrameDecoder(Role.CLIENT).feed(transport.value()) == [
        TextMessage("bytes as 1.x sent them")
    ]


def test_protocol_17_refuses_text_that_is_not_utf8_and_control_codes() -> None:
    protocol, _, transport = protocol_17()
    with pytest.raises(UnicodeDecodeError):
        protocol.sendMessage(b"\xff\xfe")
    with pytest.raises(ValueError, match=r"sendMessage code 0x89: .* use ping\(\) or close\(\)"):
        protocol.sendMessage(b"ping?", 0x89)
    assert transport.value() == b""


def test_hixie_76_classes_load_and_subclass_but_refuse_to_be_built() -> None:
    class Custom76(WebSocketProtocol76):  # 1.x code that subclassed it still imports
        pass

    assert issubclass(WebSocketProtocol76, WebSocketProtocol)
    assert issubclass(FrameDecodeError, Exception)
    for build in (lambda: WebSocketProtocol76(None), Hixie76FrameDecoder, Custom76):
        with pytest.raises(NotImplementedError, match="Hixie-76 .* replaced by RFC 6455"):
            build()


def test_hixie_76_error_names_the_class_that_was_built() -> None:
    with pytest.raises(NotImplementedError, match="^Hixie76FrameDecoder: "):
        Hixie76FrameDecoder()
