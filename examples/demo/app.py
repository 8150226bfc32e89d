"""The cyclone demo site: a tour of what each installed package does.

    python examples/demo/app.py                 # http://127.0.0.1:8888/
    python examples/demo/app.py --port 9000 --interface 0.0.0.0

Pages are rendered with cyclone.template, forms carry XSRF tokens, and the
WebSocket echo and SSE clock appear when cyclone-websocket is installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

from twisted.internet import reactor
from twisted.python import log

import cyclone.web

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PORT = 8888
DEFAULT_INTERFACE = "127.0.0.1"


class IndexHandler(cyclone.web.RequestHandler):
    def get(self) -> None:
        features = {
            name: importlib.util.find_spec(f"cyclone.{name}") is not None
            for name in ("websocket", "sse", "xmlrpc", "jsonrpc", "mail", "redis", "sqlite")
        }
        self.render("index.html", features=features, live=_live_demo_available())


class GreetHandler(cyclone.web.RequestHandler):
    def post(self) -> None:
        name = self.get_argument("name", "stranger")
        self.render("greet.html", name=name)


class TimeHandler(cyclone.web.RequestHandler):
    def get(self) -> None:
        self.write({"time": time.time()})


def _live_demo_available() -> bool:
    return importlib.util.find_spec("cyclone.websocket") is not None and os.path.exists(
        os.path.join(HERE, "demo_live.py")
    )


def make_app() -> cyclone.web.Application:
    handlers: list = [
        (r"/", IndexHandler),
        (r"/greet", GreetHandler),
        (r"/api/time", TimeHandler),
    ]
    from demo_login import login_handlers

    handlers.extend(login_handlers())
    if _live_demo_available():
        from demo_live import live_handlers

        handlers.extend(live_handlers())
    return cyclone.web.Application(
        handlers,
        template_path=os.path.join(HERE, "templates"),
        static_path=os.path.join(HERE, "static"),
        cookie_secret=os.environ.get("CYCLONE_DEMO_SECRET", os.urandom(32).hex()),
        xsrf_cookies=True,
        login_url="/login",
        compress_response=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--interface", default=DEFAULT_INTERFACE)
    options = parser.parse_args(argv)
    log.startLogging(sys.stdout)
    reactor.listenTCP(options.port, make_app(), interface=options.interface)
    print(f"cyclone demo on http://{options.interface}:{options.port}/", flush=True)
    reactor.run()


sys.path.insert(0, HERE)

if __name__ == "__main__":
    main()
