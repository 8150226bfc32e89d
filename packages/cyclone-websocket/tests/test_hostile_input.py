"""Hostile WebSocket peers against real loopback sockets.

Each test performs an attack with frames built by hand (a raw client, or a raw server for
`cyclone.websocket.client`) and asserts on what the victim holds: bytes queued in its
transport, memory its WebSocket code allocated while the attack was in flight (measured
with tracemalloc), or the close code it answered with. None of them depends on timing:
each waits for an event the victim must produce (an echo, a Pong, a Close).
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor, task

from cyclone.routing import Router
from cyclone.sse import SSEHandler
from cyclone.websocket import WebSocketHandler
from cyclone.websocket.client import connect
from cyclone.websocket.deflate import PerMessageDeflate
from cyclone.websocket.frames import (
    DEFAULT_MAX_MESSAGE_FRAGMENTS,
    Close,
    FrameDecoder,
    Pong,
    Role,
)

#: Twisted pauses a streaming producer once this many bytes are queued in its transport.
TWISTED_HIGH_WATER_MARK = 64 * 1024

#: Give up on an event the victim never produces (a hang guard, not an assertion).
HANG_GUARD_SECONDS = 60

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

#: SO_RCVBUF for the attackers' sockets and SO_SNDBUF for the victims' (Linux doubles it
#: and clamps it to a minimum): the kernels then absorb little of what the attacker doesn't
#: read, instead of the megabytes loopback autotuning allows, and the victim's transport
#: has to hold the rest.
SMALL_SOCKET_BUFFER = 4096


# -- frames, by hand (RFC 6455 §5.2) --------------------------------------------------


def frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False, masked: bool = True
) -> bytes:
    first = opcode | (0x80 if fin else 0) | (0x40 if rsv1 else 0)
    mask_bit = 0x80 if masked else 0
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, length)
    if not masked:
        return header + payload
    key = os.urandom(4)
    stream = (key * (length // 4 + 1))[:length]
    masked_payload = (
        (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(length, "big")
        if length
        else b""
    )
    return header + key + masked_payload


def ping(payload: bytes, *, masked: bool = True) -> bytes:
    return frame(0x9, payload, masked=masked)


def text(payload: bytes, *, masked: bool = True) -> bytes:
    return frame(0x1, payload, masked=masked)


def deflate_stream(data: bytes, *, level: int = 6, final_block: bool = False) -> bytes:
    """``data`` as raw DEFLATE, ended as permessage-deflate sends it (RFC 7692 §7.2.1)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    if final_block:
        return compressor.compress(data) + compressor.flush(zlib.Z_FINISH)
    compressed = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert compressed.endswith(b"\x00\x00\xff\xff")
    return compressed[:-4]


# -- victims ----------------------------------------------------------------------------


class Recorded(WebSocketHandler):
    """Echoes and waits for the socket to drain (the well-behaved handler)."""

    def check_origin(self, origin: str) -> bool:
        return True

    def open(self) -> None:
        self.settings["victims"].append(self)
        self.closed: defer.Deferred[WebSocketHandler] = defer.Deferred()
        self.received: list[str | bytes] = []
        self.waiting: list[tuple[Any, defer.Deferred[None]]] = []

    def on_message(self, message: str | bytes) -> Any:
        self.received.append(message)
        for expected, waiter in list(self.waiting):
            if message == expected:
                self.waiting.remove((expected, waiter))
                waiter.callback(None)
        return self.write_message(message, binary=isinstance(message, bytes))

    def wait_for_message(self, message: str | bytes) -> defer.Deferred[None]:
        waiter: defer.Deferred[None] = defer.Deferred()
        if message in self.received:
            waiter.callback(None)
        else:
            self.waiting.append((message, waiter))
        return waiter.addTimeout(HANG_GUARD_SECONDS, reactor)

    def on_close(self) -> None:
        connection = self.ws_connection
        assert connection is not None and connection.transport is not None
        self.queued_at_close = queued_memory(connection.transport)
        self.closed.callback(self)


