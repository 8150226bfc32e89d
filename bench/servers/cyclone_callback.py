"""cyclone 2 at its lowest level: ``HTTPServer`` with a plain request callback.

    python bench/servers/cyclone_callback.py 8080

No router, no handler objects: the callback gets the parsed
``HTTPServerRequest`` and answers with ``request.write(body)`` and
``request.finish()``. This is what the HTTP/1.1 parser and connection cost on
their own, to hold against the raw Twisted ceiling.
"""

import json
import sys

from payloads import BIG, HELLO, JSON_DOCUMENT
from twisted.internet import reactor

from cyclone.httpserver import HTTPServer


def _form(request):
    return str(len(request.arguments)).encode("ascii")


def _json(request):
    return json.dumps(JSON_DOCUMENT).encode("utf-8")


_ROUTES = {
    "/hello": lambda request: HELLO,
    "/json": _json,
    "/big": lambda request: BIG,
    "/form": _form,
}


def answer(request):
    body = _ROUTES[request.path](request)
    request.write(body)
    request.finish()


def main():
    reactor.listenTCP(int(sys.argv[1]), HTTPServer(answer), backlog=1024, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
