"""twisted.web's own resource tree serving the benchmark routes, as a reference.

python bench/servers/twisted_web.py 8080
"""

import json
import sys

from payloads import BIG, HELLO, JSON_DOCUMENT
from twisted.internet import reactor
from twisted.web import resource, server


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=UTF-8")
        return HELLO


class Json(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json; charset=UTF-8")
        return json.dumps(JSON_DOCUMENT).encode("utf-8")


class Big(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/octet-stream")
        return BIG


class Form(resource.Resource):
    isLeaf = True

    def render_POST(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=UTF-8")
        return str(len(request.args)).encode("ascii")


class QuietSite(server.Site):
    """A Site without the access log, like every other server in the benchmark."""

    def log(self, request):
        pass


def main():
    root = resource.Resource()
    root.putChild(b"hello", Hello())
    root.putChild(b"json", Json())
    root.putChild(b"big", Big())
    root.putChild(b"form", Form())
    reactor.listenTCP(int(sys.argv[1]), QuietSite(root), backlog=1024, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
