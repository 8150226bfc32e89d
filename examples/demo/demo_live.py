"""The demo site's live page: a WebSocket echo and a Server-Sent Events clock.

`examples/demo/app.py` adds these routes when cyclone-websocket is installed:

- ``/live``: the page (it extends the site's ``base.html``);
- ``/live/ws``: `EchoSocket`, a WebSocket echo written with the Tornado names
  (``open``, ``on_message``, ``write_message``; the cyclone 1.x names work too);
- ``/live/events``: `ClockEvents`, an event stream sending the server's time
  every second; ``bind()``/``unbind()`` start and stop its timer.

The demo enables ``compress_response``; event streams are never compressed
(`cyclone.sse.SSEHandler` skips the gzip transform) so each tick reaches the
browser at once.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.internet import task

import cyclone.web
from cyclone.sse import SSEHandler
from cyclone.template import Template
from cyclone.websocket import WebSocketHandler

LIVE_PAGE = """{% extends "base.html" %}
{% block title %}cyclone demo: live{% end %}
{% block body %}
<h1>Live</h1>

<h2>WebSocket echo</h2>
<p>Socket: <span id="ws-status">connecting</span></p>
<form id="echo-form">
  <input id="echo-input" placeholder="type and press enter" autocomplete="off" required>
  <button type="submit">Send</button>
</form>
<ol id="echoes"></ol>

<h2>Server-Sent Events clock</h2>
<p>Server time: <output id="clock">waiting for the first tick</output>
  (<span id="ticks">0</span> ticks)</p>

<script>
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "{{ reverse_url('live-ws') }}");
  socket.onopen = () => { document.getElementById("ws-status").textContent = "open"; };
  socket.onclose = () => { document.getElementById("ws-status").textContent = "closed"; };
  socket.onmessage = (event) => {
    const item = document.createElement("li");
    item.textContent = event.data;
    document.getElementById("echoes").append(item);
  };
  document.getElementById("echo-form").addEventListener("submit", (submit) => {
    submit.preventDefault();
    const input = document.getElementById("echo-input");
    socket.send(input.value);
    input.value = "";
  });

  let ticks = 0;
  const clock = new EventSource("{{ reverse_url('live-events') }}");
  clock.addEventListener("tick", (event) => {
    document.getElementById("clock").textContent = event.data;
    document.getElementById("ticks").textContent = ++ticks;
  });
</script>
{% end %}
"""


class LivePage(cyclone.web.RequestHandler):
    def get(self) -> None:
        loader = self.create_template_loader(self.get_template_path() or ".")
        page = Template(LIVE_PAGE, name="live.html", loader=loader)
        self.finish(page.generate(**self.get_template_namespace()))


class EchoSocket(WebSocketHandler):
    def on_message(self, message: str | bytes) -> Any:
        return self.write_message(message, binary=isinstance(message, bytes))


class ClockEvents(SSEHandler):
    _ticker: task.LoopingCall | None = None

    def bind(self) -> None:
        self._ticker = task.LoopingCall(self.tick)
        self._ticker.start(1.0, now=True)

    def unbind(self) -> None:
        if self._ticker is not None and self._ticker.running:
            self._ticker.stop()

    def tick(self) -> None:
        self.sendEvent(time.strftime("%H:%M:%S"), event="tick")


def live_handlers() -> list[Any]:
    """The live page's routes, for `cyclone.web.Application`."""
    return [
        cyclone.web.url(r"/live", LivePage, name="live"),
        cyclone.web.url(r"/live/ws", EchoSocket, name="live-ws"),
        cyclone.web.url(r"/live/events", ClockEvents, name="live-events"),
    ]
