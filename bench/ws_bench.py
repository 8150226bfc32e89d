"""WebSocket echo benchmark: cyclone vs Tornado, aiohttp and Autobahn|Python, loopback only.

    python bench/ws_bench.py                 # = python bench/run.py --scenarios ws-echo,ws-pingpong
    python bench/ws_bench.py --quick         # any bench/run.py option passes through

A shortcut to the WebSocket scenarios of bench/run.py, which runs each server
(bench/servers/ws_*.py) in its own venv pinned to CPU 0 and bench/ws_load.py on
CPU 1, in interleaved rounds. Add ``idle-ws`` to ``--scenarios`` for the memory
of 10,000 idle connections.
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import run  # bench/run.py


def main() -> int:
    arguments = sys.argv[1:]
    if not any(argument.startswith("--scenarios") for argument in arguments):
        arguments += ["--scenarios", "ws-echo,ws-pingpong"]
    if not any(argument.startswith("--servers") for argument in arguments):
        websocket = [server.name for server in run.SERVERS if server.protocol == "websocket"]
        arguments += ["--servers", ",".join(websocket)]
    return run.main([*arguments, "--no-extras"])


if __name__ == "__main__":
    raise SystemExit(main())
