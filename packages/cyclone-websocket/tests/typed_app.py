"""A typed user application on cyclone-websocket, checked by ``mypy --strict`` (nox -s typing).

Each ``# type: ignore[...]`` marks a deliberate mistake: mypy must see cyclone's
types to flag it, and --strict reports an ignore that flags nothing, so the
check fails if cyclone's types stop reaching users.
"""

from __future__ import annotations

import cyclone.sse
import cyclone.websocket
from cyclone.routing import Router


class Echo(cyclone.websocket.WebSocketHandler):
    def on_message(self, message: str | bytes) -> None:
        self.write_message(message, binary=isinstance(message, bytes))


class Clock(cyclone.sse.SSEHandler):
    def bind(self) -> None:
        self.sendEvent({"tick": 1}, event="tick")
        self.sendEvent(12)  # type: ignore[arg-type]


def make_app() -> Router:
    return Router([(r"/ws", Echo), (r"/events", Clock)])


async def talk(url: str) -> str | bytes | None:
    connection = await cyclone.websocket.connect(url)
    await connection.write_message("hello")
    return await connection.read_message()
