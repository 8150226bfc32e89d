"""A JSON-RPC and XML-RPC server on Twisted's asyncio reactor, in a subprocess.

Its methods await ``asyncio.sleep`` and a Deferred in the same function.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TIMEOUT = 30.0

SERVER = textwrap.dedent(
    """
    import asyncio

    from twisted.internet import asyncioreactor

    asyncioreactor.install()

    from twisted.internet import reactor, task

    from cyclone.jsonrpc import JsonrpcRequestHandler
    from cyclone.routing import Router
    from cyclone.xmlrpc import XmlrpcRequestHandler


    async def add_later(a, b):
        await asyncio.sleep(0.01)
        total = await task.deferLater(reactor, 0.01, lambda: a + b)
        return {"sum": total, "task": asyncio.current_task() is not None}


    class Json(JsonrpcRequestHandler):
        async def jsonrpc_add(self, a, b):
            return await add_later(a, b)


    class Xml(XmlrpcRequestHandler):
        async def xmlrpc_add(self, a, b):
            return await add_later(a, b)


    port = Router([(r"/json", Json), (r"/xml", Xml)]).listen(0, "127.0.0.1")
    print(f"serving on {port.getHost().port}", flush=True)
    reactor.run()
    """
)


@contextmanager
def asyncio_server(directory: Path) -> Iterator[int]:
    """Start `SERVER` and yield its port; kill it afterwards."""
    script = directory / "aiorpc.py"
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