class CompressedRecorded(Recorded):
    def get_compression_options(self) -> dict[str, Any]:
        return {}


class EchoIgnoringBackpressure(Recorded):
    """Echoes without waiting for the drain, as many handlers (and bench/ws_bench.py) do."""

    def on_message(self, message: str | bytes) -> None:
        super().on_message(message)


def queued_memory(transport: Any) -> int:
    """What a Twisted TCP transport holds for the peer: its bytes plus per-write bookkeeping.

    ``dataBuffer`` is the one joined bytes object being sent; ``_tempDataBuffer`` the list
    of writes since, each a separate bytes object (about 48 bytes of overhead apiece).
    """
    pending = transport._tempDataBuffer
    return (
        len(transport.dataBuffer)
        - transport.offset
        + sum(len(chunk) for chunk in pending)
        + 48 * len(pending)
    )


@pytest.fixture
def serve() -> Iterator[Callable[..., tuple[int, list[Recorded]]]]:
    ports = []

    def start(**settings: Any) -> tuple[int, list[Recorded]]:
        handlers: list[Recorded] = []
        application = Router(
            [
                (r"/echo", Recorded),
                (r"/compressed", CompressedRecorded),
                (r"/careless", EchoIgnoringBackpressure),
            ],
            victims=handlers,
            **settings,
        )
        port = reactor.listenTCP(0, application, interface="127.0.0.1")
        # Accepted sockets inherit the listening socket's buffer sizes.
        port.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_SOCKET_BUFFER)
        ports.append(port)
        return port.getHost().port, handlers

    yield start
    for port in ports:
        port.stopListening()


# -- the raw attacker ---------------------------------------------------------------------


class FrameWatcher(protocol.Protocol):
    """Collects the frames the other side sends so a test can wait for a given one."""

    decoder: FrameDecoder | None = None

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.waiters: list[tuple[Callable[[Any], bool], defer.Deferred[Any]]] = []
        self.lost: defer.Deferred[None] = defer.Deferred()

    def frames_received(self, data: bytes) -> None:
        assert self.decoder is not None
        self.events.extend(self.decoder.feed(data))
        for predicate, waiter in list(self.waiters):
            found = next((event for event in self.events if predicate(event)), None)
            if found is not None:
                self.waiters.remove((predicate, waiter))
                waiter.callback(found)

    def wait_for(self, predicate: Callable[[Any], bool]) -> defer.Deferred[Any]:
        waiter: defer.Deferred[Any] = defer.Deferred()
        found = next((event for event in self.events if predicate(event)), None)
        if found is not None:
            waiter.callback(found)
        else:
            self.waiters.append((predicate, waiter))
        return waiter.addTimeout(HANG_GUARD_SECONDS, reactor)

    def stop_reading(self) -> None:
        self.transport.pauseProducing()

    def resume_reading(self) -> None:
        self.transport.resumeProducing()

    def connectionLost(self, reason: Any = None) -> None:
        self.lost.callback(None)


class RawClient(FrameWatcher):
    """A WebSocket client written by hand: handshake, then whatever bytes a test writes.

    ``stop_reading`` makes it the peer that never reads.
    """

    def __init__(self, path: str, extensions: str | None) -> None:
        super().__init__()
        self.path = path
        self.extensions = extensions
        self.head = b""
        self.ready: defer.Deferred[bytes] = defer.Deferred()

    def connectionMade(self) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {self.path} HTTP/1.1",
            "Host: 127.0.0.1",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.extensions:
            lines.append(f"Sec-WebSocket-Extensions: {self.extensions}")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def dataReceived(self, data: bytes) -> None:
        if self.decoder is None:
            self.head += data
            head, separator, rest = self.head.partition(b"\r\n\r\n")
            if not separator:
                return
            assert head.startswith(b"HTTP/1.1 101 "), head
            extension = None
            if b"permessage-deflate" in head.lower():
                extension = PerMessageDeflate(Role.CLIENT)
            self.decoder = FrameDecoder(
                Role.CLIENT, max_message_size=None, max_message_fragments=None, extension=extension
            )
            self.ready.callback(head)
            data = rest
        self.frames_received(data)


