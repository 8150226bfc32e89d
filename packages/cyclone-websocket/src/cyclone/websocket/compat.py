"""cyclone 1.x's protocol classes: `WebSocketProtocol17` serves, the Hixie-76 names refuse.

    from cyclone.websocket import WebSocketHandler, WebSocketProtocol, WebSocketProtocol17

    class ChatHandler(WebSocketHandler):
        def connectionMade(self):
            assert isinstance(self.ws_protocol, WebSocketProtocol17)
            self.ws_protocol.sendMessage("welcome")          # a text frame, as in 1.x

cyclone 1.3 gave each connection a protocol object chosen by the client's handshake:
`WebSocketProtocol17` (named after hybi draft 17, which became RFC 6455) or
`WebSocketProtocol76` (Hixie-76, the 2010 draft that browsers dropped by 2012). cyclone 2
speaks RFC 6455 only, so every server connection is a `WebSocketProtocol17`: the RFC 6455
`WebSocketProtocol` plus 1.x's ``handler``, ``request``, ``sendMessage`` and
``rawDataReceived``.

Hixie-76 frames are not masked (the cache-poisoning attacks that made RFC 6455 add masking)
and its handshake has no version to negotiate; a client that sends no
``Sec-WebSocket-Version: 13`` is answered 426 Upgrade Required. `WebSocketProtocol76` and
`Hixie76FrameDecoder` stay importable, so 1.x code that names them in imports, isinstance
checks or class statements loads, and constructing either raises NotImplementedError saying
so. `FrameDecodeError` is the exception 1.x's Hixie-76 decoder raised; nothing raises it now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from twisted.internet import defer

from cyclone.websocket._protocol import WebSocketProtocol

if TYPE_CHECKING:
    from cyclone.httputil import HTTPServerRequest
    from cyclone.websocket.handler import WebSocketHandler

__all__ = [
    "FrameDecodeError",
    "Hixie76FrameDecoder",
    "WebSocketProtocol17",
    "WebSocketProtocol76",
]

#: The first frame byte 1.x's ``sendMessage(message, code)`` took: FIN plus the opcode (§5.2).
TEXT_FRAME = 0x81
BINARY_FRAME = 0x82


class WebSocketProtocol17(WebSocketProtocol):
    """The server side of an RFC 6455 connection, with cyclone 1.x's names on it.

    It is what `WebSocketHandler.ws_protocol` (Tornado's ``ws_connection``) holds.
    """

    @property
    def handler(self) -> WebSocketHandler:
        """The `WebSocketHandler` this connection delivers to."""
        handler: WebSocketHandler = self.delegate  # type: ignore[assignment]
        return handler

    @property
    def request(self) -> HTTPServerRequest:
        """The upgrade request that opened this connection."""
        return self.handler.request

    def sendMessage(self, message: str | bytes, code: int = TEXT_FRAME) -> defer.Deferred[None]:
        """Send one message: text by default (bytes must then be UTF-8), binary with 0x82.

        1.x wrote ``code`` as the frame's first byte, so its default 0x81 sent bytes as a
        text frame; that stays. Ping and Close have their own methods (`ping`, `close`).
        Returns a Deferred that fires once the transport's buffer has room again.
        """
        if code == TEXT_FRAME:
            if isinstance(message, bytes | bytearray | memoryview):
                message = bytes(message).decode("utf-8")
            return self.send_message(message)
        if code == BINARY_FRAME:
            if isinstance(message, str):
                message = message.encode("utf-8")
            return self.send_message(bytes(message))
        raise ValueError(
            f"sendMessage code {code:#x}: messages are 0x81 (text) or 0x82 (binary);"
            " use ping() or close() for control frames"
        )

    def rawDataReceived(self, data: bytes) -> None:
        """cyclone 1.x name of ``dataReceived``: decode bytes read from the peer."""
        self.dataReceived(data)


_HIXIE_76_REMOVED = (
    "{name}: Hixie-76 (draft-hixie-thewebsocketprotocol-76) was replaced by RFC 6455 in 2011"
    " and cyclone 2 does not speak it; clients without Sec-WebSocket-Version: 13 get"
    " 426 Upgrade Required. Connections are RFC 6455 (WebSocketProtocol17)"
)


def _hixie_76_removed(name: str) -> NoReturn:
    raise NotImplementedError(_HIXIE_76_REMOVED.format(name=name))


class WebSocketProtocol76(WebSocketProtocol):
    """cyclone 1.x's Hixie-76 protocol: importable, but constructing one raises.

    No connection is ever one, so ``isinstance(handler.ws_protocol, WebSocketProtocol76)``
    is False.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _hixie_76_removed(type(self).__name__)


class FrameDecodeError(Exception):
    """cyclone 1.x's error for bytes outside a Hixie-76 frame; nothing raises it now.

    RFC 6455 violations become `cyclone.websocket.frames.ProtocolError` events, which
    close the connection with the matching code (1002, 1007, 1009).
    """


class Hixie76FrameDecoder:
    """cyclone 1.x's Hixie-76 frame decoder: importable, but constructing one raises."""

    def __init__(self) -> None:
        _hixie_76_removed(type(self).__name__)
