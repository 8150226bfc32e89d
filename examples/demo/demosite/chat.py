"""A chat room over WebSocket: everyone on /chat gets every message and who is online.

`ChatSocket` uses Tornado's names (``open``, ``on_message``, ``write_message``,
``on_close``). Messages are JSON both ways; the page inserts text with
``textContent``, so what people type is never HTML. When the server stops
(Ctrl-C), cyclone.websocket closes every socket with 1001 "Going Away" and the
page says so.
"""

from __future__ import annotations

import collections
import json
import time
from typing import Any

from twisted.logger import Logger

from cyclone.websocket import WebSocketClosedError, WebSocketHandler
from demosite.base import BaseHandler

log = Logger()

#: Longest name and message accepted, in characters; messages kept for newcomers.
MAX_NAME = 30
MAX_TEXT = 500
HISTORY = 50


class ChatRoom:
    """Who is connected and the last messages; sends each event to everyone."""

    def __init__(self) -> None:
        self.members: set[ChatSocket] = set()
        self.history: collections.deque[dict[str, Any]] = collections.deque(maxlen=HISTORY)

    def join(self, member: ChatSocket) -> None:
        self.members.add(member)
        member.write_message({"type": "history", "messages": list(self.history)})
        self.broadcast({"type": "presence", "online": len(self.members)})

    def leave(self, member: ChatSocket) -> None:
        if member in self.members:
            self.members.discard(member)
            self.broadcast({"type": "presence", "online": len(self.members)})

    def say(self, name: str, text: str) -> None:
        message = {"type": "message", "name": name, "text": text, "time": time.strftime("%H:%M")}
        self.history.append(message)
        self.broadcast(message)

    def broadcast(self, event: dict[str, Any]) -> None:
        for member in list(self.members):
            try:
                member.write_message(event)
            except WebSocketClosedError:
                self.members.discard(member)  # closing: its on_close will follow


class ChatPage(BaseHandler):
    page = "chat"

    def get(self) -> None:
        self.render("chat.html", max_name=MAX_NAME, max_text=MAX_TEXT)


class ChatSocket(WebSocketHandler):
    """One browser tab in the room. Accepts ``{"name": ..., "text": ...}`` messages."""

    def initialize(self, room: ChatRoom) -> None:
        self.room = room

    def open(self) -> None:
        self.room.join(self)

    def on_message(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
            name = str(data.get("name") or "anonymous").strip()[:MAX_NAME]
            text = str(data["text"]).strip()[:MAX_TEXT]
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            log.info("chat: ignoring a malformed message: {error}", error=error)
            return
        if text:
            self.room.say(name, text)

    def on_close(self) -> None:
        self.room.leave(self)