async def attacker(port: int, path: str, extensions: str | None = None) -> RawClient:
    """Connect a RawClient whose socket has a small receive buffer, set before connecting
    (shrinking it later would shrink an advertised window, which stalls TCP): the kernels
    then absorb little of what it doesn't read, and the server's transport holds the rest.
    """
    client = RawClient(path, extensions)
    factory = protocol.Factory.forProtocol(lambda: client)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_SOCKET_BUFFER)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        reactor.adoptStreamConnection(sock.fileno(), socket.AF_INET, factory)
    await client.ready
    return client


def is_close(event: Any) -> bool:
    return isinstance(event, Close)


def close_or(payload: bytes) -> Callable[[Any], bool]:
    """A Close, or the Pong answering our marker Ping (the server survived the attack)."""
    return lambda event: is_close(event) or (isinstance(event, Pong) and event.payload == payload)


# -- fault 2: ping floods ---------------------------------------------------------------


PINGS = 100_000


def ping_payload(index: int) -> bytes:
    return str(index).encode().rjust(125, b".")


@pytest_twisted.ensureDeferred
async def test_ping_flood_from_a_client_that_never_reads_queues_no_pongs(serve) -> None:
    # 100,000 pings of 125 bytes ask for 12.7 MB of pongs; before the fix every one was
    # queued in the transport (RSS +425 MB in 30 s in the original report).
    port, handlers = serve()
    client = await attacker(port, "/echo")
    [handler] = handlers
    client.stop_reading()
    client.transport.write(b"".join(ping(ping_payload(index)) for index in range(PINGS)))
    client.transport.write(text(b"all pings sent"))
    await handler.wait_for_message("all pings sent")

    connection = handler.ws_connection
    assert connection is not None and not connection.closed
    held = queued_memory(connection.transport)
    # At most what Twisted holds before pausing us, one read's worth of pongs written as
    # one batch, the echo, and the one owed pong.
    assert held <= 2 * TWISTED_HIGH_WATER_MARK + 1024, held

    # Once the client reads again it gets the answer to its latest ping (RFC 6455 §5.5.3).
    client.resume_reading()
    latest = ping_payload(PINGS - 1)
    await client.wait_for(lambda event: isinstance(event, Pong) and event.payload == latest)
    client.transport.loseConnection()
    await handler.closed


class HostileServer(FrameWatcher):
    """A server that accepts the upgrade, stops reading and sends ``attack`` (unmasked)."""

    def __init__(self, ready: defer.Deferred[Any], attack: bytes) -> None:
        super().__init__()
        self.buffer = b""
        self.ready = ready
        self.attack = attack

    def dataReceived(self, data: bytes) -> None:
        if self.decoder is not None:
            self.frames_received(data)
            return
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer:
            return
        key = next(
            line.split(b":", 1)[1].strip()
            for line in self.buffer.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.decoder = FrameDecoder(Role.SERVER, max_message_size=None)
        self.stop_reading()
        self.transport.write(self.attack)
        self.ready.callback(self)


@pytest.fixture
def hostile_server() -> Iterator[Callable[[bytes], tuple[str, defer.Deferred[HostileServer]]]]:
    ports = []

    def start(attack: bytes) -> tuple[str, defer.Deferred[HostileServer]]:
        ready: defer.Deferred[HostileServer] = defer.Deferred()
        factory = protocol.ServerFactory()
        factory.buildProtocol = lambda addr: HostileServer(ready, attack)  # type: ignore[method-assign]
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        port.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_SOCKET_BUFFER)
        ports.append(port)
        return f"ws://127.0.0.1:{port.getHost().port}/", ready

    yield start
    for port in ports:
        port.stopListening()


