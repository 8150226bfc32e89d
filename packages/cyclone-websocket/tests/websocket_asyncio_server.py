"""A server on Twisted's asyncio reactor, in a subprocess, for the WebSocket and SSE asyncio tests.

``SERVER`` runs ``asyncioreactor.install()``, ``Router.listen(0)`` and
``reactor.run()``; its WebSocket ``open``/``on_message`` and SSE ``bind``
await both ``asyncio.sleep`` and Deferreds. ``/events`` lists what happened
(cancellations, closes) so a test can check it over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Seconds to wait for the server to start or for something to happen.
TIMEOUT = 30.0

SERVER = textwrap.dedent(
    """
    import asyncio

    from twisted.internet import asyncioreactor

    asyncioreactor.install()

    from twisted.internet import reactor, task

    from cyclone.handler import RequestHandler
    from cyclone.routing import Router
    from cyclone.sse import SSEHandler
    from cyclone.websocket import WebSocketHandler

    EVENTS = []


    async def both(value):
        await asyncio.sleep(0.01)
        return await task.deferLater(reactor, 0.01, lambda: value)


    class Echo(WebSocketHandler):
        async def open(self):
            greeting = await both("hello")
            await self.write_message(f"{greeting} from a task: {asyncio.current_task() is not None}")

        async def on_message(self, message):
            if message == "hang":
                EVENTS.append("on_message started")
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    EVENTS.append("on_message CancelledError")
                    raise
            await self.write_message(await both(message.upper()))

        def on_close(self):
            EVENTS.append("on_close")


    class Feed(SSEHandler):
        async def bind(self):
            self.sendEvent(await both("first"))
            EVENTS.append("bind waiting")
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                EVENTS.append("bind CancelledError")
                raise

        def unbind(self):
            EVENTS.append("unbind")


    class Events(RequestHandler):
        def get(self):
            self.write({"events": EVENTS})


    # Reading pauses while on_message runs, so a vanished peer is noticed by the ping timeout.
    app = Router(
        [(r"/ws", Echo), (r"/feed", Feed), (r"/events", Events)],
        websocket_ping_interval=0.5,
        websocket_ping_timeout=0.5,
    )
    port = app.listen(0, "127.0.0.1")
    print(f"serving on {port.getHost().port}", flush=True)
    reactor.run()
    """
)


@contextmanager
def asyncio_server(directory: Path) -> Iterator[int]:
    """Start `SERVER` and yield its port; kill it afterwards."""
    script = directory / "aioserver.py"
    script.write_text(SERVER)
    process = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.match(r"serving on (\d+)", line)
        if match is None:
            process.kill()
            raise AssertionError(f"the server did not start: {line}{process.stdout.read()}")
        yield int(match.group(1))
    finally:
        process.kill()
        process.wait(TIMEOUT)


def events(port: int) -> list[str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/events", timeout=TIMEOUT) as answer:
        return json.loads(answer.read())["events"]


def wait_for_event(port: int, event: str) -> list[str]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        seen = events(port)
        if event in seen:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{event!r} never happened: {events(port)}")
