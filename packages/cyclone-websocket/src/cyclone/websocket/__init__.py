"""WebSocket for cyclone: RFC 6455 with permessage-deflate (RFC 7692).

    from cyclone.routing import Router
    from cyclone.websocket import WebSocketHandler

    class EchoHandler(WebSocketHandler):
        def on_message(self, message):
            self.write_message(message)

    # reactor.listenTCP(8888, Router([(r"/ws", EchoHandler)]))

Modules: `frames` (sans-IO codec and handshake helpers), `deflate` (permessage-deflate),
`handler` (`WebSocketHandler`, needs cyclone.handler from cyclone-core), `client`
(`connect(url)`) and `compat` (cyclone 1.x's protocol classes). cyclone 1.3's names are
importable from here as they were: `WebSocketProtocol` (the RFC 6455 connection,
``handler.ws_protocol`` is one), `WebSocketProtocol17`, and the Hixie-76 `WebSocketProtocol76`,
`Hixie76FrameDecoder` and `FrameDecodeError` (see `cyclone.websocket.compat`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cyclone import _namespace  # noqa: F401  (cyclone.<module> on first use; no cyclone 1.x)

if TYPE_CHECKING:
    # What type checkers see; at run time __getattr__ below imports on first use.
    from cyclone.websocket._protocol import WebSocketProtocol
    from cyclone.websocket.client import connect
    from cyclone.websocket.compat import (
        FrameDecodeError,
        Hixie76FrameDecoder,
        WebSocketProtocol17,
        WebSocketProtocol76,
    )
    from cyclone.websocket.handler import WebSocketClosedError, WebSocketHandler

__all__ = [
    "FrameDecodeError",
    "Hixie76FrameDecoder",
    "WebSocketClosedError",
    "WebSocketHandler",
    "WebSocketProtocol",
    "WebSocketProtocol17",
    "WebSocketProtocol76",
    "connect",
]

_COMPAT_NAMES = frozenset(
    ("WebSocketProtocol17", "WebSocketProtocol76", "Hixie76FrameDecoder", "FrameDecodeError")
)


def __getattr__(name: str) -> Any:
    # Lazy: the sans-IO modules must import without Twisted or the core handler.
    if name in ("WebSocketHandler", "WebSocketClosedError"):
        from cyclone.websocket import handler

        return getattr(handler, name)
    if name == "connect":
        from cyclone.websocket.client import connect

        return connect
    if name == "WebSocketProtocol":
        from cyclone.websocket._protocol import WebSocketProtocol

        return WebSocketProtocol
    if name in _COMPAT_NAMES:
        from cyclone.websocket import compat

        return getattr(compat, name)
    raise AttributeError(f"module 'cyclone.websocket' has no attribute {name!r}")
