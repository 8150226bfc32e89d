"""The old cyclone 1.3 (from PyPI) RequestHandlers serving the benchmark routes.

    python bench/servers/cyclone13_app.py 8080

cyclone 1.3 pins Twisted 19.2.1 and pyOpenSSL 19.0.0, which no longer build or
import on current Pythons, so the runner installs it with ``--no-deps`` beside
a current Twisted on the same interpreter as every other server. It needs no shim.
"""

import os
import sys

from payloads import BIG, HELLO, JSON_DOCUMENT, TEMPLATE_CONTEXT, TEMPLATE_DIRECTORY, TEMPLATE_NAME
from twisted.internet import reactor

import cyclone.web


class HelloHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write(HELLO)


class JsonHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write(JSON_DOCUMENT)


class BigHandler(cyclone.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "application/octet-stream")
        self.write(BIG)


class FormHandler(cyclone.web.RequestHandler):
    def post(self):
        self.write(str(len(self.request.arguments)))


class TemplateHandler(cyclone.web.RequestHandler):
    def get(self):
        self.render(TEMPLATE_NAME, **TEMPLATE_CONTEXT)


def main():
    application = cyclone.web.Application(
        [
            (r"/hello", HelloHandler),
            (r"/json", JsonHandler),
            (r"/big", BigHandler),
            (r"/form", FormHandler),
            (r"/template", TemplateHandler),
        ],
        log_function=lambda handler: None,
        template_path=os.path.join(TEMPLATE_DIRECTORY, "tornado"),
    )
    reactor.listenTCP(int(sys.argv[1]), application, backlog=1024, interface="127.0.0.1")
    reactor.run()


if __name__ == "__main__":
    main()
