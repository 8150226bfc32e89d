"""Helpers for the asyncio tests: an application module run in subprocesses and a real upstream.

The application (`ASYNCIO_APP`, written to a temporary directory as
``aioapp.py``) mixes asyncio and Twisted in its handlers. Run as a script it
serves the way its first argument says:

- ``asyncio-run``: Tornado's documented ``asyncio.run(main())`` + ``app.listen``;
- ``install-then-asyncio-run``: ``asyncioreactor.install()`` first, then the same;
- ``reactor-run``: ``asyncioreactor.install()``, ``app.listen``, ``reactor.run()``;
- ``default-reactor``: ``app.listen`` and ``reactor.run()`` on Twisted's default reactor;
- ``default-then-asyncio-run``: the default reactor imported first, then ``asyncio.run``.

It prints ``cyclone serving ... on http://host:port`` like the twistd plugin, so
`deploy_helpers.ServerProcess.wait_serving` finds it; ``twistd cyclone
--app=aioapp.make_app`` serves the same application.
"""

from __future__ import annotations

import http.client
import json
import socketserver
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from deploy_helpers import PROCESS_TIMEOUT

ASYNCIO_APP = textwrap.dedent(
    """
    import asyncio
    import os
    import sys

    MODE = sys.argv[1] if __name__ == "__main__" and len(sys.argv) > 1 else None
    if MODE in ("reactor-run", "install-then-asyncio-run"):
        from twisted.internet import asyncioreactor

        asyncioreactor.install()
    elif MODE == "default-then-asyncio-run":
        from twisted.internet import reactor  # noqa: F401  (installs the default reactor)

    from twisted.internet import defer, task

    from cyclone.coroutines import as_future
    from cyclone.handler import RequestHandler
    from cyclone.routing import Router

    EVENTS = []


    def reactor():
        from twisted.internet import reactor

        return reactor


    class Base(RequestHandler):
        def write_error(self, status_code, **kwargs):
            error = kwargs["exc_info"][1]
            self.finish({"status": status_code, "error": f"{type(error).__name__}: {error}"})


    class Mixed(Base):
        async def prepare(self):
            await asyncio.sleep(0.001)
            self.prepared = await task.deferLater(reactor(), 0.001, lambda: "prepared")

        async def get(self):
            started = asyncio.get_running_loop().time()
            await asyncio.sleep(0.01)
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", int(os.environ["UPSTREAM_PORT"])
            )
            writer.write(b"ping\\n")
            await writer.drain()
            echoed = await reader.readline()
            writer.close()
            await writer.wait_closed()
            deferred = await task.deferLater(reactor(), 0.01, lambda: "from a Deferred")
            self.write({
                "prepared": self.prepared,
                "echoed": echoed.decode().strip(),
                "deferred": deferred,
                "task": asyncio.current_task() is not None,
                "slept": asyncio.get_running_loop().time() - started >= 0.01,
                "reactor": type(reactor()).__name__,
            })


    class Hang(Base):
        async def get(self):
            kind = self.get_argument("kind")
            EVENTS.append(f"{kind} started")
            try:
                if kind == "asyncio":
                    await asyncio.sleep(3600)
                else:
                    await defer.Deferred(lambda d: EVENTS.append("deferred canceller"))
            except asyncio.CancelledError:
                EVENTS.append(f"{kind} CancelledError")
                raise
            except defer.CancelledError:
                EVENTS.append(f"{kind} twisted CancelledError")
                raise

        def on_connection_close(self):
            EVENTS.append(f"{self.get_argument('kind')} on_connection_close")

        def on_finish(self):
            EVENTS.append(f"{self.get_argument('kind')} on_finish")


    class Events(Base):
        def get(self):
            self.write({"events": EVENTS})


    class Timeout(Base):
        async def get(self):
            try:
                await asyncio.wait_for(as_future(defer.Deferred()), 0.02)
            except asyncio.TimeoutError:
                self.write("wait_for timed out\\n")
            if hasattr(asyncio, "timeout"):
                try:
                    async with asyncio.timeout(0.02):
                        await defer.Deferred()
                except TimeoutError:
                    self.write("asyncio.timeout timed out\\n")
            try:
                await task.deferLater(reactor(), 10, lambda: None).addTimeout(0.02, reactor())
            except defer.TimeoutError:
                self.write("addTimeout timed out\\n")


    class Fail(Base):
        async def get(self):
            if self.get_argument("kind") == "asyncio":
                await asyncio.sleep(0)
                raise ValueError("raised after asyncio.sleep")
            await task.deferLater(reactor(), 0, lambda: 1 / 0)

    def make_app(**settings):
        return Router(
            [
                (r"/mixed", Mixed),
                (r"/hang", Hang),
                (r"/events", Events),
                (r"/timeout", Timeout),
                (r"/fail", Fail),
            ],
            **settings,
        )


    def announce(port):
        host = port.getHost()
        print(f"cyclone serving aioapp on http://{host.host}:{host.port}", flush=True)


    async def main():
        app = make_app()
        announce(app.listen(0, "127.0.0.1"))
        await asyncio.Event().wait()


    if __name__ == "__main__":
        if MODE in ("reactor-run", "default-reactor"):
            from twisted.internet import reactor as running_reactor

            announce(make_app().listen(0, "127.0.0.1"))
            running_reactor.run()
        else:
            try:
                asyncio.run(main())
            except KeyboardInterrupt:
                print("stopped by Ctrl-C", flush=True)
    """
)


class _EchoLines(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        for line in self.rfile:
            self.wfile.write(line)


@contextmanager
def upstream_echo_server() -> Iterator[int]:
    """A real TCP line-echo server on loopback (in a thread), for asyncio.open_connection."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _EchoLines)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def get_json(address: Any, path: str) -> tuple[int, Any]:
    """GET ``path`` and decode the JSON answer."""
    connection = http.client.HTTPConnection(address.host, address.port, timeout=PROCESS_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def get_text(address: Any, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection(address.host, address.port, timeout=PROCESS_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()
