"""Runs a documentation example exactly as written, with its listening ports moved to free ones.

    python run_example.py script hello_reactor.py
    python run_example.py twistd -ny hello.tac

The examples listen on 8888, as a reader would; here ``reactor.listenTCP``
listens on a free loopback port instead and prints ``LISTENING <asked> <got>``,
so tests can run beside each other and beside anything else on the machine.
"""

from __future__ import annotations

import runpy
import sys
from typing import Any

from twisted.internet import reactor

_listen = reactor.listenTCP


def _listen_on_a_free_port(port: int, factory: Any, backlog: int = 50, interface: str = "") -> Any:
    listening = _listen(0, factory, backlog, interface or "127.0.0.1")
    # twistd sends sys.stdout to its log; the test reads the real standard output.
    print(f"LISTENING {port} {listening.getHost().port}", file=sys.__stdout__, flush=True)
    return listening


reactor.listenTCP = _listen_on_a_free_port  # type: ignore[method-assign]

mode, *arguments = sys.argv[1:]
if mode == "script":
    sys.argv = arguments
    runpy.run_path(arguments[0], run_name="__main__")
elif mode == "twistd":
    from twisted.scripts.twistd import run

    sys.argv = ["twistd", *arguments]
    run()
else:
    raise SystemExit(f"unknown mode {mode!r}: use script or twistd")
