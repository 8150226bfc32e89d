"""A live feed over Server-Sent Events: a clock, and notes posted from any open page.

The page listens with ``new EventSource("/feed/events")``. Every second the
server sends a ``tick`` event (its time and how many pages listen); a note
posted to ``/feed/publish`` goes to every listener as a ``note`` event with an
id. A browser that lost the stream reconnects by itself and sends the last id
it saw (``Last-Event-ID``): `FeedEvents.bind` replays the notes it missed.

When the demo stops (Ctrl-C), cyclone.sse ends every open stream and calls
`FeedEvents.on_server_shutdown` first, which sends a ``bye`` event: the page
says "the server stopped" instead of reconnecting in vain.
"""

from __future__ import annotations

import collections
import time
from typing import Any

from twisted.internet import task

from cyclone.sse import SSEHandler
from demosite.base import BaseHandler

#: Notes kept for replay, and the longest note accepted (characters).
HISTORY = 20
MAX_NOTE = 200


class Feed:
    """The open streams, the notes (with ids, for replay) and the clock."""

    def __init__(self, clock: Any = None) -> None:
        self.listeners: set[FeedEvents] = set()
        self.notes: collections.deque[tuple[int, dict[str, str]]] = collections.deque(
            maxlen=HISTORY
        )
        self.last_id = 0
        self.started = time.monotonic()
        self._ticker = task.LoopingCall(self.tick)
        if clock is not None:
            self._ticker.clock = clock

    def add(self, listener: FeedEvents) -> None:
        self.listeners.add(listener)
        if not self._ticker.running:
            self._ticker.start(1.0, now=False)

    def remove(self, listener: FeedEvents) -> None:
        self.listeners.discard(listener)
        if not self.listeners and self._ticker.running:
            self._ticker.stop()

    def publish(self, text: str) -> int:
        self.last_id += 1
        note = {"text": text, "time": time.strftime("%H:%M:%S")}
        self.notes.append((self.last_id, note))
        for listener in list(self.listeners):
            listener.sendEvent(note, event="note", eid=self.last_id)
        return self.last_id

    def missed_since(self, last_event_id: str | None) -> list[tuple[int, dict[str, str]]]:
        if last_event_id is None or not last_event_id.isdigit():
            return list(self.notes)
        seen = int(last_event_id)
        return [(eid, note) for eid, note in self.notes if eid > seen]

    def tick(self) -> None:
        event = {
            "time": time.strftime("%H:%M:%S"),
            "listeners": len(self.listeners),
            "uptime": int(time.monotonic() - self.started),
        }
        for listener in list(self.listeners):
            listener.sendEvent(event, event="tick")


class FeedPage(BaseHandler):
    page = "feed"

    def get(self) -> None:
        self.render("feed.html", max_note=MAX_NOTE)


class FeedEvents(SSEHandler):
    """The event stream: replays missed notes, then joins the feed."""

    def initialize(self, feed: Feed) -> None:
        self.feed = feed

    def bind(self) -> None:
        for eid, note in self.feed.missed_since(self.last_event_id):
            self.sendEvent(note, event="note", eid=eid)
        self.feed.add(self)

    def unbind(self) -> None:
        self.feed.remove(self)

    def on_server_shutdown(self) -> None:
        """The last event before cyclone.sse ends the stream on a graceful stop."""
        self.sendEvent({"reason": "the server is shutting down"}, event="bye")


class FeedPublish(BaseHandler):
    """POST ``text`` (XSRF token in the X-XSRFToken header): one note to every listener."""

    def initialize(self, feed: Feed) -> None:
        self.feed = feed

    def post(self) -> None:
        text = self.get_body_argument("text", "").strip()
        if not text:
            self.set_status(400)
            self.write({"error": "write something first"})
            return
        self.write({"id": self.feed.publish(text[:MAX_NOTE])})
