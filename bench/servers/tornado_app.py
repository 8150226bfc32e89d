"""Tornado 6 RequestHandlers serving the benchmark routes.

python bench/servers/tornado_app.py 8080
"""

import os
import sys

import tornado.ioloop
import tornado.web
from payloads import BIG, HELLO, JSON_DOCUMENT, TEMPLATE_CONTEXT, TEMPLATE_DIRECTORY, TEMPLATE_NAME


class HelloHandler(tornado.web.RequestHandler):
    def get(self):
        self.write(HELLO)


class JsonHandler(tornado.web.RequestHandler):
    def get(self):
        self.write(JSON_DOCUMENT)


class BigHandler(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "application/octet-stream")
        self.write(BIG)


class FormHandler(tornado.web.RequestHandler):
    def post(self):
        self.write(str(len(self.request.arguments)))


class TemplateHandler(tornado.web.RequestHandler):
    def get(self):
        self.render(TEMPLATE_NAME, **TEMPLATE_CONTEXT)


def main():
    application = tornado.web.Application(
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
    application.listen(int(sys.argv[1]), address="127.0.0.1", backlog=1024)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
