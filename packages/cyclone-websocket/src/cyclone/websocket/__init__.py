"""WebSocket for cyclone: RFC 6455 with permessage-deflate (RFC 7692).

    from cyclone.routing import Router
    from cyclone.websocket import WebSocketHandler

    class EchoHandler(WebSocketHandler):
        def on_message(self, message):
            self.write_message(message)

    # reactor.listenTCP(8888, Router([(r"/ws", EchoHandler)]))

Modules: `frames` (sans-IO codec and handshake helpers), `deflate` (permessage-deflate),
`handler` (`WebSocketHandler`, needs cyclone.handler from cyclone-core) and `client`
(`connect(url)`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # What type checkers see; at run time __getattr__ below imports on first use.
    from cyclone.websocket.client import connect
    from cyclone.websocket.handler import WebSocketClosedError, WebSocketHandler

__all__ = ["WebSocketClosedError", "WebSocketHandler", "connect"]


def __getattr__(name: str) -> Any:
    # Lazy: the sans-IO modules must import without Twisted or the core handler.
    if name in ("WebSocketHandler", "WebSocketClosedError"):
        from cyclone.websocket import handler

        return getattr(handler, name)
    if name == "connect":
        from cyclone.websocket.client import connect

        return connect
    raise AttributeError(f"module 'cyclone.websocket' has no attribute {name!r}")