@pytest_twisted.ensureDeferred
async def test_ping_flood_against_the_client_queues_no_pongs(hostile_server) -> None:
    url, ready = hostile_server(
        b"".join(ping(ping_payload(index), masked=False) for index in range(PINGS))
        + text(b"all pings sent", masked=False)
    )
    connection = await connect(url)
    assert connection.protocol is not None
    connection.protocol.transport.getHandle().setsockopt(
        socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_SOCKET_BUFFER
    )
    server = await ready
    assert await connection.read_message() == "all pings sent"
    held = queued_memory(connection.protocol.transport)
    assert held <= 2 * TWISTED_HIGH_WATER_MARK + 1024, held

    server.resume_reading()
    latest = ping_payload(PINGS - 1)
    await server.wait_for(lambda event: isinstance(event, Pong) and event.payload == latest)
    connection.close()
    await connection.wait_closed()


@pytest_twisted.ensureDeferred
async def test_frames_queued_for_a_client_that_never_reads_are_bounded_with_their_overhead(
    serve,
) -> None:
    # A handler that ignores write_message's Deferred echoes 1-byte messages to a client
    # that never reads: 3-byte frames cost 16 times their length in Twisted's write list,
    # so the bound must count that overhead or it bounds nothing.
    limit = 256 * 1024
    port, handlers = serve(websocket_max_buffer_size=limit)
    client = await attacker(port, "/careless")
    [handler] = handlers
    client.stop_reading()
    client.transport.write(b"".join(text(b"x") for _ in range(150_000)))
    client.transport.write(text(b"all sent"))
    closed = await handler.closed.addTimeout(HANG_GUARD_SECONDS, reactor)
    assert closed.close_code == 1008
    assert closed.close_reason == "send buffer overflow"
    # Before the fix 3-byte frames were counted as 3 bytes: 5.6 MB were queued when the
    # 256 KiB limit tripped. Now they count with their overhead (and the echoes of one
    # read go out as one write): at most Twisted's 64 KiB (with up to 16 times that in
    # per-write overhead, the worst case for 3-byte writes) and `limit` more.
    assert handler.queued_at_close <= limit + 20 * TWISTED_HIGH_WATER_MARK, handler.queued_at_close


async def until(condition: Callable[[], bool]) -> None:
    """Wait, a reactor turn at a time, until ``condition()`` holds (hang-guarded)."""
    deadline = reactor.seconds() + HANG_GUARD_SECONDS
    while not condition():
        assert reactor.seconds() < deadline, "the condition never came true"
        await task.deferLater(reactor, 0)


@pytest_twisted.ensureDeferred
async def test_client_that_does_not_read_its_messages_stops_reading_the_server(
    hostile_server,
) -> None:
    # Before the fix the client queued everything the server sent for read_message().
    count, size, limit = 40, 1024 * 1024, 4 * 1024 * 1024
    messages = [bytes([index]) * size for index in range(count)]
    url, ready = hostile_server(b"".join(frame(0x2, m, masked=False) for m in messages))
    connection = await connect(url, max_message_size=limit)
    server = await ready
    assert connection.protocol is not None
    transport = connection.protocol.transport

    def unread() -> int:
        return sum(len(message) for message in connection._messages)

    await until(lambda: unread() == count * size or transport not in reactor.getReaders())
    assert unread() <= limit + size

    received = [await connection.read_message() for _ in range(count)]
    assert received == messages
    server.transport.loseConnection()
    await connection.wait_closed()


# -- fault 3: fragment floods ---------------------------------------------------------


async def held_while_fragments_arrive(client: RawClient, fragments: bytes) -> int:
    """What the server holds once it has read ``fragments`` (a message without its FIN).

    Measured with tracemalloc over the whole process: the attack bytes are built before
    tracing starts and fully sent (the server read them) when the marker Pong arrives.
    """
    marker = ping(b"sync")
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        client.transport.write(fragments)
        client.transport.write(marker)
        await client.wait_for(close_or(b"sync"))
        after, _ = tracemalloc.get_traced_memory()
        return after - before
    finally:
        tracemalloc.stop()


