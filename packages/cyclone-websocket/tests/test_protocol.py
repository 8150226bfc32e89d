"""The Twisted adapter (cyclone.websocket._protocol) over StringTransport and a fake clock:
closing handshake, timeouts, protocol errors and write backpressure, deterministically."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer, task
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from cyclone.websocket._protocol import WRITE_OVERHEAD, WebSocketProtocol
from cyclone.websocket.frames import (
    BinaryMessage,
    Close,
    FrameDecoder,
    FrameEncoder,
    Opcode,
    Ping,
    Pong,
    Role,
    TextMessage,
    encode_frame,
)


class Recorder:
    def __init__(self) -> None:
        self.messages: list[str | bytes] = []
        self.pongs: list[bytes] = []
        self.closed: tuple[int | None, str | None] | None = None
        self.reply: Any = None

    def _ws_message(self, message: str | bytes) -> Any:
        self.messages.append(message)
        return self.reply

    def _ws_ping(self, payload: bytes) -> None:
        pass

    def _ws_pong(self, payload: bytes) -> None:
        self.pongs.append(payload)

    def _ws_closed(self, code: int | None, reason: str | None) -> None:
        self.closed = (code, reason)


class Transport(StringTransport):
    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    def abortConnection(self) -> None:
        self.aborted = True
        self.loseConnection()


def server(**options: Any) -> tuple[WebSocketProtocol, Recorder, Transport, task.Clock]:
    clock = task.Clock()
    recorder = Recorder()
    options.setdefault("max_message_size", 1 << 20)
    protocol = WebSocketProtocol(Role.SERVER, recorder, clock=clock, **options)
    transport = Transport()
    protocol.makeConnection(transport)
    return protocol, recorder, transport, clock


def sent(transport: Transport) -> list[object]:
    return FrameDecoder(Role.CLIENT).feed(transport.value())


client = FrameEncoder(Role.CLIENT)


def lose(protocol: WebSocketProtocol) -> None:
    protocol.connectionLost(Failure(ConnectionError("gone")))


def test_messages_reach_the_delegate_and_pings_are_answered() -> None:
    protocol, recorder, transport, _ = server()
    protocol.dataReceived(client.message("hi") + client.ping(b"p") + client.message(b"\x01"))
    assert recorder.messages == ["hi", b"\x01"]
    assert sent(transport) == [Pong(b"p")]


def test_peer_close_is_echoed_and_the_server_drops_tcp() -> None:
    protocol, recorder, transport, _ = server()
    protocol.dataReceived(client.close(4000, "bye"))
    assert sent(transport) == [Close(4000, "")]
    assert transport.disconnecting
    lose(protocol)
    assert recorder.closed == (4000, "bye")


def test_our_close_aborts_when_the_peer_never_answers() -> None:
    protocol, recorder, transport, clock = server(close_timeout=5)
    protocol.close(1001, "going")
    assert sent(transport) == [Close(1001, "going")]
    assert not transport.disconnecting
    clock.advance(5)
    assert transport.aborted
    lose(protocol)
    assert recorder.closed == (1006, None)


def test_close_timeout_is_cancelled_when_tcp_closes_in_time() -> None:
    protocol, _, transport, clock = server(close_timeout=5)
    protocol.close()
    protocol.dataReceived(client.close(1000))
    lose(protocol)
    clock.advance(10)
    assert not transport.aborted
    assert clock.getDelayedCalls() == []


def test_protocol_error_sends_the_close_code_then_drops_the_connection() -> None:
    protocol, recorder, transport, clock = server()
    protocol.dataReceived(encode_frame(Opcode.TEXT, b"unmasked"))
    [close] = sent(transport)
    assert isinstance(close, Close) and close.code == 1002
    assert transport.disconnecting
    clock.advance(10)
    assert transport.aborted  # the peer did not let go: abort after the close timeout
    lose(protocol)
    assert recorder.closed is not None and recorder.closed[0] == 1002


def test_invalid_utf8_closes_with_1007() -> None:
    protocol, _, transport, _ = server()
    protocol.dataReceived(encode_frame(Opcode.TEXT, b"\xff", mask=True))
    [close] = sent(transport)
    assert isinstance(close, Close) and close.code == 1007


def test_write_returns_a_fired_deferred_while_the_transport_keeps_up() -> None:
    protocol, _, transport, _ = server()
    done = protocol.send_message("hello")
    assert done.called
    assert sent(transport) == [TextMessage("hello")]


def test_write_waits_for_the_transport_to_drain_when_it_is_full() -> None:
    protocol, _, _, _ = server()
    protocol.pauseProducing()  # what the transport calls past its high-water mark
    waiting = protocol.send_message(b"x" * 10)
    assert not waiting.called
    protocol.resumeProducing()
    assert waiting.called


def test_a_peer_that_does_not_read_is_dropped_past_max_buffer_size() -> None:
    protocol, recorder, transport, _ = server(max_buffer_size=1000)
    protocol.pauseProducing()
    for _ in range(20):
        if protocol.closing:
            break
        protocol.send_message(b"x" * 100)
    assert transport.aborted
    lose(protocol)
    assert recorder.closed == (1008, "send buffer overflow")


def test_pings_while_the_peer_is_not_reading_get_one_pong_for_the_latest() -> None:
    # RFC 6455 §5.5.3: only the most recent Ping needs an answer.
    protocol, _, transport, _ = server()
    protocol.pauseProducing()
    protocol.dataReceived(b"".join(client.ping(b"%d" % index) for index in range(1000)))
    assert transport.value() == b""
    protocol.resumeProducing()
    assert sent(transport) == [Pong(b"999")]


def test_each_ping_is_answered_while_the_peer_reads() -> None:
    protocol, _, transport, _ = server()
    protocol.dataReceived(client.ping(b"1") + client.ping(b"2") + client.message("x"))
    assert sent(transport) == [Pong(b"1"), Pong(b"2")]


def test_frames_answering_one_read_go_out_as_one_write_in_order() -> None:
    protocol, recorder, transport, _ = server()
    writes: list[bytes] = []
    transport.write = writes.append  # type: ignore[method-assign]
    recorder.reply = None
    original = recorder._ws_message

    def echo(message: str | bytes) -> Any:
        original(message)
        return protocol.send_message(message)

    recorder._ws_message = echo  # type: ignore[method-assign]
    protocol.dataReceived(client.ping(b"a") + client.message("one") + client.ping(b"b"))
    [write] = writes
    assert FrameDecoder(Role.CLIENT).feed(write) == [Pong(b"a"), TextMessage("one"), Pong(b"b")]


def test_pings_cannot_push_the_queue_past_max_buffer_size() -> None:
    protocol, _, transport, _ = server(max_buffer_size=1000)
    protocol.pauseProducing()
    for _ in range(100):
        protocol.dataReceived(client.ping(b"p" * 125))
    assert not transport.aborted


def test_close_and_ping_frames_count_against_max_buffer_size() -> None:
    protocol, recorder, transport, _ = server(max_buffer_size=200)
    protocol.pauseProducing()
    protocol.ping(b"x" * 60)  # 62 bytes + WRITE_OVERHEAD
    assert not transport.aborted
    protocol.close(1000, "r" * 60)
    assert transport.aborted
    lose(protocol)
    assert recorder.closed == (1008, "send buffer overflow")


def test_tiny_frames_count_with_their_per_write_overhead() -> None:
    protocol, _, transport, _ = server(max_buffer_size=WRITE_OVERHEAD * 10)
    protocol.pauseProducing()
    for _ in range(9):
        protocol.send_message(b"x")
    assert not transport.aborted
    protocol.send_message(b"x")
    assert transport.aborted


def test_reading_waits_for_open_to_finish() -> None:
    opened: defer.Deferred[None] = defer.Deferred()
    protocol, recorder, transport, _ = server(deliver_after=opened)
    assert transport.producerState == "paused"
    opened.callback(None)
    assert transport.producerState == "producing"


def test_reading_pauses_while_an_async_message_callback_runs() -> None:
    protocol, recorder, transport, _ = server()
    recorder.reply = defer.Deferred()
    protocol.dataReceived(client.message("one") + client.message("two"))
    assert recorder.messages == ["one"]
    assert transport.producerState == "paused"
    first, recorder.reply = recorder.reply, None
    first.callback(None)
    assert recorder.messages == ["one", "two"]
    assert transport.producerState == "producing"


def test_keepalive_pings_and_drops_a_silent_peer() -> None:
    protocol, recorder, transport, clock = server(ping_interval=10, ping_timeout=3)
    clock.advance(10)
    [ping] = sent(transport)
    assert isinstance(ping, Ping)
    clock.advance(3)
    assert transport.aborted
    lose(protocol)
    assert recorder.closed == (1001, "ping timeout")


def test_keepalive_pong_keeps_the_connection() -> None:
    protocol, recorder, transport, clock = server(ping_interval=10, ping_timeout=3)
    for _ in range(5):
        clock.advance(10)
        protocol.dataReceived(client.pong(b"any"))
        clock.advance(3)
    assert not transport.aborted
    assert len(recorder.pongs) == 5


def test_messages_wait_for_the_open_gate() -> None:
    opened: defer.Deferred[None] = defer.Deferred()
    protocol, recorder, _, _ = server(deliver_after=opened)
    protocol.dataReceived(client.message(b"early"))
    assert recorder.messages == []
    opened.callback(None)
    assert recorder.messages == [b"early"]


def test_client_role_masks_and_accepts_unmasked_frames() -> None:
    recorder = Recorder()
    protocol = WebSocketProtocol(Role.CLIENT, recorder, max_message_size=None, clock=task.Clock())
    transport = Transport()
    protocol.makeConnection(transport)
    protocol.send_message(b"abc")
    assert FrameDecoder(Role.SERVER).feed(transport.value()) == [BinaryMessage(b"abc")]
    protocol.dataReceived(FrameEncoder(Role.SERVER).message("from server"))
    assert recorder.messages == ["from server"]
