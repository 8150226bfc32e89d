"""Runs a documentation example exactly as written, with its listening ports moved to free ones.

    python run_example.py script hello_reactor.py
    python run_example.py twistd -ny hello.tac
    python run_example.py asyncio hello_asyncio.py

The examples listen on 8888, as a reader would; here ``reactor.listenTCP`` (or,
for an ``asyncio.run`` program, ``Router.listen``) listens on a free loopback port
instead and prints ``LISTENING <asked> <got>``, so tests can run beside each other
and beside anything else on the machine. The asyncio mode must not import the
reactor: ``listen()`` installs Twisted's asyncio reactor on the running loop.
"""

from __future__ import annotations

import runpy
import sys
from typing import Any


def _announce(asked: int, listening: Any) -> Any:
    # twistd sends sys.stdout to its log; the test reads the real standard output.
    print(f"LISTENING {asked} {listening.getHost().port}", file=sys.__stdout__, flush=True)
    return listening


def _patch_reactor_listen() -> None:
    from twisted.internet import reactor

    listen = reactor.listenTCP

    def listen_on_a_free_port(
        port: int, factory: Any, backlog: int = 50, interface: str = ""
    ) -> Any:
        return _announce(port, listen(0, factory, backlog, interface or "127.0.0.1"))

    reactor.listenTCP = listen_on_a_free_port  # type: ignore[method-assign]


def _patch_router_listen() -> None:
    from cyclone.routing import Router

    listen = Router.listen

    def listen_on_a_free_port(self: Router, port: int, address: str = "", **settings: Any) -> Any:
        return _announce(port, listen(self, 0, address or "127.0.0.1", **settings))

    Router.listen = listen_on_a_free_port  # type: ignore[method-assign]


mode, *arguments = sys.argv[1:]
if mode == "asyncio":
    _patch_router_listen()
    sys.argv = arguments
    runpy.run_path(arguments[0], run_name="__main__")
elif mode == "script":
    _patch_reactor_listen()
    sys.argv = arguments
    runpy.run_path(arguments[0], run_name="__main__")
elif mode == "twistd":
    _patch_reactor_listen()
    from twisted.scripts.twistd import run

    sys.argv = ["twistd", *arguments]
    run()
else:
    raise SystemExit(f"unknown mode {mode!r}: use script, asyncio or twistd")