@pytest_twisted.ensureDeferred
async def test_two_byte_text_fragments_cost_about_their_payload(serve) -> None:
    # Before the fix each fragment became a str in a list: about 60 bytes of memory for
    # each 2-byte fragment. (2 bytes, because CPython caches 1-character strings.)
    port, handlers = serve()
    client = await attacker(port, "/echo")
    count = 50_000
    fragments = frame(0x1, b"ab", fin=False) + b"".join(
        frame(0x0, b"ab", fin=False) for _ in range(count - 1)
    )
    held = await held_while_fragments_arrive(client, fragments)
    assert not any(is_close(event) for event in client.events)
    assert held <= 2 * (2 * count) + 256 * 1024, held

    client.transport.write(frame(0x0, b"!", fin=True))
    [handler] = handlers
    await handler.wait_for_message("ab" * count + "!")


@pytest_twisted.ensureDeferred
async def test_two_byte_compressed_fragments_cost_about_their_payload(serve) -> None:
    # The permessage-deflate path: each 2-byte fragment of stored (level 0) DEFLATE data
    # inflates to about two bytes, and must not cost a list entry either.
    port, handlers = serve()
    client = await attacker(port, "/compressed", "permessage-deflate")
    count = 50_000
    payload = os.urandom(2 * count)
    compressed = deflate_stream(payload, level=0)
    pieces = [compressed[index : index + 2] for index in range(0, len(compressed), 2)]
    fragments = frame(0x2, pieces[0], fin=False, rsv1=True) + b"".join(
        frame(0x0, piece, fin=False) for piece in pieces[1:]
    )
    held = await held_while_fragments_arrive(client, fragments)
    assert not any(is_close(event) for event in client.events)
    assert held <= 2 * len(payload) + 256 * 1024, held

    client.transport.write(frame(0x0, b"", fin=True))
    [handler] = handlers
    await handler.wait_for_message(payload)


@pytest_twisted.ensureDeferred
async def test_empty_continuation_flood_closes_with_1009_past_the_fragment_limit(serve) -> None:
    # Zero-length fragments never grow the message, so max_message_size never stops them.
    port, _ = serve()
    client = await attacker(port, "/echo")
    client.transport.write(
        frame(0x1, b"a", fin=False)
        + frame(0x0, b"", fin=False) * DEFAULT_MAX_MESSAGE_FRAGMENTS
        + ping(b"survived")
    )
    event = await client.wait_for(close_or(b"survived"))
    assert isinstance(event, Close) and event.code == 1009
    await client.lost


@pytest_twisted.ensureDeferred
async def test_client_closes_with_1009_on_a_server_fragment_flood(hostile_server) -> None:
    url, ready = hostile_server(
        frame(0x1, b"a", fin=False, masked=False) + frame(0x0, b"", fin=False, masked=False) * 1000
    )
    connection = await connect(url, max_message_fragments=100)
    server = await ready
    server.resume_reading()
    await server.wait_for(is_close)
    assert await connection.read_message() is None
    assert connection.close_code == 1009


@pytest_twisted.ensureDeferred
async def test_fragment_limit_is_a_setting(serve) -> None:
    port, handlers = serve(websocket_max_message_fragments=10)
    client = await attacker(port, "/echo")
    client.transport.write(
        frame(0x2, b"0", fin=False)
        + b"".join(frame(0x0, b"%d" % index, fin=index == 9) for index in range(1, 10))
    )
    [handler] = handlers
    await handler.wait_for_message(b"0123456789")
    client.transport.write(
        frame(0x2, b"", fin=False) + frame(0x0, b"", fin=False) * 10 + ping(b"survived")
    )
    event = await client.wait_for(close_or(b"survived"))
    assert isinstance(event, Close) and event.code == 1009


