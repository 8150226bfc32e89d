"""The cyclone demo site: a page for every part of the framework.

    python examples/demo/app.py                   # http://127.0.0.1:8888/
    python examples/demo/app.py --port 9000 --interface 0.0.0.0
    python examples/demo/app.py --redis redis://127.0.0.1:6380/0   # or --redis '' for none

The pages live in the ``demosite`` package (one module per part, routes in
``demosite/__init__.py``), their templates in templates/, their CSS and
JavaScript in static/. Ctrl-C stops it cleanly: the port closes, open chat
sockets get a 1001 "Going Away" close and live feeds a last ``bye`` event.
"""

from __future__ import annotations

import argparse
import os
import sys

from twisted.internet import defer, reactor
from twisted.python import log

from cyclone.deploy import install_graceful_shutdown, on_shutdown

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # the demosite package sits beside this script

from demosite import make_app  # noqa: E402

DEFAULT_PORT = 8888
DEFAULT_INTERFACE = "127.0.0.1"
DEFAULT_REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
#: Seconds requests in flight get to finish after Ctrl-C.
SHUTDOWN_TIMEOUT = 5.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--interface", default=DEFAULT_INTERFACE)
    parser.add_argument(
        "--redis",
        default=DEFAULT_REDIS,
        help="Redis for the pub/sub page; '' for none [default: $REDIS_URL or %(default)s]",
    )
    options = parser.parse_args(argv)
    log.startLogging(sys.stdout)

    # A fixed secret keeps people signed in across restarts; by default each run makes one.
    app = make_app(redis_url=options.redis or None, cookie_secret=os.environ.get("DEMO_SECRET"))
    port = reactor.listenTCP(options.port, app, interface=options.interface)
    # On Ctrl-C: stop accepting, let requests finish, close WebSockets with 1001 (done by
    # cyclone.websocket), end the event streams after their `bye` event (cyclone.sse calls
    # on_server_shutdown), and close the Redis connections (the hook below).
    install_graceful_shutdown([port], [app], timeout=SHUTDOWN_TIMEOUT)
    on_shutdown(app.settings.redis_link.disconnect)
    connecting = defer.ensureDeferred(app.settings.redis_link.connect())
    connecting.addErrback(log.err, "connecting to Redis failed unexpectedly")

    address = port.getHost()
    print(f"cyclone demo on http://{address.host}:{address.port}/  (Ctrl-C stops it)", flush=True)
    reactor.run()
    print("cyclone demo stopped", flush=True)


if __name__ == "__main__":
    main()
