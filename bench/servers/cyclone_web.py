"""cyclone 2 RequestHandlers in a full ``cyclone.web.Application``.

    python bench/servers/cyclone_web.py 8080

The handler level as most applications use it; the same handlers as
``tornado_app.py`` and ``cyclone13_app.py``.
"""

import os
import sys

from payloads import BIG, HELLO, JSON_DOCUMENT, TEMPLATE_CONTEXT, TEMPLATE_DIRECTORY, TEMPLATE_NAME
from twisted.internet import reactor

from cyclone.web import Application, RequestHandler


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


class TemplateHandler(RequestHandler):
    def get(self):
        self.render(TEMPLATE_NAME, **TEMPLATE_CONTEXT)


def main():
    application = Application(
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