@pytest_twisted.ensureDeferred
async def test_deflate_bomb_in_fragments_closes_with_1009_without_inflating_it(serve) -> None:
    # 64 MiB of zeros compress to about 64 KiB; sent in 1 KiB fragments each could inflate
    # to 1 MiB. Inflation stops at max_message_size, whatever the fragmentation.
    limit = 1024 * 1024
    port, _ = serve(websocket_max_message_size=limit)
    client = await attacker(port, "/compressed", "permessage-deflate")
    compressed = deflate_stream(bytes(64 * 1024 * 1024), level=9)
    pieces = [compressed[index : index + 1024] for index in range(0, len(compressed), 1024)]
    attack = frame(0x2, pieces[0], fin=False, rsv1=True) + b"".join(
        frame(0x0, piece, fin=index == len(pieces) - 1)
        for index, piece in enumerate(pieces[1:], 1)
    )
    tracemalloc.start()
    try:
        client.transport.write(attack + ping(b"survived"))
        event = await client.wait_for(close_or(b"survived"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(event, Close) and event.code == 1009
    assert peak <= 4 * limit + len(attack) * 3, peak


@pytest_twisted.ensureDeferred
async def test_messages_after_one_ending_the_deflate_stream_are_inflated(serve) -> None:
    # RFC 7692 §7.2.3.3 lets a sender end a message with a BFINAL block; that ends the
    # DEFLATE stream, and the next message starts a new one. Before the fix every later
    # byte went to zlib's unused_data: the messages arrived empty and memory grew.
    port, handlers = serve()
    client = await attacker(port, "/compressed", "permessage-deflate")
    for word in (b"hello", b"world", b"again"):
        client.transport.write(frame(0x1, deflate_stream(word, final_block=True), rsv1=True))
    [handler] = handlers
    await handler.wait_for_message("again")
    assert handler.received == ["hello", "world", "again"]


@pytest_twisted.ensureDeferred
async def test_data_after_the_final_deflate_block_closes_with_1007(serve) -> None:
    port, _ = serve()
    client = await attacker(port, "/compressed", "permessage-deflate")
    ended = deflate_stream(b"hello", final_block=True)
    client.transport.write(
        frame(0x1, ended, fin=False, rsv1=True)
        + frame(0x0, b"\x00" * 65536, fin=True)
        + ping(b"survived")
    )
    event = await client.wait_for(close_or(b"survived"))
    assert isinstance(event, Close) and event.code == 1007


# -- Server-Sent Events: a client that never reads ----------------------------------------


class Feed(SSEHandler):
    def bind(self) -> None:
        self.settings["opened"].callback(self)

    def unbind(self) -> None:
        self.settings["closed"].callback(self)


class SilentSSEClient(protocol.Protocol):
    def connectionMade(self) -> None:
        self.transport.write(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self.transport.pauseProducing()


@pytest_twisted.ensureDeferred
async def test_sse_client_that_never_reads_is_dropped_counting_per_event_overhead() -> None:
    # A broadcaster that doesn't wait on sendEvent sends 1-byte events to a client that
    # never reads. Before the fix only the event bytes counted against sse_max_buffer:
    # 19 MB were queued when the 1 MiB limit tripped.
    opened: defer.Deferred[Feed] = defer.Deferred()
    closed: defer.Deferred[Feed] = defer.Deferred()
    limit = 1024 * 1024
    application = Router([(r"/events", Feed)], opened=opened, closed=closed, sse_max_buffer=limit)
    port = reactor.listenTCP(0, application, interface="127.0.0.1")
    port.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL_SOCKET_BUFFER)
    try:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_SOCKET_BUFFER)
            sock.connect(("127.0.0.1", port.getHost().port))
            sock.setblocking(False)
            reactor.adoptStreamConnection(
                sock.fileno(), socket.AF_INET, protocol.Factory.forProtocol(SilentSSEClient)
            )
        handler = await opened.addTimeout(HANG_GUARD_SECONDS, reactor)
        for _ in range(1_000_000):
            handler.sendEvent("x")
            if handler._dropped:
                break
        assert handler._dropped
        # Aborting doesn't empty the transport's buffers before the reactor's next turn.
        held = queued_memory(handler.request.connection.transport)
        # The limit, plus Twisted's first 64 KiB of 14-byte chunks with their bookkeeping.
        assert held <= limit + 16 * TWISTED_HIGH_WATER_MARK, held
        await closed.addTimeout(HANG_GUARD_SECONDS, reactor)
    finally:
        await port.stopListening()
