"""cyclone 2 RequestHandlers behind core's minimal ``cyclone.routing.Router``.

    python bench/servers/cyclone_router.py 8080

The handler level with nothing but cyclone-core installed: the same handlers as
``cyclone_web.py`` and ``tornado_app.py``, without cyclone-web's Application.
"""

import sys

from payloads import BIG, HELLO, JSON_DOCUMENT
from twisted.internet import reactor

from cyclone.handler import RequestHandler
from cyclone.routing import Router


class HelloHandler(RequestHandler):
    def get(self):
        self.write(HELLO)


class JsonHandler(RequestHandler):
    def get(self):
        self.write(JSON_DOCUMENT)


class BigHandler(RequestHandler):
    def get(self):
        self.set_header("Content-Type", "application/octet-stream")
        self.write(BIG)


class FormHandler(RequestHandler):
    def post(self):
        self.write(str(len(self.request.arguments)))


def main():
    application = Router(
        [
            (r"/hello", HelloHandler),
            (r"/json", JsonHandler),
            (r"/big", BigHandler),
            (r"/form", FormHandler),
        ],
        log_function=lambda handler: None,
    )
    reactor.listenTCP(int(sys.argv[1]), application, backlog=1024, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
