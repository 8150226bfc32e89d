# Run with: twistd -n cyclone --app=hello_plugin.Application
import cyclone.web


class MainHandler(cyclone.web.RequestHandler):
    def get(self):
        self.write("Hello, world")


class Application(cyclone.web.Application):
    def __init__(self, **settings):
        super().__init__([(r"/", MainHandler)], **settings)
