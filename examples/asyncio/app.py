"""Handlers that await asyncio and Twisted in the same function.

    python app.py --port=8888                    # asyncio.run + app.listen
    twistd -n -r asyncio cyclone --app=app.make_app --port=8888

GET /probe?host=example.org&port=443 resolves the host with Twisted's resolver
(a Deferred), connects to it with ``asyncio.open_connection`` (within
``--probe_timeout`` seconds, by ``asyncio.wait_for``), and answers how long each
step took.
GET /wait?seconds=1 sleeps with ``asyncio.sleep`` and then with Twisted's
``deferLater``; a client that leaves meanwhile cancels it (see the log).
"""

import asyncio
import time

from twisted.internet import task
from twisted.logger import Logger

import cyclone.web
from cyclone.options import define, options, parse_command_line

define("port", default=8888, help="port to listen on (0: any free port)")
define("probe_timeout", default=2.0, help="seconds a /probe connection may take")

log = Logger()


def reactor():
    from twisted.internet import reactor

    return reactor


class ProbeHandler(cyclone.web.RequestHandler):
    async def get(self):
        host = self.get_argument("host")
        port = int(self.get_argument("port"))
        started = time.monotonic()
        address = await reactor().resolve(host)  # a Twisted Deferred
        resolved = time.monotonic()
        try:
            _, writer = await asyncio.wait_for(  # asyncio, in the same coroutine
                asyncio.open_connection(address, port), options.probe_timeout
            )
        except (OSError, asyncio.TimeoutError) as error:
            reachable, reason = False, f"{type(error).__name__}: {error}"
        else:
            writer.close()
            await writer.wait_closed()
            reachable, reason = True, None
        self.write(
            {
                "host": host,
                "address": address,
                "port": port,
                "reachable": reachable,
                "reason": reason,
                "resolve_ms": round((resolved - started) * 1000, 2),
                "connect_ms": round((time.monotonic() - resolved) * 1000, 2),
            }
        )


class WaitHandler(cyclone.web.RequestHandler):
    async def get(self):
        seconds = float(self.get_argument("seconds", "0.1"))
        try:
            await asyncio.sleep(seconds / 2)
            await task.deferLater(reactor(), seconds / 2, lambda: None)
        except asyncio.CancelledError:
            log.info("the client left; /wait cancelled")
            raise
        self.write({"waited": seconds, "in_a_task": asyncio.current_task() is not None})


def make_app(**settings):
    return cyclone.web.Application(
        [(r"/probe", ProbeHandler), (r"/wait", WaitHandler)], **settings
    )


async def main():
    parse_command_line()
    port = make_app().listen(options.port, "127.0.0.1")
    print(f"http://127.0.0.1:{port.getHost().port}/", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
